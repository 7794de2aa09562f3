"""Unambiguous spellings are fixed before validation, flagged and reported (issue 23): full-width digits
(an input method in full-width mode), stray spaces, a lower-case check ``x``. SYNTHETIC patients."""
from __future__ import annotations

import pytest
from lxml import etree
from sqlalchemy import select

from hub.mpi import PersonIdentifier
from hub.mpi.resident_id import make_resident_id
from hub.records.models import Diagnosis, RecordDocument
from schemas.normalize import resident_id_spelled, spelled
from hub.records.query import document_bytes
from tests.support.documents import DOC_NS, document

from .test_findings import acknowledgement, findings

VALID = make_resident_id("33010619800101003")
WITH_X = next(v for v in (make_resident_id(f"330106198001010{n:02d}") for n in range(100)) if v.endswith("X"))
PATIENT = {"name": "合成测试丙", "sex": "1", "birth_date": "1980-01-01", "division": "330106"}
ID_FIELD = "/OutpatientVisit/header/patient/id[@root='2.16.156.10011.1.3']/@extension"


@pytest.fixture
def db_url(tmp_path):
    """The embedded default only: normalization runs in ``prepare``, pure Python above the store (the store's
    own SQL runs on both backends in test_store.py and test_findings.py)."""
    return f"sqlite:///{tmp_path}/hub.db"


def wide(text: str) -> str:
    """The full-width form of ASCII digits and letters, as a full-width input method types them."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_spellings():
    assert spelled(wide("3505 24")) == "350524" and spelled("\u3000１３８ ０００\t") == "138000"
    assert resident_id_spelled(WITH_X.lower()) == WITH_X and resident_id_spelled(wide(VALID)) == VALID
    assert spelled("OP-2024-001") == "OP-2024-001"


def test_a_full_width_resident_id_and_phone_are_normalized_flagged_and_linked(store):
    store.deliver(document("OutpatientVisit", document_id="OV-N-1", patient={"resident_id": VALID, **PATIENT}))
    [row_id] = store.deliver(document("OutpatientVisit", document_id="OV-N-2", patient={
        "resident_id": wide(VALID), "phone": wide("100 0000 0001"), **PATIENT}))
    store.process()
    assert store.outcome(row_id) == ("processed", None, None)
    assert findings(store) == [("CLINIC01", "record.patient.id.normalized", ID_FIELD),
                               ("CLINIC01", "record.patient.telecom.normalized",
                                "/OutpatientVisit/header/patient/telecom/@value")]
    ack = etree.tostring(acknowledgement(store, row_id), encoding="unicode")
    assert "record.patient.id.normalized" in ack and wide(VALID) not in ack and VALID not in ack
    with store.sessions() as session:
        assert len(set(session.scalars(select(RecordDocument.person_id)))) == 1  # one person: the same ID
        assert session.execute(select(PersonIdentifier.kind, PersonIdentifier.value)).all() == [("resident_id", VALID)]
        stored = session.scalars(select(RecordDocument).where(RecordDocument.document_id == "OV-N-2")).one()
        assert wide(VALID) in document_bytes(session, stored).decode("utf-8")  # the value as received is kept


def test_a_lower_case_check_x_and_spaces_are_normalized(store):
    [row_id] = store.deliver(document("OutpatientVisit", document_id="OV-N-3", patient={
        "resident_id": WITH_X[:6] + " " + WITH_X[6:-1] + "x", **PATIENT}))
    store.process()
    assert store.outcome(row_id) == ("processed", None, None)
    assert findings(store) == [("CLINIC01", "record.patient.id.normalized", ID_FIELD)]
    with store.sessions() as session:
        assert session.scalar(select(PersonIdentifier.value)) == WITH_X


def test_a_full_width_code_is_normalized_and_checked(store):
    doc = document("OutpatientVisit", document_id="OV-N-4", patient={"resident_id": VALID, **PATIENT})
    diagnosis = doc.find(f"{{{DOC_NS}}}body/{{{DOC_NS}}}diagnosis")
    code = diagnosis.get("code")
    diagnosis.set("code", wide(code))
    [row_id] = store.deliver(doc)
    store.process()
    assert store.outcome(row_id) == ("processed", None, None)
    assert [(c, f) for _, c, f in findings(store)] == [("record.code.normalized", "/OutpatientVisit/body/diagnosis[1]/@code")]
    with store.sessions() as session:
        assert code in session.scalars(select(Diagnosis.code)).all()
