"""Unambiguous spellings and a blank identifier do not cost a clinical fact (issue 23): each document is
delivered as the inbox would, processed by the real stages, stored as normalized and flagged with a
finding (code and field path). SYNTHETIC patient."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.mpi.resident_id import make_resident_id
from hub.records.models import Diagnosis, RecordFinding
from tests.records.conftest import store  # noqa: F401 (fixture)
from tests.support.documents import DOC_NS, document

RID = make_resident_id("33010619800101002")
DIAGNOSIS = "/OutpatientVisit/body/diagnosis[1]/@code"  # the example visit has two


@pytest.fixture
def db_url(tmp_path):
    """The embedded default only: normalization runs in ``prepare``, pure Python above the store (the store's
    own SQL runs on both backends in test_store.py and test_findings.py)."""
    return f"sqlite:///{tmp_path}/hub.db"


def patient(**changes) -> dict:
    values = {"resident_id": RID, "name": "合成测试甲", "sex": "2", "birth_date": "1980-01-01", "division": "330106"}
    values.update(changes)
    return values


def with_diagnosis_code(doc, code: str):
    doc.find(f"{{{DOC_NS}}}body/{{{DOC_NS}}}diagnosis").set("code", code)
    return doc


def processed(store, doc) -> list[tuple[str, str]]:
    """Process ``doc``, which must be stored; its findings as (code, field)."""
    [row] = store.deliver(doc)
    store.process()
    assert store.outcome(row)[0] == "processed", store.outcome(row)
    with store.sessions() as session:
        return [(f.code, f.field) for f in session.scalars(select(RecordFinding).order_by(RecordFinding.id))]


def stored_diagnoses(store) -> list[str]:
    with store.sessions() as session:
        return list(session.scalars(select(Diagnosis.code)))


def test_a_blank_resident_id_is_no_id_and_the_patient_is_identified_by_name_and_birth_date(store):
    doc = document("OutpatientVisit", document_id="OV-BLANK", patient=patient(resident_id="   "))
    assert ("record.patient.id.blank", "/OutpatientVisit/header/patient/id[@root='2.16.156.10011.1.3']/@extension") \
        in processed(store, doc)


@pytest.mark.parametrize("typed", [pytest.param("J06.9 ", id="trailing-space"),
                                   pytest.param("J06.9\u3000", id="ideographic-space"),
                                   pytest.param("j06.9", id="lower-case")])
def test_an_icd10_code_typed_loosely_is_stored_as_the_code(store, typed):
    doc = with_diagnosis_code(document("OutpatientVisit", document_id="OV-CODE", patient=patient()), typed)
    assert ("record.code.normalized", DIAGNOSIS) in processed(store, doc)
    assert "J06.9" in stored_diagnoses(store)


def test_a_national_icd10_extension_keeps_its_own_lower_case_letters(store):
    doc = with_diagnosis_code(document("OutpatientVisit", document_id="OV-CODE-EXT", patient=patient()), "i10.x00x002")
    assert ("record.code.normalized", DIAGNOSIS) in processed(store, doc)
    assert "I10.x00x002" in stored_diagnoses(store)


def test_a_division_with_a_space_is_normalized(store):
    doc = document("OutpatientVisit", document_id="OV-DIV-SP", patient=patient(division="330 106"))
    assert ("record.code.normalized", "/OutpatientVisit/header/patient/address/@division") in processed(store, doc)


def test_a_full_width_birth_date_is_normalized(store):
    doc = document("OutpatientVisit", document_id="OV-BD-FW", patient=patient(birth_date="１９８０-01-01"))
    assert ("record.patient.birth_date.normalized", "/OutpatientVisit/header/patient/birthDate/@value") \
        in processed(store, doc)


def test_a_wrong_diagnosis_code_still_refuses_the_document(store):
    """Spellings are fixed; a clinical value that is wrong is not guessed at."""
    doc = with_diagnosis_code(document("OutpatientVisit", document_id="OV-CODE-BAD", patient=patient()), "J0.69")
    [row] = store.deliver(doc)
    store.process()
    assert store.outcome(row)[:2] == ("rejected", "record.schema.invalid")
