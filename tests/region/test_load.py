"""The small region end to end: ``hie region load`` through a real hub (signed, encrypted SubmitBatch as
each member), the processor, the ETL into the embedded mart; then the cubes are checked against the
truth the generator wrote, and a load stopped half-way resumes without storing anything twice."""
from __future__ import annotations

import csv
import sqlite3
from datetime import datetime, timezone

import pytest
import requests

from hub.auth import issue
from hub.cli.local_hub import LocalHub
from hub.cli.region_load import load_region
from hub.settings import Settings
from hub.store.db import make_engine, session_factory, transaction
from region import Generated
from region.ledger import Ledger
from region.load import Target, outcomes, prepare, send
from tests.support.migrated import copy_migrated


@pytest.fixture(scope="module")
def loaded(request, region_dir, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("loaded") / "hub"
    data_dir.mkdir()
    copy_migrated(request, f"sqlite:///{data_dir / 'hub.db'}")  # prepare and the hub find it migrated
    prepare(Generated.open(region_dir), data_dir)  # the PKI the hub starts with (load_region checks it again)
    with LocalHub(data_dir, etl_interval=86400) as hub:
        load_region(region_dir, data_dir, hub_url=hub.base)
        engine = make_engine(Settings.load(data_dir).db_url)
        with transaction(session_factory(engine)) as session:
            token = issue(session, member="RB01", label="region test", now=datetime.now(timezone.utc))
        engine.dispose()
        yield data_dir, hub, token


def _messages(data_dir) -> int:
    with sqlite3.connect(data_dir / "hub.db") as connection:
        return connection.execute("SELECT count(*) FROM inbox_message").fetchone()[0]


def _practitioners(data_dir) -> list[tuple]:
    with sqlite3.connect(data_dir / "hub.db") as connection:
        return connection.execute("SELECT institution_code, code, name FROM registry_practitioner ORDER BY 1, 2").fetchall()


def test_the_visits_cube_says_what_the_truth_says(loaded, region_dir):
    data_dir, hub, token = loaded
    answer = requests.post(f"{hub.base}/api/cubes/visits/query", timeout=60, headers={"Authorization": f"Bearer {token}"},
                           json={"measures": ["visits", "total_fen", "drug_fen"], "indicators": ["charge_per_visit"],
                                 "group_by": ["institution.institution", "date.month"],
                                 "period": {"from": "2025-01-01", "to": "2025-12-31"}}).json()
    cells = {(c["institution.institution"], str(c["date.month"])): c for c in answer["cells"]}
    with (region_dir / "truth" / "indicators.csv").open(encoding="utf-8") as source:
        truth = list(csv.DictReader(source))
    assert len(truth) == 14 * 3 and len(cells) == len(truth)
    for row in truth:
        cell = cells[(row["institution"], row["month"])]
        assert not cell.get("suppressed")
        assert (cell["visits"], cell["total_fen"], cell["drug_fen"]) == (
            int(row["visits"]), int(row["total_fen"]), int(row["drug_fen"])), row
        assert f"{cell['charge_per_visit']:.2f}" == row["charge_per_visit"]


def test_a_load_run_again_sends_nothing_and_one_stopped_half_way_resends_without_duplicates(loaded, region_dir):
    data_dir, hub, _ = loaded
    ledger = Ledger(data_dir / "region-load.sqlite")
    before = _messages(data_dir)
    generated = Generated.open(region_dir)
    again = send(generated, region_dir, ledger=ledger, target=Target(hub.base, data_dir / "pki", data_dir / "clinics"), workers=1)
    assert (again.documents, again.member_months) == (0, 0) and again.skipped == 14 * 3 + 3
    # a loader killed after the hub stored two member-months but before the ledger marked them
    with sqlite3.connect(ledger.path) as connection:
        connection.execute("DELETE FROM sent WHERE (member, month) IN (('RH01', '2025-03'), ('RC05', '2025-02'))")
    resumed = send(generated, region_dir, ledger=ledger, target=Target(hub.base, data_dir / "pki", data_dir / "clinics"), workers=2)
    assert resumed.member_months == 2 and resumed.documents > 0 and not resumed.refused
    assert _messages(data_dir) == before
    assert len(ledger.done()) == 14 * 3 + 3


def test_every_invalid_message_is_rejected_with_the_code_the_truth_expects_and_no_other_is(loaded, region_dir):
    data_dir, _, _ = loaded
    with (region_dir / "truth" / "messages.csv").open(encoding="utf-8") as source:
        expected = {(row["institution"], row["record_id"]): row["expected"].split(":", 1)[1]
                    for row in csv.DictReader(source) if row["expected"].startswith("rejected:")}
    counts, rejected = outcomes(data_dir)
    assert expected and rejected == expected
    assert counts.get("accepted", 0) == 0 and counts["processed"] > 5000


def test_live_members_send_what_is_due_by_their_clock_once(loaded, region_dir):
    from region.live import CHINA, LiveTraffic

    data_dir, hub, _ = loaded
    now = [datetime(2025, 4, 2, 10, 30, tzinfo=CHINA)]  # the month after the region's last
    live = LiveTraffic(Generated.open(region_dir), Target(hub.base, data_dir / "pki", data_dir / "clinics"), clock=lambda: now[0])
    hospital = live.generated.region.institution("RH01")
    before = _messages(data_dir)
    first = live.round(hospital)
    due = live.due(hospital, datetime(2025, 4, 30, tzinfo=CHINA))  # what is left for the rest of the month
    assert first > 0 and live.round(hospital) == 0  # nothing twice
    assert all(e.time > now[0] for e in due) and len(due) > 10 * first
    now[0] = datetime(2025, 4, 3, 10, 30, tzinfo=CHINA)
    second = live.round(hospital)
    assert second > 0 and _messages(data_dir) == before + first + second


def test_the_regions_residents_are_the_marts_population(loaded, region_dir):
    from etl.mart import reach_owner

    data_dir, _, _ = loaded
    with (region_dir / "population.csv").open(encoding="utf-8") as source:
        expected = {(row["division_code"], int(row["year"])): int(row["population"]) for row in csv.DictReader(source)}
    mart = reach_owner(Settings.load(data_dir))
    try:
        frame = mart.query_df("SELECT division_code, year, population FROM ref_population")
    finally:
        mart.close()
    found = {(r.division_code, int(r.year)): int(r.population) for r in frame.itertuples()}
    assert expected and all(found[key] == value for key, value in expected.items())
    assert sum(expected.values()) == 3000


def test_another_region_into_a_loaded_data_directory_is_one_line_and_writes_nothing(loaded, other_region_dir):
    from click.testing import CliRunner

    from hub.cli.main import main

    data_dir, _, _ = loaded
    other = other_region_dir  # seed 12
    registry = _practitioners(data_dir), _messages(data_dir)  # the other seed names other practitioners
    result = CliRunner().invoke(main, ["region", "load", str(other), "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and result.output.startswith("error: region.load.other: ")
    assert len(result.output.strip().splitlines()) == 1
    assert (_practitioners(data_dir), _messages(data_dir)) == registry
