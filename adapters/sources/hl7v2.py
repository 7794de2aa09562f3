"""``hl7v2``: files or streams of HL7 v2.x messages → canonical documents.

Which message gives which document (see docs/adapters.md for the field tables):

- ADT^A01 / A04 / A08 / A28 / A31 → PersonRegistration (the demographics in PID, NK1).
- ADT^A03 → OutpatientVisit (PV1-2 = O or E) or InpatientStay (PV1-2 = I). An A01 is *not* an
  InpatientStay: final diagnoses and charges, both required, exist only at discharge; an
  admission notice would count as a stay with no cost. Sites whose HIS sends complete outpatient
  visits in A04 add "A04" to ``visit_events``.
- ORU^R01 → one LabReport per OBR (its OBX results).
- RDE^O11 → one Prescription per placer group (ORC-4), RDS^O13 → one Dispense per placer group.

Keys are ``<MSH-10>#<document type>[.<n>]``; document ids come from the clinical identifiers
(visit number, filler order, placer group) so a later message about the same visit or order
replaces the earlier document, its version being the message time (MSH-7).
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from itertools import groupby
from typing import Callable, Iterator

from .base import Quarantine, SourceContext, SourceItem, source
from .documents import DOCUMENT_ID_ROOT, Record, finish
from .hl7v2_clinical import charges, diagnoses, drug_line, instructions, missing, procedures, result
from .hl7v2_message import DEFAULT_MARITAL, Hl7Message, Hl7Options, patient_of, person_name, phone_of
from .hl7v2_text import RawMessage, codec_for, decode_message, msh_field, split_messages
from .values import SourceProblem, parse_datetime, version_of

REGISTRATION_EVENTS = frozenset({"A01", "A04", "A08", "A28", "A31"})
Pending = tuple[str, Callable[[], Record]]  # (key suffix, deferred mapping)


@source("hl7v2")
def hl7v2(payload: bytes, context: SourceContext) -> Iterator[SourceItem]:
    options = Hl7Options.from_mapping(context.options)
    seen: dict[str, str] = {}  # control id → digest, to keep keys distinct within the payload
    for raw in split_messages(payload):
        control_id = msh_field(raw.data, 10) if raw.data.startswith(b"MSH") else ""
        if control_id and seen.get(control_id) == raw.digest:
            continue  # the same message twice in one file: already mapped
        if control_id in seen:
            yield _quarantined(f"{control_id}#duplicate:{raw.digest[:16]}",
                               SourceProblem("source.hl7.control_id.duplicate",
                                             "another message in the payload has the same control id", "MSH-10"))
            continue
        if control_id:
            seen[control_id] = raw.digest
        yield from _message_items(raw, control_id, options, context)


def _quarantined(key: str, problem: SourceProblem) -> SourceItem:
    return SourceItem(key=key, problem=Quarantine(problem.code, problem.message, problem.field))


def _message_items(raw: RawMessage, control_id: str, options: Hl7Options,
                   context: SourceContext) -> Iterator[SourceItem]:
    if not raw.data.startswith(b"MSH"):
        yield _quarantined(f"sha256:{raw.digest}", SourceProblem(
            "source.hl7.segment.missing", "segments found before any message header", "MSH"))
        return
    if not control_id:
        yield _quarantined(f"sha256:{raw.digest}", missing("MSH-10"))
        return
    try:
        codec = codec_for(raw.data, options.default_charset)
        message = Hl7Message(decode_message(raw.data, codec), codec, options)
        message.get(message.first("MSH"), 10)  # read from bytes above: here its repetitions are checked
        pending = _documents_of(message, control_id)
    except SourceProblem as problem:
        yield _quarantined(f"{control_id}#message", problem)
        return
    for suffix, make in pending:
        yield finish(f"{control_id}#{suffix}", make, context)


def _documents_of(message: Hl7Message, control_id: str) -> list[Pending]:
    msh = message.first("MSH")
    code, event = message.get(msh, 9, 1), message.get(msh, 9, 2)
    if code == "ADT" and (event in REGISTRATION_EVENTS or event in message.options.visit_events or event == "A03"):
        pending = [("PersonRegistration", lambda: _registration(message, control_id))] \
            if event in REGISTRATION_EVENTS else []
        if event == "A03" or event in message.options.visit_events:
            pending.append(_encounter(message, control_id))
        return pending
    if (code, event) == ("ORU", "R01"):
        return _lab_reports(message, control_id)
    if (code, event) in (("RDE", "O11"), ("RDS", "O13")):
        return _orders(message, control_id, dispense=code == "RDS")
    raise SourceProblem("source.hl7.message.unsupported", "message type or trigger event is not mapped", "MSH-9")


def _document_id(prefix: str, natural: str) -> str:
    """A document id from a clinical identifier; hashed when it would not fit the 64-character id."""
    natural = "_".join(natural.split())
    return f"{prefix}-{natural}" if len(natural) <= 56 else f"{prefix}-{hashlib.sha256(natural.encode()).hexdigest()[:40]}"


def _common(message: Hl7Message) -> tuple[str, int]:
    """(effectiveTime, version) from MSH-7."""
    stamp = message.get(message.first("MSH"), 7)
    if not stamp:
        raise missing("MSH-7")
    moment = parse_datetime(stamp, field="MSH-7", default_offset=message.options.timezone,
                            code="source.hl7.datetime.invalid")
    revision, location = message.slot("version")  # the HIS's own revision counter, when configured
    if revision and not revision.isdigit():
        raise SourceProblem("source.hl7.number.invalid", "not a valid number", location)
    return moment.isoformat(), int(revision) if revision else version_of(moment)


def _registration(message: Hl7Message, control_id: str) -> Record:
    effective, version = _common(message)
    patient = patient_of(message)
    # One document per person: a later A08 replaces it. Hashed, so no identifier leaks into ids.
    person = patient.ids[0] if patient.ids else ("", control_id)
    document_id = "REG-" + hashlib.sha256("|".join(person).encode()).hexdigest()[:32]
    pid = message.first("PID")
    body = {"nationality": message.code("nationality", message.get(pid, 28)),
            "ethnicity": message.code("ethnicity", message.get(pid, 22)),
            "occupation": message.code("occupation", message.slot("occupation")[0]),
            "maritalStatus": message.code("marital_status", message.slot("marital_status")[0], DEFAULT_MARITAL),
            "contact": _contacts(message)}
    return Record("PersonRegistration", document_id, version, effective, patient, body,
                  message.person(message.first("PV1"), 7, repeating=True))


def _contacts(message: Hl7Message) -> list[dict]:
    """NK1 next of kin with a usable phone number (the canonical contact requires one)."""
    found = []
    for nk1 in message.segments("NK1")[:8]:
        name = person_name(message.label(nk1, 2, 1, repetition=1), message.label(nk1, 2, 2, repetition=1))
        phone = phone_of(message, nk1, 5)
        relationship = message.get(nk1, 3, 1)
        if name and phone:
            found.append({"name": name[:200], "telecom": phone,
                          "relationship": message.code("relationship", relationship) if relationship else None})
    return found


def _encounter(message: Hl7Message, control_id: str) -> Pending:
    patient_class, _ = message.slot("patient_class")
    if patient_class in ("O", "E"):
        return "OutpatientVisit", lambda: _visit(message, control_id, emergency=patient_class == "E")
    if patient_class == "I":
        return "InpatientStay", lambda: _stay(message, control_id)
    raise SourceProblem("source.hl7.patient_class.unsupported", "patient class is not outpatient, emergency or inpatient",
                        "PV1-2")


def _required_slot(message: Hl7Message, name: str) -> tuple[str, str]:
    value, location = message.slot(name)
    if not value:
        raise missing(location or name)
    return value, location


def _encounter_parts(message: Hl7Message, control_id: str, prefix: str) -> dict:
    """What visits and stays share: document id, times, patient, department, diagnoses, charges."""
    effective, version = _common(message)
    patient = patient_of(message)
    visit_number, _ = message.slot("visit_number")
    department, _ = _required_slot(message, "department")
    found = diagnoses(message, prefer_final=True)
    if not found:
        raise SourceProblem("source.hl7.segment.missing", "no ICD-10 diagnosis (DG1) in the message", "DG1")
    cost = charges(message)
    if not cost:
        if message.options.missing_charges != "zero":
            raise SourceProblem("source.hl7.charges.missing", "the message carries no charges (FT1, PV1-47)", "FT1")
        cost = {"other": "0.00"}
    own_id, _ = message.slot("document_id")  # the HIS's own document id, when configured: taken as it is
    return {"document_id": "_".join(own_id.split()) or _document_id(prefix, visit_number or control_id),
            "version": version,
            "effective": effective, "patient": patient, "department": message.code("department", department),
            "diagnosis": found, "charges": cost, "practitioner": message.person(message.first("PV1"), 7, repeating=True)}


def _visit(message: Hl7Message, control_id: str, *, emergency: bool) -> Record:
    parts = _encounter_parts(message, control_id, "OV")
    visit_time = message.time(*_required_slot(message, "admission_time"))
    body = {"visitTime": visit_time, "department": parts["department"], "emergency": "true" if emergency else "false",
            "diagnosis": parts["diagnosis"], "charges": parts["charges"]}
    return Record("OutpatientVisit", parts["document_id"], parts["version"], parts["effective"], parts["patient"],
                  body, parts["practitioner"])


def _stay(message: Hl7Message, control_id: str) -> Record:
    parts = _encounter_parts(message, control_id, "IP")
    admitted = message.time(*_required_slot(message, "admission_time"))
    discharged = message.time(*_required_slot(message, "discharge_time"))
    outcome, _ = message.slot("discharge_outcome")
    # 住院天数 as the 病案首页 counts it: calendar days, a same-day stay counts as one.
    days = (datetime.fromisoformat(discharged).date() - datetime.fromisoformat(admitted).date()).days
    bed_days = max(1, days) if days >= 0 else None
    body = {"admissionTime": admitted, "dischargeTime": discharged, "department": parts["department"],
            "ward": message.slot("ward", text=True)[0][:200], "bedDays": str(bed_days) if bed_days else None,
            "dischargeOutcome": message.code("discharge_outcome", outcome) if outcome else None,
            "diagnosis": parts["diagnosis"], "procedure": procedures(message), "charges": parts["charges"]}
    return Record("InpatientStay", parts["document_id"], parts["version"], parts["effective"], parts["patient"],
                  body, parts["practitioner"])


def _groups(message: Hl7Message, opener: str) -> list[list]:
    """Segments split into groups, each starting at an ``opener`` segment (OBR, ORC)."""
    groups: list[list] = []
    for segment in message.tree:
        if str(segment[0]) == opener:
            groups.append([segment])
        elif groups:
            groups[-1].append(segment)
    return groups


def _lab_reports(message: Hl7Message, control_id: str) -> list[Pending]:
    groups = _groups(message, "OBR")
    if not groups:
        raise SourceProblem("source.hl7.segment.missing", "a required segment is missing", "OBR")
    return [(f"LabReport.{n}", lambda group=group, n=n: _lab_report(message, control_id, group, n))
            for n, group in enumerate(groups, start=1)]


def _lab_report(message: Hl7Message, control_id: str, group: list, number: int) -> Record:
    effective, version = _common(message)
    obr = group[0]
    results = [r for r in (result(message, s) for s in group if str(s[0]) == "OBX") if r]
    if not results:
        raise SourceProblem("source.hl7.segment.missing", "the order has no reportable result (OBX)", "OBX")
    reported = message.get(obr, 22) or message.get(obr, 7)
    spm = next((s for s in group if str(s[0]) == "SPM"), None)
    specimen = (message.get(spm, 4, 1), message.label(spm, 4, 2)) if spm is not None else \
        (message.get(obr, 15, 1, 1), message.label(obr, 15, 1, 2))
    order = message.get(obr, 3, 1) or message.get(obr, 2, 1) or f"{control_id}.{number}"
    interpreter = message.get(obr, 32, 1, 1)
    practitioner = (interpreter, person_name(message.label(obr, 32, 1, 2), message.label(obr, 32, 1, 3))) \
        if interpreter else None
    body = {"orderedBy": message.person(obr, 16, repeating=True),
            "specimen": {"code": specimen[0], "displayName": specimen[1][:200] or None} if specimen[0] else None,
            "reportTime": message.time(reported, "OBR-22") if reported else effective, "result": results[:500]}
    return Record("LabReport", _document_id("LAB", order), version, effective, patient_of(message), body, practitioner)


def _orders(message: Hl7Message, control_id: str, *, dispense: bool) -> list[Pending]:
    """One document per placer group (ORC-4); orders without a group number form one document."""
    groups = _groups(message, "ORC")
    if not groups:
        raise SourceProblem("source.hl7.segment.missing", "a required segment is missing", "ORC")
    by_group = [(number, list(members)) for number, members in
                groupby(sorted(groups, key=lambda g: message.get(g[0], 4, 1)), key=lambda g: message.get(g[0], 4, 1))]
    kind = "Dispense" if dispense else "Prescription"
    build = _dispense if dispense else _prescription
    return [(f"{kind}.{n}", lambda number=number, members=members, n=n: build(message, control_id, number, members, n))
            for n, (number, members) in enumerate(by_group, start=1)]


def _lines(message: Hl7Message, members: list[list], segment_name: str) -> list:
    lines = [s for group in members for s in group if str(s[0]) == segment_name]
    if not lines:
        raise SourceProblem("source.hl7.segment.missing", "a required segment is missing", segment_name)
    return lines


def _prescription(message: Hl7Message, control_id: str, group_number: str, members: list[list], n: int) -> Record:
    effective, version = _common(message)
    items = []
    for rxe in _lines(message, members, "RXE"):
        item = drug_line(message, rxe, drug=2, quantity=10, unit=11)
        strength = " ".join(p for p in (message.get(rxe, 25), message.get(rxe, 26, 1)) if p)
        item.update(specification=strength[:200], dosage=instructions(message, rxe)[:200])
        items.append(item)
    orc = members[0][0]
    ordered = message.get(orc, 9)
    department, _ = message.slot("department")
    body = {"prescriptionTime": message.time(ordered, "ORC-9") if ordered else effective,
            "department": message.code("department", department) if department else None,
            "diagnosis": diagnoses(message, prefer_final=False), "item": items[:200]}
    return Record("Prescription", _document_id("RX", group_number or f"{control_id}.{n}"), version, effective,
                  patient_of(message), body, message.person(orc, 12, repeating=True))


def _dispense(message: Hl7Message, control_id: str, group_number: str, members: list[list], n: int) -> Record:
    effective, version = _common(message)
    items, first_time, provider = [], "", None
    for rxd in _lines(message, members, "RXD"):
        item = drug_line(message, rxd, drug=2, quantity=4, unit=5)
        item["batchNumber"] = message.get(rxd, 18)
        if not item["batchNumber"]:
            raise missing("RXD-18")
        items.append(item)
        first_time = first_time or message.get(rxd, 3)
        provider = provider or message.person(rxd, 10, repeating=True)
    orc = members[0][0]
    natural = message.get(orc, 3, 1) or group_number or f"{control_id}.{n}"
    body = {"dispenseTime": message.time(first_time, "RXD-3") if first_time else effective,
            "prescriptionRef": (DOCUMENT_ID_ROOT, _document_id("RX", group_number)) if group_number else None,
            "item": items[:200]}
    return Record("Dispense", _document_id("DSP", natural), version, effective, patient_of(message), body, provider)


__all__ = ["hl7v2", "REGISTRATION_EVENTS"]
