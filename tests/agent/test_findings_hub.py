"""End to end with a real hub: a LabReport whose patient was born in 1013 (a typed 1013 for 2013) is
kept by the hub with the finding ``record.patient.birth_date.implausible``; ``hie-agent`` shows it,
and the corrected version 2 clears it once the hub has processed it without findings. What the hub
normalizes (a full-width resident ID, sex ``F``) reaches it as typed, so it is a finding too."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from lxml import etree

from adapters.agent.cli import main
from hub.mpi.resident_id import make_resident_id
from tests.support.documents import DOC_NS, document

from .conftest import wait_until, write_config
from .test_findings import BIRTH, lab

pytestmark = pytest.mark.slow  # a hub process, two pushes and the processor's round trips

FIELD = "/LabReport/header/patient/birthDate/@value"
RESIDENT_ROOT = "2.16.156.10011.1.3"


def _push_and_fetch(runner: CliRunner, config, hub, acks: int) -> None:
    pushed = runner.invoke(main, ["push-now", "-c", str(config), "--give-up-after", "30"])
    assert pushed.exit_code == 0, pushed.output
    wait_until(lambda: hub.query("SELECT count(*) FROM outbox_reply")[0][0] == acks, message="acks queued")
    fetched = runner.invoke(main, ["replies", "-c", str(config)])
    assert fetched.exit_code == 0 and "acknowledged" in fetched.output, fetched.output


def _outbox_line(runner: CliRunner, config) -> str:
    status = runner.invoke(main, ["status", "-c", str(config)])
    (line,) = [line for line in status.output.splitlines() if line.startswith("outbox ")]
    return line.split(None, 1)[1]


def test_a_finding_reaches_the_clinic_and_the_corrected_version_clears_it(tmp_path, running_hub, pki_dir):
    config = write_config(tmp_path / "clinic", hub_url=running_hub.url, pki=pki_dir)
    outgoing = config.parent / "outgoing"
    (outgoing / "lab-born-wrong.xml").write_bytes(lab("CLINIC01-LAB-DQ-1", birth_date="1013-11-13"))
    (outgoing / "lab-fine.xml").write_bytes(lab("CLINIC01-LAB-DQ-2"))
    runner = CliRunner()
    _push_and_fetch(runner, config, running_hub, acks=2)

    listing = runner.invoke(main, ["findings", "-c", str(config), "--language", "en"])
    (line,) = listing.output.splitlines()
    assert line.split("\t")[1:] == ["xml", "lab-born-wrong.xml", "LabReport", "CLINIC01-LAB-DQ-1", "1", BIRTH, FIELD,
                                    "the patient's birth date is in the future or more than 120 years before the "
                                    "document"]
    assert "1013" not in listing.output  # a path, never the value
    assert _outbox_line(runner, config) == ("queued 0, sent 0, accepted 1, accepted with findings 1, rejected 0, "
                                            "quarantined 0, waiting 0")
    # the reply folder still holds each acknowledgement as the hub sent it, findings included
    written = [path.read_bytes() for path in (config.parent / "replies").glob("*.xml")]
    assert len(written) == 2
    assert sum(f"<hie:Finding><hie:Code>{BIRTH}</hie:Code><hie:Field>{FIELD}</hie:Field></hie:Finding>".encode()
               in content for content in written) == 1

    (outgoing / "lab-born-wrong-v2.xml").write_bytes(lab("CLINIC01-LAB-DQ-1", version=2, birth_date="2013-11-13"))
    _push_and_fetch(runner, config, running_hub, acks=3)
    assert runner.invoke(main, ["findings", "-c", str(config)]).output == ""
    assert _outbox_line(runner, config) == ("queued 0, sent 0, accepted 3, accepted with findings 0, rejected 0, "
                                            "quarantined 0, waiting 0")
    assert running_hub.query("SELECT count(*) FROM record_finding")[0][0] == 0  # the hub replaced them too


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def _visit(document_id: str, *, resident_id: str, sex: str) -> bytes:
    """The example OutpatientVisit of CLINIC01 with the patient's resident ID and sex as a HIS typed them."""
    doc = document("OutpatientVisit", document_id=document_id)
    patient = doc.find(f"{{{DOC_NS}}}header/{{{DOC_NS}}}patient")
    patient.find(f"{{{DOC_NS}}}id[@root='{RESIDENT_ROOT}']").set("extension", resident_id)
    patient.find(f"{{{DOC_NS}}}sex").set("code", sex)
    return etree.tostring(doc, encoding="utf-8")


def test_what_the_hub_normalizes_reaches_it_as_typed_and_comes_back_as_findings(tmp_path, running_hub, pki_dir):
    """A full-width resident ID and sex ``F`` sent through hie-agent are findings at the hub, as they are
    when the same document is sent by ``hie send``: the agent no longer normalizes them away before sending,
    which left the clinic untold and its validity per 1,000 better than the same data sent directly."""
    rid = make_resident_id("33010619750315003")
    config = write_config(tmp_path / "clinic", hub_url=running_hub.url, pki=pki_dir)
    (config.parent / "outgoing" / "visit.xml").write_bytes(
        _visit("CLINIC01-OV-FW-1", resident_id=_full_width(rid), sex="F"))
    runner = CliRunner()
    _push_and_fetch(runner, config, running_hub, acks=1)

    at_hub = {code for (code,) in running_hub.query("SELECT code FROM record_finding")}
    listing = runner.invoke(main, ["findings", "-c", str(config), "--language", "en"]).output
    assert at_hub == {"record.patient.id.normalized", "record.patient.sex.normalized"}, at_hub
    assert "record.patient.id.normalized" in listing and "record.patient.sex.normalized" in listing, listing
