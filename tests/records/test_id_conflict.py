"""Two different valid resident IDs in one document (issue 23): the clinical fact is stored, flagged
(record.patient.id.conflict) and reported to the sender; neither ID is trusted, and a person holding either
goes to review. SYNTHETIC patients (resident IDs generated here)."""
from __future__ import annotations

import copy

from lxml import etree
from sqlalchemy import func, select

from hub.mpi import PersonIdentifier, ReviewItem
from hub.mpi.resident_id import make_resident_id
from hub.records.models import Encounter, RecordDocument
from tests.support.documents import document

from .test_findings import acknowledgement, findings

CHILD = make_resident_id("33010620200101002")
MOTHER = make_resident_id("33010619900505004")
PATIENT = {"name": "合成测试丙", "sex": "2", "birth_date": "2020-01-01", "division": "330106"}
FIELD = "/OutpatientVisit/header/patient/id[@root='2.16.156.10011.1.3']/@extension"


def _with_second_id(doc, value: str):
    """The document with a second resident ID after its first (the mother's, typed on the child's visit)."""
    first = doc.find("{*}header/{*}patient/{*}id")
    second = copy.deepcopy(first)
    second.set("extension", value)
    first.addnext(second)
    return doc


def test_two_valid_ids_are_stored_flagged_reported_and_sent_to_review(store):
    [known] = store.deliver(document("OutpatientVisit", document_id="OV-C-1",
                                     patient={"resident_id": CHILD, **PATIENT}))
    [row_id] = store.deliver(_with_second_id(document("OutpatientVisit", document_id="OV-C-2",
                                                      patient={"resident_id": CHILD, **PATIENT}), MOTHER))
    store.process()
    assert store.outcome(known)[0] == "processed"
    assert store.outcome(row_id) == ("processed", None, None)  # refused (record.patient.invalid) before
    assert findings(store) == [("CLINIC01", "record.patient.id.conflict", FIELD)]
    ack = acknowledgement(store, row_id)
    assert [(f.findtext("{*}Code"), f.findtext("{*}Field")) for f in ack.findall("{*}Finding")] == [
        ("record.patient.id.conflict", FIELD)]
    assert MOTHER.encode() not in etree.tostring(ack) and CHILD.encode() not in etree.tostring(ack)
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Encounter)) == 2  # the visit counts
        persons = list(session.scalars(select(RecordDocument.person_id).order_by(RecordDocument.id)))
        reviews = session.execute(select(ReviewItem.candidate_person_id)).scalars().all()
        held = dict(session.execute(select(PersonIdentifier.value, PersonIdentifier.kind)).all())
    assert persons[0] != persons[1] and reviews == [persons[0]]  # the child's holder: review, not a link
    assert held == {CHILD: "resident_id", "|".join(sorted((CHILD, MOTHER))): "resident_id.conflict"}
