"""The clinics' channels: what the agent builds from each clinic's HIS is the region's own document.

A small region's member-months are written into a clinic's source (HL7 v2 files, a CSV export, the
HIS's database table), the real agent collects it in process (no hub: collecting only fills the
outbox) and every document in the outbox is compared with ``Visit.render`` field by field, then as
a whole.
"""
from __future__ import annotations

import sqlite3
import dataclasses
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree

from adapters.agent.config import load
from adapters.agent.runtime import Agent
from certs import init_pki, issue_member
from region import Generated, RegionError, Visit
from region.channels import CHANNELS, ClinicSite
from region.defects import DEFECTS, CorrectedVisit, FlawedVisit, InvalidDocument, VisitCancellation
from region.events import plan

D = "{urn:hie:doc:v1}"
HUB_URL = "http://127.0.0.1:9/soap/exchange"  # collecting never calls the hub
# one member per channel and character set: HL7 UTF-8 / GB 18030, CSV UTF-8 / GB 18030, database
SAMPLED = ("RC01", "RC03", "RC02", "RC08", "RC04")
MONTH = (2025, 2)


@pytest.fixture(scope="module")
def generated(region_dir) -> Generated:
    return Generated.open(region_dir)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("region-pki")
    init_pki(root, hub_name="合成区域卫生信息平台")
    for member in SAMPLED:
        issue_member(root, member=member)
    return root


def month_events(generated: Generated, code: str, month: tuple[int, int] = MONTH, *, every_kind: bool = False
                 ) -> list:
    """The member-month's outpatient visits (the HIS's part), or with ``every_kind`` all its events."""
    year, number = month
    events = plan(generated.region, generated.pools(), generated.region.institution(code), seed=generated.seed,
                  year=year, month=number)
    return events if every_kind else [e for e in events if isinstance(e, Visit)]


def outbox_documents(agent: Agent) -> dict[tuple[str, int], etree._Element]:
    """The documents the agent holds, by document id and version (read back from its outbox)."""
    with agent.outbox() as outbox:
        assert outbox.quarantined() == []
        found = {}
        for item in outbox.backlog(100_000):
            doc = etree.fromstring(item.document)
            key = doc.find(f"{D}header/{D}id").get("extension"), int(doc.findtext(f"{D}header/{D}version"))
            assert key not in found
            found[key] = doc
        return found


def fields(doc: etree._Element) -> dict:
    """What the hub and the cubes read of an OutpatientVisit."""
    header, body = doc.find(f"{D}header"), doc.find(f"{D}body")
    patient = header.find(f"{D}patient")

    def attr(parent, path, name="value"):
        element = parent.find(path)
        return None if element is None else element.get(name)

    address = patient.find(f"{D}address")
    return {
        "type": etree.QName(doc).localname, "id": (attr(header, f"{D}id", "root"), attr(header, f"{D}id", "extension")),
        "version": header.findtext(f"{D}version"), "typeCode": attr(header, f"{D}typeCode", "code"),
        "templateId": attr(header, f"{D}templateId", "root"), "effectiveTime": attr(header, f"{D}effectiveTime"),
        "institution": dict(header.find(f"{D}author/{D}institution").attrib),
        "practitioner": dict(header.find(f"{D}author/{D}practitioner").attrib),
        "patient.ids": [(i.get("root"), i.get("extension")) for i in patient.findall(f"{D}id")],
        "patient.name": patient.findtext(f"{D}name"), "patient.sex": attr(patient, f"{D}sex", "code"),
        "patient.birthDate": attr(patient, f"{D}birthDate"), "patient.telecom": attr(patient, f"{D}telecom"),
        "patient.address": None if address is None else (address.text, address.get("division")),
        "visitTime": attr(body, f"{D}visitTime"), "department": dict(body.find(f"{D}department").attrib),
        "emergency": body.findtext(f"{D}emergency"),
        "diagnosis": [dict(d.attrib) for d in body.findall(f"{D}diagnosis")],
        "charges": [dict(c.attrib) for c in body.findall(f"{D}charges/{D}charge")],
    }


def canonical(doc: etree._Element) -> bytes:
    """The document without layout whitespace and without sex/@codeSystem, a constant ("GB/T 2261.1")
    that the template carries, the adapters' builder does not write and nothing reads."""
    doc = etree.fromstring(etree.tostring(doc))
    for element in doc.iter():
        element.tail = None
        if element.text is not None and not element.text.strip():
            element.text = None
    for sex in doc.iter(f"{D}sex"):
        sex.attrib.pop("codeSystem", None)
    return etree.tostring(doc, method="c14n")


def test_every_community_member_has_one_of_three_channels(generated):
    community = {i.code for i in generated.region.institutions if i.kind in ("community_center", "clinic")}
    assert set(CHANNELS) == community
    kinds = [channel.kind for channel in CHANNELS.values()]
    assert {kind: kinds.count(kind) for kind in kinds} == {"hl7v2": 4, "csv": 4, "database": 4}
    assert CHANNELS["RC03"].kind == "hl7v2" and CHANNELS["RC03"].encoding == "gb18030"
    assert [code for code, c in CHANNELS.items() if c.kind == "csv" and c.encoding == "gb18030"] == ["RC08"]
    for division in {i.division for i in generated.region.institutions if i.code in community}:  # each district, each channel
        assert {c.kind for code, c in CHANNELS.items()
                if generated.region.institution(code).division == division} == {"hl7v2", "csv", "database"}


@pytest.mark.parametrize("code", SAMPLED)
def test_the_agent_builds_the_rendered_visit_from_each_channel(code, generated, pki, tmp_path):
    member = generated.region.institution(code)
    site = ClinicSite(tmp_path / code, member, generated.region)
    events = []
    for month in generated.periods:  # the small region's three months, each written as the loader does
        of_month = month_events(generated, code, month)
        assert site.write(of_month).visits == len(of_month) > 20
        events += of_month
    agent = Agent(load(site.config(HUB_URL, pki)))
    agent.collect()
    built = outbox_documents(agent)
    assert sorted(built) == sorted((visit.record_id, 1) for visit in events)
    for visit in events:
        expected = visit.render(generated.region)
        assert fields(built[visit.record_id, 1]) == fields(expected), visit.record_id
        assert canonical(built[visit.record_id, 1]) == canonical(expected), visit.record_id
    typed = [visit.patient for visit in events]  # the months hold the variants the comparison must cover
    assert any(t.resident_id for t in typed) and any(not t.resident_id for t in typed)
    assert any(not t.address for t in typed) and any(not t.phone for t in typed) and any(not t.sex for t in typed)


def test_gb18030_files_name_their_character_set(generated, tmp_path):
    hl7 = ClinicSite(tmp_path / "RC03", generated.region.institution("RC03"), generated.region)
    hl7.write(month_events(generated, "RC03"))
    data = b"".join(p.read_bytes() for p in sorted((tmp_path / "RC03" / "hl7-in").glob("*.hl7")))
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    messages = [m for m in data.decode("gb18030").split("\r\n") if m]
    assert all(m.split("\r")[0].endswith("|CHN|GB 18030-2000") for m in messages)
    exported = ClinicSite(tmp_path / "RC08", generated.region.institution("RC08"), generated.region)
    exported.write(month_events(generated, "RC08"))
    data = next((tmp_path / "RC08" / "csv-in").glob("*.csv")).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert data.decode("gb18030").startswith("就诊流水号,")


def _source_state(site: ClinicSite) -> dict:
    files = {p.relative_to(site.root).as_posix(): p.read_bytes() for p in site.root.rglob("*")
             if p.is_file() and "state" not in p.parts and p.suffix in (".hl7", ".csv", ".xml")}
    if site.database.exists():
        with sqlite3.connect(site.database) as db:
            files["rows"] = db.execute("SELECT * FROM OUTP_VISIT ORDER BY ID").fetchall()
    return files


@pytest.mark.parametrize("code", ("RC01", "RC02", "RC04"))
def test_writing_a_month_again_writes_nothing_new(code, generated, pki, tmp_path):
    site = ClinicSite(tmp_path / code, generated.region.institution(code), generated.region)
    events = month_events(generated, code)
    assert site.write(events).changed > 0
    written = _source_state(site)
    assert site.write(events).changed == 0 and _source_state(site) == written  # a re-run before the agent ran
    agent = Agent(load(site.config(HUB_URL, pki)))
    assert sum(r.added for r in agent.collect()) == len(events)
    collected = _source_state(site)
    assert all("/sent/" in name for name in collected if name != "rows")  # files moved into the done folder
    assert site.write(events).changed == 0 and _source_state(site) == collected  # a re-run after it ran
    assert sum(r.added for r in agent.collect()) == 0
    assert len(outbox_documents(agent)) == len(events)
    # the next month is new: written, collected, nothing of the first twice
    following = month_events(generated, code, (2025, 3))
    assert site.write(following).changed > 0
    assert sum(r.added for r in agent.collect()) == len(following)
    assert len(outbox_documents(agent)) == len(events) + len(following)


@dataclass(frozen=True)
class CardVisit(Visit):
    """A visit whose document names the patient's health card too: no clinic's HIS has a place for it."""

    def render(self, region) -> etree._Element:
        doc = super().render(region)
        patient = doc.find(f"{D}header/{D}patient")
        patient.insert(0, etree.Element(f"{D}id", root="2.16.156.10011.1.19", extension="HC0001"))
        return doc


def _as(cls, visit: Visit, **extra):
    """``visit`` as another kind of visit (region/defects.py's classes), with that kind's own fields."""
    return cls(**{f.name: getattr(visit, f.name) for f in dataclass_fields(Visit)}, **extra)


@pytest.mark.parametrize("code", ("RC03", "RC02", "RC04"))
def test_a_late_a_corrected_and_a_flawed_visit_are_the_documents_they_render(code, generated, pki, tmp_path):
    site = ClinicSite(tmp_path / code, generated.region.institution(code), generated.region)
    agent = Agent(load(site.config(HUB_URL, pki)))
    _, february, march = (month_events(generated, code, month) for month in generated.periods)
    site.write(february[1:])
    agent.collect()
    late = february[0]  # held back by the clinic, sent with March
    corrected = _as(CorrectedVisit, dataclasses.replace(february[1], charges_fen=(("drugs", 1234),)),
                    replaces=february[1], corrected_at=february[1].time + timedelta(days=2))
    flawed = _as(FlawedVisit, march[0], birth_date=march[0].time.date() + timedelta(days=3))
    batch = [flawed, *march[1:], late, corrected]
    assert site.write(batch).changed > 0
    assert sum(r.added for r in agent.collect()) == len(march) + 2
    built = outbox_documents(agent)
    assert sorted(built) == sorted([*((v.record_id, 1) for v in [*february, *march]), (corrected.record_id, 2)])
    for visit in (late, corrected, flawed):
        assert canonical(built[visit.record_id, visit.version if visit is corrected else 1]) == canonical(
            visit.render(generated.region))
    assert site.write(batch).changed == 0  # March again: nothing new
    assert sum(r.added for r in agent.collect()) == 0


def test_other_kinds_of_events_go_as_canonical_files_of_the_public_health_system(generated, pki, tmp_path):
    site = ClinicSite(tmp_path / "RC04", generated.region.institution("RC04"), generated.region)
    agent = Agent(load(site.config(HUB_URL, pki)))
    assert [r.error for r in agent.collect()] == ["", ""]  # the HIS's table is there before its first visit
    visits = month_events(generated, "RC04")
    cancellation = VisitCancellation("RC04-SYN-CX-202502-00001", "RC04", visits[0].person_id, visits[0],
                                     visits[0].time + timedelta(days=1))
    typed_id = [visit for visit in visits if visit.patient.resident_id]  # a check character to break
    broken = [InvalidDocument(f"RC04-SYN-IV-202502-{n:05d}", "RC04", typed_id[n].person_id, typed_id[n], defect)
              for n, defect in enumerate(DEFECTS, start=1)]
    written = site.write([*visits, cancellation, *broken])
    assert (written.visits, written.documents) == (len(visits), 1 + len(DEFECTS))
    # one DocumentSet file for the month's few documents, named after its first one
    assert [p.name for p in (site.root / "canonical-in").glob("*.xml")] == [
        f"{cancellation.record_id}+{1 + len(DEFECTS)}.xml"]
    agent.collect()
    with agent.outbox() as outbox:
        quarantined = outbox.quarantined()
        assert {item.origin for item in quarantined} == {f"{cancellation.record_id}+{1 + len(DEFECTS)}.xml"}
        refused = {item.item_key.split(":")[2]: item.code for item in quarantined}
        built = {etree.fromstring(item.document).find(f"{D}header/{D}id").get("extension"): item.document
                 for item in outbox.backlog(100_000)}
    assert canonical(etree.fromstring(built[cancellation.record_id])) == canonical(
        cancellation.render(generated.region))
    # the agent validates as the hub does: what the hub would refuse for its content is refused here,
    # with the hub's code; what only the records store refuses goes to the hub
    caught = {event.record_id: event.code for event in broken if event.record_id not in built}
    assert refused == caught
    assert sorted(DEFECTS[event.defect][0] for event in broken if event.record_id in built) == [
        "Cancellation"]  # a mistyped resident ID is no longer an invalid document (MistypedIdVisit: stored)
    assert site.write([cancellation, *broken]).changed == 0


def test_a_site_takes_community_members_and_their_own_events_only(generated, tmp_path):
    with pytest.raises(RegionError) as refused:
        ClinicSite(tmp_path / "RH01", generated.region.institution("RH01"), generated.region)
    assert refused.value.code == "region.channel.unknown"
    site = ClinicSite(tmp_path / "RC01", generated.region.institution("RC01"), generated.region)
    with pytest.raises(RegionError) as refused:
        site.write(month_events(generated, "RC02"))
    assert refused.value.code == "region.channel.member"
    visit = month_events(generated, "RC01")[0]
    with pytest.raises(RegionError) as refused:  # rather than sent without the card
        site.write([CardVisit(**{f.name: getattr(visit, f.name) for f in dataclass_fields(Visit)})])
    assert refused.value.code == "region.channel.field" and refused.value.fields["field"] == "patient/id"
