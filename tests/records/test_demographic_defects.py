"""A clinical fact is never lost because of a demographic defect (issue 23). Each visit differs from a good
one in one patient-header field only, typed as clinics type it: the visit is stored, the field repaired
or left out, and a finding names it. Delivered as the inbox would, processed by the real stages.
SYNTHETIC patient."""
from __future__ import annotations

import datetime

import pytest
from sqlalchemy import select

from hub.mpi.models import PatientRecord, PersonIdentifier
from hub.mpi.resident_id import make_resident_id
from hub.records.models import RecordFinding
from tests.records.conftest import store  # noqa: F401 (fixture)
from tests.support.documents import document

RID = make_resident_id("33010619800101002")
GOOD = {"resident_id": RID, "name": "合成测试甲", "sex": "2", "birth_date": "1980-01-01", "division": "330106"}
HEADER = "/OutpatientVisit/header/patient"
ID_FIELD = f"{HEADER}/id[@root='2.16.156.10011.1.3']/@extension"


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


@pytest.mark.parametrize("separator", ["-", "－"])  # every separator: tests/schemas/test_normalize.py
def test_a_resident_id_typed_with_separators_is_normalized_and_linked(store, separator):
    """330106-19800101-002X, copied from a formatted screen: the separators go, the visit is linked on the ID."""
    typed = separator.join((RID[:6], RID[6:14], RID[14:]))
    assert processed(store, resident_id=typed) == [("record.patient.id.normalized", ID_FIELD)]
    assert patient_record(store).resident_id == RID


@pytest.mark.parametrize("typed", [pytest.param(RID[:17] + "Y", id="letter-for-check-character"),
                                   pytest.param("不详", id="unknown-written-out")])
def test_a_malformed_resident_id_is_kept_as_invalid_and_the_visit_kept(store, typed):
    assert ("record.patient.id.invalid", ID_FIELD) in processed(store, resident_id=typed)
    with store.sessions() as session:
        held = session.execute(select(PersonIdentifier.kind, PersonIdentifier.value)).all()
    assert held == [("resident_id.invalid", typed)] and patient_record(store).resident_id is None


def test_a_resident_id_longer_than_any_identifier_is_left_out_and_the_visit_kept(store):
    assert processed(store, resident_id=RID * 4) == [("record.patient.id.invalid", ID_FIELD)]
    assert patient_record(store).resident_id is None


@pytest.mark.parametrize("typed", [pytest.param("19800101", id="hl7-compact"),
                                   pytest.param("1980-01-01T00:00:00", id="with-midnight")])
def test_a_birth_date_written_another_unambiguous_way_is_normalized(store, typed):
    """As HL7 and most HIS exports write it (every spelling: tests/schemas/test_normalize.py): one day, kept."""
    assert processed(store, birth_date=typed) == [("record.patient.birth_date.normalized", f"{HEADER}/birthDate/@value")]
    assert patient_record(store).birth_date == datetime.date(1980, 1, 1)


def test_an_ambiguous_birth_date_is_still_left_out(store):
    assert processed(store, birth_date="01/01/1980") == [("record.patient.birth_date.invalid",
                                                           f"{HEADER}/birthDate/@value")]
    assert patient_record(store).birth_date is None
