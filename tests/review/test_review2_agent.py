"""Second review of issue 23, the clinic agent as its own process against a real hub: what the clinic's
system typed wrong must reach the hub as a finding, whichever route the document takes."""
from __future__ import annotations

from click.testing import CliRunner
from lxml import etree

from adapters.agent.cli import main
from hub.mpi.resident_id import make_resident_id
from tests.agent.conftest import wait_until, write_config
from tests.support.documents import DOC_NS, document

RESIDENT_ROOT = "2.16.156.10011.1.3"


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def _visit(document_id: str, *, resident_id: str, sex: str) -> bytes:
    """The example OutpatientVisit of CLINIC01 with the patient's resident ID and sex as a HIS typed them."""
    doc = document("OutpatientVisit", document_id=document_id)
    patient = doc.find(f"{{{DOC_NS}}}header/{{{DOC_NS}}}patient")
    patient.find(f"{{{DOC_NS}}}id[@root='{RESIDENT_ROOT}']").set("extension", resident_id)
    patient.find(f"{{{DOC_NS}}}sex").set("code", sex)
    return etree.tostring(doc, encoding="utf-8")


def test_defects_the_agent_normalizes_never_reach_the_hub_as_findings(tmp_path, running_hub, pki_dir):
    """WRONG NUMBER + usability: a full-width resident ID and sex 'F' sent through hie-agent leave no finding
    (the agent normalizes them away before sending, docs/adapters.md says 'the hub reports the findings'),
    so the clinic is never told and its validity per 1,000 is better than the same data sent by hie send."""
    rid = make_resident_id("33010619750315003")
    config = write_config(tmp_path / "clinic", hub_url=running_hub.url, pki=pki_dir)
    (config.parent / "outgoing" / "visit.xml").write_bytes(
        _visit("CLINIC01-OV-R2-FW", resident_id=_full_width(rid), sex="F"))
    runner = CliRunner()
    pushed = runner.invoke(main, ["push-now", "-c", str(config), "--give-up-after", "30"])
    assert pushed.exit_code == 0, pushed.output
    wait_until(lambda: running_hub.query("SELECT count(*) FROM outbox_reply")[0][0] == 1, message="ack queued")
    assert runner.invoke(main, ["replies", "-c", str(config)]).exit_code == 0

    at_hub = {code for (code,) in running_hub.query("SELECT code FROM record_finding")}
    listing = runner.invoke(main, ["findings", "-c", str(config), "--language", "en"]).output
    assert at_hub == {"record.patient.id.normalized", "record.patient.sex.normalized"}, at_hub
    assert "record.patient.id.normalized" in listing and "record.patient.sex.normalized" in listing, listing


def test_findings_stops_at_1000_lines_without_a_word(tmp_path, pki_dir):
    """USABILITY: ``hie-agent findings`` has a hidden default --limit of 1000 (docs/agent.md: '--limit N the
    first N lines'); a clinic with more (seen live: 1,009 after a batch of 400 typed birth years) gets exactly
    1,000 lines and nothing saying that others were left out."""
    from adapters.agent import Agent, load
    from protocol.findings import Finding
    from tests.agent.test_findings import BIRTH, _ack, _sent, lab

    config = write_config(tmp_path / "clinic", hub_url="http://127.0.0.1:9/soap/exchange", pki=pki_dir)
    with Agent(load(config)).outbox() as outbox:
        for serial in range(101):
            message_id = _sent(outbox, f"k{serial}", lab(f"CLINIC01-LAB-R2-{serial}", birth_date="1013-11-13"))
            _ack(outbox, message_id, *(Finding(BIRTH, f"/LabReport/x[{n}]") for n in range(10)))
    listing = CliRunner().invoke(main, ["findings", "-c", str(config), "--language", "en"])
    assert listing.exit_code == 0, listing.output
    lines = listing.output.splitlines()
    assert len(lines) == 1010 or any("1010" in line or "--limit" in line for line in lines), len(lines)


def test_a_drug_of_the_imported_catalogue_is_quarantined_at_the_clinic(tmp_path):
    """DATA LOSS (held at the clinic): after the operator loads the regional drug catalogue at the hub
    (``hie codes import drugs``, docs/code-lists.md), a clinic's agent still checks drugs against the sample
    list of its own installation and quarantines every Prescription of a catalogue drug as record.code.unknown
    (field /Prescription/body/item[1]/drug/@code): the hub never sees them, and nothing tells the operator
    that agents need the list too (the agent has no setting for it)."""
    import shutil

    from schemas import CODES_DIR
    from schemas.terminology.imports import import_code_list
    from tests.adapters.sources.conftest import run
    from tests.support.documents import document_bytes

    hub_codes = tmp_path / "hub-codes"  # the hub's lists, the catalogue imported as the docs say
    shutil.copytree(CODES_DIR, hub_codes)
    imported = import_code_list(system="drugs", raw="药品编码,药品名称,atc\r\nYP9999,测试目录药品,C08CA01\r\n"
                                .encode("gb18030"), codes_dir=hub_codes)
    assert imported.added == 1
    [item] = run("canonical", document_bytes("Prescription").replace(b'code="YP0012"', b'code="YP9999"'))
    assert item.problem is None, item.problem
