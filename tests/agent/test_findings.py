"""The hub's findings on documents it kept reach the clinic: parsed from the acknowledgement, kept with
the outbox item (an older outbox gains the table in place), counted by ``status``, listed by
``hie-agent findings``, and cleared by a corrected version's clean acknowledgement.

The acknowledgements here are the hub's own (``hub.exchange.replies.acknowledgement``), not hand-written.
"""
from __future__ import annotations

import sqlite3

from click.testing import CliRunner
from lxml import etree

from adapters.agent import Agent, load
from adapters.agent.cli import main
from adapters.agent.findings import ReportedFinding
from adapters.agent.outbox import ItemState, NewItem, Outbox
from adapters.agent.replies import Acknowledgement
from hub.exchange.replies import acknowledgement
from protocol.findings import Finding
from tests.support.documents import DOC_NS, document

from .conftest import write_config

BIRTH = "record.patient.birth_date.implausible"
BIRTH_FIELD = "/LabReport/header/patient/birthDate/@value"
MESSAGE_ZH = "患者出生日期晚于文档时间或早于文档时间120年以上"


def lab(document_id: str, *, version: int = 1, birth_date: str | None = None) -> bytes:
    """The integrator example LabReport as CLINIC01 sends it; ``birth_date`` replaces the patient's."""
    doc = document("LabReport", document_id=document_id, version=version)
    if birth_date:
        doc.find(f"{{{DOC_NS}}}header/{{{DOC_NS}}}patient/{{{DOC_NS}}}birthDate").set("value", birth_date)
    return etree.tostring(doc, encoding="utf-8")


def cancellation(target_id: str) -> bytes:
    doc = document("Cancellation", document_id=f"CXL-{target_id}")
    doc.find(f"{{{DOC_NS}}}body/{{{DOC_NS}}}target").set("extension", target_id)
    return etree.tostring(doc, encoding="utf-8")


def _sent(outbox: Outbox, key: str, data: bytes, *, origin: str = "") -> str:
    """Store ``data`` as an item the hub has accepted; its MessageID."""
    with outbox.transaction() as db:
        outbox.add(db, [NewItem(source="xml", key=key, document=data, document_type=etree.fromstring(data).tag
                                .rsplit("}", 1)[-1], origin=origin)])
    (item,) = [i for i in outbox.backlog(100) if i.item_key == key]
    outbox.record_receipts([(item.id, "0" * 64, "2026-12-05T00:00:00Z")], [])
    return item.message_id


def _ack(outbox: Outbox, message_id: str, *findings: Finding) -> None:
    """Settle ``message_id`` as the reply router does, from the hub's own acknowledgement bytes."""
    ack = Acknowledgement.parse(acknowledgement(message_id=message_id, status="processed", findings=findings))
    with outbox.transaction() as db:
        assert outbox.settle(db, message_id=ack.message_id, processed=True, findings=ack.findings)


def test_acknowledgement_parse_reads_the_findings_and_not_their_codes_as_the_ack_code():
    content = acknowledgement(message_id="urn:uuid:1", status="processed",
                              findings=[Finding(BIRTH, BIRTH_FIELD), Finding(BIRTH, "/x")])
    ack = Acknowledgement.parse(content)
    assert (ack.status, ack.code, ack.field) == ("processed", "", "")
    assert [(f.code, f.field) for f in ack.findings] == [(BIRTH, BIRTH_FIELD), (BIRTH, "/x")]


# The outbox_item table as the agent created it before findings (and before `origin`).
_OLD_SCHEMA = """
CREATE TABLE outbox_item (
    id INTEGER PRIMARY KEY, source TEXT NOT NULL, item_key TEXT NOT NULL, message_id TEXT NOT NULL UNIQUE,
    document_type TEXT NOT NULL DEFAULT '', document BLOB, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    code TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', field TEXT NOT NULL DEFAULT '',
    quarantined_by TEXT NOT NULL DEFAULT '', document_sha256 TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    UNIQUE (source, item_key));
CREATE TABLE collected_file (source TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL,
    collected_at TEXT NOT NULL, PRIMARY KEY (source, name, sha256));
CREATE TABLE watermark (source TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE agent_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def test_an_old_outbox_gains_findings_in_place_and_keeps_its_items(tmp_path):
    path = tmp_path / "outbox.db"
    with sqlite3.connect(path) as db:
        db.executescript(_OLD_SCHEMA)
        db.execute("INSERT INTO outbox_item (source, item_key, message_id, document_type, document, state,"
                   " created_at, updated_at) VALUES ('db', 'row:42@sha256:00aa', 'urn:uuid:old', 'LabReport', ?,"
                   " 'accepted', 't', 't')", (lab("CLINIC01-LAB-OLD", birth_date="1013-11-13"),))
    db.close()
    with Outbox(path, member="CLINIC01") as outbox:  # the ack of an item sent by the old agent arrives
        _ack(outbox, "urn:uuid:old", Finding(BIRTH, BIRTH_FIELD))
        (line,) = outbox.findings()
        assert (line.source, line.origin, line.document_type, line.document_id, line.version, line.code,
                line.field) == ("db", "row:42", "LabReport", "CLINIC01-LAB-OLD", 1, BIRTH, BIRTH_FIELD)
        assert outbox.counts()[ItemState.PROCESSED.value] == 1 and outbox.with_findings() == 1
    with Outbox(path, member="CLINIC01") as outbox:  # opened again: nothing added twice, nothing lost
        assert len(outbox.findings()) == 1


def test_a_corrected_version_clears_the_older_versions_findings(tmp_path):
    with Outbox(tmp_path / "outbox.db", member="CLINIC01") as outbox:
        first = _sent(outbox, "v1", lab("CLINIC01-LAB-7", birth_date="1013-11-13"), origin="lab-7.xml")
        other = _sent(outbox, "other", lab("CLINIC01-LAB-8", birth_date="1013-11-13"))
        _ack(outbox, first, Finding(BIRTH, BIRTH_FIELD))
        _ack(outbox, first, Finding(BIRTH, BIRTH_FIELD))  # fetched again after a crash: not doubled
        _ack(outbox, other, Finding(BIRTH, BIRTH_FIELD))
        assert [line.document_id for line in outbox.findings()] == ["CLINIC01-LAB-7", "CLINIC01-LAB-8"]
        same = _sent(outbox, "v1-again", lab("CLINIC01-LAB-7", birth_date="2013-11-13"))
        _ack(outbox, same)  # an equal version is stale at the hub: its clean ack says nothing about v1
        assert len(outbox.findings()) == 2
        second = _sent(outbox, "v2", lab("CLINIC01-LAB-7", version=2, birth_date="2013-11-13"))
        _ack(outbox, second)
        assert [line.document_id for line in outbox.findings()] == ["CLINIC01-LAB-8"]
        assert outbox.with_findings() == 1
        _ack(outbox, _sent(outbox, "cxl", cancellation("CLINIC01-LAB-8")))  # gone with the cancelled document
        assert outbox.findings() == [] and outbox.with_findings() == 0


def test_a_code_newer_than_this_agent_is_kept_and_listed_with_a_general_message(tmp_path):
    with Outbox(tmp_path / "outbox.db", member="CLINIC01") as outbox:
        message_id = _sent(outbox, "v1", lab("CLINIC01-LAB-9"))
        content = acknowledgement(message_id=message_id, status="processed",
                                  findings=[ReportedFinding("record.added.by.a.newer.hub", "/LabReport/body")])
        ack = Acknowledgement.parse(content)
        with outbox.transaction() as db:
            outbox.settle(db, message_id=message_id, processed=True, findings=ack.findings)
        (line,) = outbox.findings()
    assert (line.code, line.field) == ("record.added.by.a.newer.hub", "/LabReport/body")
    assert "not describe" in line.message("en") and "尚无" in line.message("zh")


def test_findings_command_lists_one_tab_separated_line_per_finding_and_status_counts_them(tmp_path, pki_dir):
    config = write_config(tmp_path / "clinic", hub_url="http://127.0.0.1:9/soap/exchange", pki=pki_dir)
    agent = Agent(load(config))
    with agent.outbox() as outbox:
        bad = _sent(outbox, "bad", lab("CLINIC01-LAB-1", birth_date="1013-11-13"), origin="lab-1.xml")
        _ack(outbox, bad, Finding(BIRTH, BIRTH_FIELD), Finding(BIRTH, "/LabReport/header/patient"))
        _ack(outbox, _sent(outbox, "good", lab("CLINIC01-LAB-2")))
        _sent(outbox, "waiting", lab("CLINIC01-LAB-3"))  # accepted, no acknowledgement yet
        item_id = outbox.findings()[0].item_id
    runner = CliRunner()
    listing = runner.invoke(main, ["findings", "-c", str(config), "--language", "en"])
    assert listing.exit_code == 0, listing.output
    assert [line.split("\t") for line in listing.output.splitlines()] == [
        [str(item_id), "xml", "lab-1.xml", "LabReport", "CLINIC01-LAB-1", "1", BIRTH, BIRTH_FIELD,
         "the patient's birth date is in the future or more than 120 years before the document"],
        [str(item_id), "xml", "lab-1.xml", "LabReport", "CLINIC01-LAB-1", "1", BIRTH, "/LabReport/header/patient",
         "the patient's birth date is in the future or more than 120 years before the document"]]
    chinese = runner.invoke(main, ["findings", "-c", str(config), "--limit", "1"],
                            env={"LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_CN.UTF-8"})
    assert [line.split("\t")[-1] for line in chinese.stdout.splitlines()] == [MESSAGE_ZH]
    assert runner.invoke(main, ["findings", "-c", str(config), "--code", "record.other"]).output == ""
    status = runner.invoke(main, ["status", "-c", str(config)])
    assert status.exit_code == 0, status.output  # a finding is for the clinic to correct, not an agent fault
    assert ("outbox           queued 0, sent 0, accepted 2, accepted with findings 1, rejected 0, quarantined 0, "
            "waiting 0") in status.output
    assert "findings         1 document(s) accepted with findings" in status.output



def test_findings_command_says_how_many_findings_its_limit_left_out_and_how_to_see_them(tmp_path, pki_dir):
    """Live, 1,009 findings gave 1,000 lines and nothing more: the default --limit 1000 now ends with one line
    on stderr (stdout stays one finding a line) saying how many were left out and the command that shows them."""
    config = write_config(tmp_path / "clinic", hub_url="http://127.0.0.1:9/soap/exchange", pki=pki_dir)
    with Agent(load(config)).outbox() as outbox:
        for serial in range(101):
            message_id = _sent(outbox, f"k{serial}", lab(f"CLINIC01-LAB-L{serial}", birth_date="1013-11-13"))
            _ack(outbox, message_id, *(Finding(BIRTH, f"/LabReport/x[{n}]") for n in range(10)))
    runner = CliRunner()
    listing = runner.invoke(main, ["findings", "-c", str(config), "--language", "en"])
    assert listing.exit_code == 0, listing.output
    assert len(listing.stdout.splitlines()) == 1000
    assert listing.stderr.splitlines() == [
        "... 10 more finding(s) not shown (1010 in all): hie-agent findings --limit 1010"]
    every = runner.invoke(main, ["findings", "-c", str(config), "--limit", "1010"])
    assert len(every.stdout.splitlines()) == 1010 and every.stderr == ""
    one_code = runner.invoke(main, ["findings", "-c", str(config), "--limit", "3", "--code", BIRTH])
    assert one_code.stderr.splitlines() == [
        f"... 1007 more finding(s) not shown (1010 in all): hie-agent findings --limit 1010 --code {BIRTH}"]
    assert runner.invoke(main, ["findings", "-c", str(config), "--code", "record.other"]).output == ""
