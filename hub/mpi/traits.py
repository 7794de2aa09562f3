"""What a document says about its patient, checked and normalized once at the MPI's edge."""
from __future__ import annotations

import datetime
import hashlib
from typing import NamedTuple

from protocol.errors import RecordError

from .matching import Demographics, normalize_address, normalize_phone
from .names import name_pinyin, normalize_name
from .resident_id import RESIDENT_ID_ROOT, is_valid_resident_id, normalize_resident_id

RESIDENT_ID = "resident_id"
# A resident ID failing its check (GB 11643) is kept, under this kind, beside the person it resolved
# to (mpi_identifier): never a deterministic link, never returned by an identifier lookup.
INVALID_RESIDENT_ID = "resident_id.invalid"
# Two different valid resident IDs in one document (issue 23): the document is kept, neither ID is trusted;
# the IDs are kept together as one value 'A|B' (sorted) under this kind, which no single ID ever equals, so
# neither links deterministically nor is answered by an identifier query.
CONFLICTING_RESIDENT_IDS = "resident_id.conflict"
HEALTH_RECORD_NO = "health_record_no"
HEALTH_CARD_NO = "health_card_no"
OUTPATIENT_NO = "outpatient_no"
INPATIENT_NO = "inpatient_no"
IDENTIFIER_KINDS = frozenset({RESIDENT_ID, HEALTH_RECORD_NO, HEALTH_CARD_NO, OUTPATIENT_NO, INPATIENT_NO})
# Kinds that name one person region-wide (stored in mpi_identifier, linked deterministically).
GLOBAL_KINDS = (RESIDENT_ID, HEALTH_RECORD_NO, HEALTH_CARD_NO)
# Local-key preference: the institution's own numbers first, most stable first.
LOCAL_KEY_KINDS = (HEALTH_RECORD_NO, OUTPATIENT_NO, INPATIENT_NO, HEALTH_CARD_NO)
_SEX_CODES = frozenset({"0", "1", "2", "9"})


class PatientTraits(NamedTuple):
    """The patient as one document describes it."""

    identifiers: tuple[tuple[str, str, str], ...]  # (kind, root, value)
    name: str | None = None
    sex: str | None = None  # GB/T 2261.1 code '0', '1', '2', '9'
    birth_date: datetime.date | None = None
    phone: str | None = None
    division: str | None = None  # GB/T 2260
    address: str | None = None


class Resolution(NamedTuple):
    """The person a document's patient resolved to, and how."""

    person_id: int
    patient_record_id: int
    decision: str  # 'identifier' | 'auto' | 'review' | 'new' | 'existing'
    score: float | None


class Probe(NamedTuple):
    """Checked traits: normalized demographics, the local key and the global identifiers."""

    demographics: Demographics
    local_key: str
    global_ids: tuple[tuple[str, str, str], ...]  # (kind, root, value), resident ID first
    invalid_ids: tuple[str, ...] = ()  # resident IDs failing their check, normalized: kept, never trusted
    conflict_ids: tuple[str, ...] = ()  # two or more different valid resident IDs, sorted: kept, never trusted


def _field(root: str) -> str:
    return f"/*/header/patient/id[@root='{root}']"


def local_key(traits: PatientTraits, demographics: Demographics, global_ids, invalid_ids=(), conflict_ids=()) -> str:
    """The institution's key for its patient.

    The first of the document's own numbers by kind (health-record, outpatient, inpatient,
    health-card number), as ``kind:root^value``; else the resident ID (``resident_id:value``);
    else an invalid resident ID as typed (``resident_id.invalid:value``); else a digest of name, sex and birth date (``demographics:sha256``).
    Two different valid resident IDs give ``resident_id.conflict:A|B`` (sorted) after the institution's numbers.
    """
    by_kind = {}
    for kind, root, value in traits.identifiers:
        by_kind.setdefault(kind, (root, value.strip()))
    for kind in LOCAL_KEY_KINDS:
        if kind in by_kind:
            root, value = by_kind[kind]
            return f"{kind}:{root}^{value}"[:200]
    for kind, _root, value in global_ids:
        if kind == RESIDENT_ID:
            return f"{RESIDENT_ID}:{value}"
    if conflict_ids:
        return f"{CONFLICTING_RESIDENT_IDS}:{'|'.join(conflict_ids)}"[:200]
    digest = hashlib.sha256("|".join(
        (demographics.name or "", demographics.sex or "", demographics.birth_date or "")).encode()).hexdigest()
    return f"demographics:{digest}"


def probe_of(traits: PatientTraits) -> Probe:
    """Check and normalize a document's patient; ``RecordError`` if it cannot be used at all.

    A resident ID failing its check is kept in ``invalid_ids`` (the record is matched on the other
    traits); two different valid ones both go to ``conflict_ids`` (neither is trusted); only a patient with
    no identifier at all and no name with a birth date is refused.
    """
    global_ids: list[tuple[str, str, str]] = []
    invalid_ids: list[str] = []
    valid_ids: list[str] = []
    resident_id = None
    usable_ids = 0
    for kind, root, value in traits.identifiers:
        value = (value or "").strip()
        if kind not in IDENTIFIER_KINDS or not value:
            continue
        usable_ids += 1
        if kind == RESIDENT_ID:
            value = normalize_resident_id(value)
            if not is_valid_resident_id(value):
                invalid_ids.append(value[:64])
                continue
            valid_ids.append(value)
            if resident_id is None:
                global_ids.insert(0, (kind, RESIDENT_ID_ROOT, value))
            resident_id = value
        elif kind in GLOBAL_KINDS:
            global_ids.append((kind, root, value))
    conflict = tuple(sorted(set(valid_ids))) if len(set(valid_ids)) > 1 else ()
    if conflict:  # neither ID is trusted: no deterministic link, never the person's resident ID
        global_ids = [entry for entry in global_ids if entry[0] != RESIDENT_ID]
        resident_id = None
    name = normalize_name(traits.name) if traits.name and traits.name.strip() else None
    if not usable_ids and not (name and traits.birth_date):
        raise RecordError("record.patient.invalid", "no identifier and no name with birth date",
                          field="/*/header/patient")
    division = traits.division.strip() if traits.division else None
    demographics = Demographics(
        name=name, pinyin=name_pinyin(name) if name else None,
        sex=traits.sex if traits.sex in _SEX_CODES else None,
        birth_date=traits.birth_date.isoformat() if traits.birth_date else None,
        phone=normalize_phone(traits.phone), division=division[:6] if division else None,
        address=(normalize_address(traits.address) or "")[:200] or None,
        resident_id=resident_id)
    invalid = tuple(dict.fromkeys(invalid_ids))
    return Probe(demographics, local_key(traits, demographics, global_ids, invalid, conflict),
                 tuple(dict.fromkeys(global_ids)), invalid, conflict)


def resident_id_conflict(traits: PatientTraits) -> str | None:
    """The root of the first valid resident ID that differs from an earlier valid one, else None: the
    document names two people's IDs (finding ``record.patient.id.conflict``)."""
    first = None
    for kind, root, value in traits.identifiers:
        value = normalize_resident_id(value or "")
        if kind != RESIDENT_ID or not is_valid_resident_id(value):
            continue
        if first is not None and value != first:
            return root
        first = first or value
    return None


__all__ = ["PatientTraits", "Resolution", "Probe", "probe_of", "local_key", "GLOBAL_KINDS", "IDENTIFIER_KINDS",
           "RESIDENT_ID", "INVALID_RESIDENT_ID", "CONFLICTING_RESIDENT_IDS", "resident_id_conflict", "HEALTH_RECORD_NO",
           "HEALTH_CARD_NO", "OUTPATIENT_NO", "INPATIENT_NO"]
