"""A clinical fact is never lost because of a demographic defect (issue 23). Each visit differs from a good
one in one patient-header field only, typed as clinics type it: the visit is stored, the field repaired
or left out, and a finding names it. Delivered as the inbox would, processed by the real stages.
SYNTHETIC patient."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.mpi.models import PatientRecord
from hub.mpi.resident_id import make_resident_id
from hub.records.models import RecordFinding
from tests.records.conftest import store  # noqa: F401 (fixture)
from tests.support.documents import document

RID = make_resident_id("33010619800101002")
GOOD = {"resident_id": RID, "name": "合成测试甲", "sex": "2", "birth_date": "1980-01-01", "division": "330106"}
HEADER = "/OutpatientVisit/header/patient"


@pytest.fixture
def db_url(tmp_path):
    """The embedded default only: the repairs run in ``prepare``, pure Python above the store (the store's
    own SQL runs on both backends in test_store.py and test_findings.py)."""
    return f"sqlite:///{tmp_path}/hub.db"


def processed(store, type_name: str = "OutpatientVisit", **change) -> list[tuple[str, str]]:
    """Process a document whose patient differs from GOOD by ``change``; it must be stored. Its findings."""
    [row] = store.deliver(document(type_name, document_id="DEMO-1", patient={**GOOD, **change}))
    store.process()
    assert store.outcome(row)[0] == "processed", store.outcome(row)
    with store.sessions() as session:
        return [(f.code, f.field) for f in session.scalars(select(RecordFinding).order_by(RecordFinding.id))]


def patient_record(store) -> PatientRecord:
    with store.sessions() as session:
        return session.scalars(select(PatientRecord)).one()


@pytest.mark.parametrize("typed", [
    pytest.param(RID[:17], id="check-character-left-out"),
    pytest.param(RID + "1", id="digit-typed-twice"),
    pytest.param("330106800101002", id="first-generation-15-digits"),
])
def test_a_resident_id_of_the_wrong_length_is_kept_as_invalid(store, typed):
    assert ("record.patient.id.invalid", f"{HEADER}/id[@root='2.16.156.10011.1.3']/@extension") \
        in processed(store, resident_id=typed)


def test_an_impossible_birth_date_is_left_out_and_the_visit_kept(store):
    assert ("record.patient.birth_date.invalid", f"{HEADER}/birthDate/@value") \
        in processed(store, birth_date="1980-02-30")
    assert patient_record(store).birth_date is None


@pytest.mark.parametrize("typed, code", [("M", "1"), ("F", "2"), ("男", "1"), ("女", "2"), ("ｍ", "1")])
def test_a_sex_spelled_unambiguously_is_mapped_to_gbt_2261_1(store, typed, code):
    assert ("record.patient.sex.normalized", f"{HEADER}/sex/@code") in processed(store, sex=typed)
    assert patient_record(store).sex == code


def test_an_unknown_sex_is_left_out_and_the_visit_kept(store):
    assert ("record.patient.sex.invalid", f"{HEADER}/sex/@code") in processed(store, sex="X")
    assert patient_record(store).sex is None


def test_a_short_division_code_is_left_out_and_the_visit_kept(store):
    assert ("record.patient.division.invalid", f"{HEADER}/address/@division") in processed(store, division="3301")


def test_a_phone_with_an_extension_keeps_the_number(store):
    assert ("record.patient.telecom.extension", f"{HEADER}/telecom/@value") \
        in processed(store, phone="0571-87654321转801")
    assert patient_record(store).phone == "057187654321"


def test_a_registration_still_requires_a_real_birth_date(store):
    """PersonRegistration's schema requires the birth date: it is not dropped there, the XSD refuses."""
    registration = document("PersonRegistration", document_id="DEMO-REG", patient={**GOOD, "birth_date": "1980-02-30"})
    [row] = store.deliver(registration)
    store.process()
    assert store.outcome(row)[:2] == ("rejected", "record.schema.invalid")
