"""schemas.normalize on documents built in memory (no store): the spellings of a resident ID and of a birth
date that name one value are rewritten before validation, the rest left to the checks. SYNTHETIC patient."""
from __future__ import annotations

import pytest

from hub.mpi.resident_id import make_resident_id
from protocol.findings import Finding
from schemas.normalize import normalize_document, resident_id_spelled, spelled
from schemas.validation import validate
from tests.support.documents import DOC_NS, document

RID = make_resident_id("33010619800101003")
PATIENT = {"resident_id": RID, "name": "合成测试丙", "sex": "1", "birth_date": "1980-01-01", "division": "330106"}
ID_FIELD = "/OutpatientVisit/header/patient/id[@root='2.16.156.10011.1.3']/@extension"
BIRTH_FIELD = "/OutpatientVisit/header/patient/birthDate/@value"


def normalized(**change) -> tuple[dict[str, str | None], list[Finding]]:
    """A visit whose patient differs from PATIENT by ``change``, normalized and validated: its resident ID and
    birth date as they stand then, and the findings."""
    doc = document("OutpatientVisit", document_id="OV-S-1", patient={**PATIENT, **change})
    findings: list[Finding] = []
    normalize_document(doc, None, findings)
    validate(doc)  # the repaired patient header never costs the visit
    patient = doc.find(f"{{{DOC_NS}}}header/{{{DOC_NS}}}patient")
    ids = patient.findall(f"{{{DOC_NS}}}id[@root='2.16.156.10011.1.3']")
    born = patient.find(f"{{{DOC_NS}}}birthDate")
    return ({"id": ids[0].get("extension") if ids else None, "birth_date": None if born is None else born.get("value")},
            findings)


@pytest.mark.parametrize("separator", ["-", "－", "—", "–", ".", "．", "/", "／"])
def test_separators_between_a_resident_ids_digit_groups_are_removed(separator):
    values, findings = normalized(resident_id=separator.join((RID[:6], RID[6:14], RID[14:])))
    assert values["id"] == RID and findings == [Finding("record.patient.id.normalized", ID_FIELD)]


def test_resident_id_spellings():
    assert resident_id_spelled(" 330106 - 19800101 - 003x ") == resident_id_spelled("３３０１０６／１９８００１０１／００３ｘ") \
        == "33010619800101003X"
    assert resident_id_spelled("-33010619800101003X-") == "-33010619800101003X-"  # not between digit groups
    assert spelled("MZ-2024-001") == "MZ-2024-001"  # other identifiers keep their hyphens


@pytest.mark.parametrize("typed", [RID[:17] + "Y", RID[:6] + "*" + RID[6:], "不详", "ABC"])
def test_a_malformed_resident_id_passes_validation_as_typed(typed):
    """Kept for the hub to flag as invalid (record.patient.id.invalid, hub.records.store), never refused."""
    values, findings = normalized(resident_id=typed)
    assert values["id"] == typed and findings == []


def test_a_resident_id_longer_than_the_schema_holds_is_left_out():
    values, findings = normalized(resident_id=RID * 4)
    assert values["id"] is None and findings == [Finding("record.patient.id.invalid", ID_FIELD)]


@pytest.mark.parametrize("typed, meant", [
    ("19800101", "1980-01-01"), ("19800101083000", "1980-01-01"), ("１９８００１０１", "1980-01-01"),
    ("1980/01/15", "1980-01-15"), ("1980.1.5", "1980-01-05"), ("1980-1-5", "1980-01-05"),
    ("1980年1月15日", "1980-01-15"), ("１９８０年１月１５日", "1980-01-15"),
    ("1980-01-15T00:00:00", "1980-01-15"), ("1980-01-15 08:30", "1980-01-15"), ("1980-01-15T23:59:59.5", "1980-01-15"),
    ("1980-01-15T00:00:00+08:00", "1980-01-15"), ("1980-01-15T00:00:00+0800", "1980-01-15"),
    ("1980-01-14T16:00:00Z", "1980-01-15"),  # a local midnight a serializer wrote in UTC: the day in China
])
def test_a_birth_date_written_another_unambiguous_way_is_normalized(typed, meant):
    values, findings = normalized(birth_date=typed)
    assert values["birth_date"] == meant and findings == [Finding("record.patient.birth_date.normalized", BIRTH_FIELD)]


@pytest.mark.parametrize("typed", ["01/02/1980", "02.01.1980", "80-01-02", "1980-02-30T00:00:00", "19800230",
                                   "1980-01-01T25:00", "1980/01-01", "1980-01", "198001011"])
def test_an_ambiguous_or_impossible_birth_date_is_left_out(typed):
    values, findings = normalized(birth_date=typed)
    assert values["birth_date"] is None and findings == [Finding("record.patient.birth_date.invalid", BIRTH_FIELD)]


def test_a_required_birth_date_is_normalized_too():
    """PersonRegistration requires the birth date: a spelling that names one day is rewritten, not refused."""
    doc = document("PersonRegistration", document_id="REG-S-1", patient={**PATIENT, "birth_date": "19800101"})
    findings: list[Finding] = []
    normalize_document(doc, None, findings)
    validate(doc)
    assert doc.find(f"{{{DOC_NS}}}header/{{{DOC_NS}}}patient/{{{DOC_NS}}}birthDate").get("value") == "1980-01-01"
