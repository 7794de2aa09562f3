"""One clinic of each channel sends a month of the small region through a live hub (``hie serve``).

The hub stores exactly the visits' document ids, at version 1, and a second send of the same month
(the loader re-running it) sends nothing.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from certs import init_pki, issue_member
from region import Generated
from region.channels import CHANNELS, ClinicSite, send
from region.events import plan
from tests.agent.conftest import HubProcess, free_port, premigrated, wait_until

pytestmark = pytest.mark.slow  # a hub server process (about 7 s)

SITES = ("RC03", "RC08", "RC04")  # HL7 v2 in GB 18030, a GB 18030 CSV export, the HIS database


@pytest.fixture
def pki(tmp_path) -> Path:
    root = tmp_path / "pki"
    init_pki(root, hub_name="合成区域卫生信息平台")
    for member in SITES:
        issue_member(root, member=member)
    return root


@pytest.fixture
def hub(tmp_path, pki, migrated_sqlite):
    premigrated(tmp_path / "hub", migrated_sqlite)
    process = HubProcess(tmp_path / "hub", pki, free_port())
    yield process.start()
    process.kill()


def test_each_channel_sends_a_month_and_the_hub_stores_exactly_its_visits(region_dir, hub, pki, tmp_path):
    generated = Generated.open(region_dir)
    pools = generated.pools()
    assert sorted({CHANNELS[code].kind for code in SITES}) == ["csv", "database", "hl7v2"]
    expected, kinds = {}, {}
    for code in SITES:
        member = generated.region.institution(code)
        visits = plan(generated.region, pools, member, seed=generated.seed, year=2025, month=1)
        site = ClinicSite(tmp_path / "sites" / code, member, generated.region)
        site.write(visits)
        sent: list[int] = []
        result = send(site, hub_url=hub.url, pki_dir=pki, progress=sent.append)
        assert (result.member, result.collected, result.sent, result.quarantined, result.halted, result.errors) == (
            code, len(visits), len(visits), {}, "", ())
        assert sum(sent) == len(visits) and result.seconds > 0
        expected[code] = {visit.record_id for visit in visits}  # the visits, and every other kind of the month
        kinds[code] = {visit.kind for visit in visits}
        site.write(visits)  # the loader runs the month again after a crash: nothing new is sent
        again = send(site, hub_url=hub.url, pki_dir=pki)
        assert (again.collected, again.sent, again.quarantined) == (0, 0, {})

    def stored(code: str) -> list[tuple]:
        return hub.query("SELECT document_id, version, document_type, status FROM record_document"
                         " WHERE institution = ?", code)

    for code, ids in expected.items():
        wait_until(lambda: len(stored(code)) >= len(ids), message=f"{code}'s documents processed")
        rows = stored(code)
        assert sorted(row[0] for row in rows) == sorted(ids)
        assert {(row[1], row[3]) for row in rows} == {(1, "current")} and {row[2] for row in rows} == kinds[code]
        assert {"OutpatientVisit", "Prescription", "Dispense"} <= kinds[code]
    assert hub.query("SELECT count(*) FROM inbox_message WHERE status <> 'processed'") == [(0,)]
