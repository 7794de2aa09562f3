"""Identity without data loss (issue 23): a document whose resident ID fails its check is stored,
flagged (record.patient.id.invalid) and matched on the rest; only a patient with no identity is refused.
SYNTHETIC patients (resident IDs generated here)."""
from __future__ import annotations

from lxml import etree
from sqlalchemy import func, select

from hub.mpi import PersonIdentifier
from hub.mpi.resident_id import make_resident_id
from hub.records.models import Encounter, RecordDocument
from tests.support.documents import document

from .test_findings import acknowledgement, findings

VALID = make_resident_id("33010619800101002")
TYPO = VALID[:10] + ("2" if VALID[10] != "2" else "3") + VALID[11:]  # the birth month's first digit mistyped
PATIENT = {"name": "合成测试甲", "sex": "2", "birth_date": "1980-01-01", "division": "330106"}
FIELD = "/OutpatientVisit/header/patient/id[@root='2.16.156.10011.1.3']/@extension"


def test_a_bad_check_digit_is_stored_flagged_reported_and_linked_to_the_person(store):
    store.deliver(document("OutpatientVisit", document_id="OV-ID-1", patient={"resident_id": VALID, **PATIENT}))
    [row_id] = store.deliver(document("OutpatientVisit", document_id="OV-ID-2",
                                      patient={"resident_id": TYPO, **PATIENT}))
    store.process()
    assert store.outcome(row_id) == ("processed", None, None)
    assert findings(store) == [("CLINIC01", "record.patient.id.invalid", FIELD)]
    ack = acknowledgement(store, row_id)
    assert [(f.findtext("{*}Code"), f.findtext("{*}Field")) for f in ack.findall("{*}Finding")] == [
        ("record.patient.id.invalid", FIELD)]
    assert TYPO.encode() not in etree.tostring(ack)  # a path, never the value
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Encounter)) == 2  # the visit counts
        assert len(set(session.scalars(select(RecordDocument.person_id)))) == 1  # matched on the rest
        held = dict(session.execute(select(PersonIdentifier.value, PersonIdentifier.kind)).all())
    assert held == {VALID: "resident_id", TYPO: "resident_id.invalid"}


def test_only_a_patient_without_any_identity_is_refused(store):
    ids = store.deliver(document("OutpatientVisit", document_id="OV-ID-3", patient={"resident_id": TYPO}),
                        document("OutpatientVisit", document_id="OV-ID-4", patient={"name": "合成测试乙"}))
    store.process()
    assert store.outcome(ids[0])[0] == "processed"  # an invalid ID alone is an identity, kept
    assert store.outcome(ids[1]) == ("rejected", "record.patient.invalid", "/OutpatientVisit/header/patient")
