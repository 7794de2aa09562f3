"""Review of issue 23 (intake): unambiguous spellings and a blank identifier must not cost a clinical fact.
Each document is delivered as the inbox would and processed by the real stages. SYNTHETIC patient."""
from __future__ import annotations

from hub.mpi.resident_id import make_resident_id
from tests.records.conftest import store  # noqa: F401 (fixture)
from tests.support.documents import DOC_NS, document

RID = make_resident_id("33010619800101002")


def patient(**changes) -> dict:
    values = {"resident_id": RID, "name": "合成测试甲", "sex": "2", "birth_date": "1980-01-01", "division": "330106"}
    values.update(changes)
    return values


def with_diagnosis_code(doc, change):
    diagnosis = doc.find(f"{{{DOC_NS}}}body/{{{DOC_NS}}}diagnosis")
    diagnosis.set("code", change(diagnosis.get("code")))
    return doc


def outcome(store, doc):
    [row] = store.deliver(doc)
    store.process()
    return store.outcome(row)


def test_review23_intake_a_blank_typed_resident_id_is_no_id_not_a_refusal(store):
    """An ID field holding only spaces (a HIS that pads): name and birth date identify the patient; refused whole."""
    doc = document("OutpatientVisit", document_id="REV-BLANK", patient=patient(resident_id="   "))
    assert outcome(store, doc)[0] == "processed"


def test_review23_intake_a_diagnosis_code_with_a_stray_space_is_not_refused(store):
    """'J06.9 ' (trailing space from a fixed-width column) is refused record.code.unknown, although the issue
    says stray spaces in codes are normalized before validation."""
    doc = with_diagnosis_code(document("OutpatientVisit", document_id="REV-CODE-SP", patient=patient()),
                              lambda code: code + " ")
    assert outcome(store, doc)[0] == "processed"


def test_review23_intake_a_diagnosis_code_with_an_ideographic_space_is_not_refused(store):
    """'J06.9\\u3000' (the full-width space of a Chinese input method): NFKC makes it a space, but the
    byte pre-check only looks for full-width digits/letters, so the code is never normalized (schema.invalid)."""
    doc = with_diagnosis_code(document("OutpatientVisit", document_id="REV-CODE-IS", patient=patient()),
                              lambda code: code + "\u3000")
    assert outcome(store, doc)[0] == "processed"


def test_review23_intake_a_division_code_with_a_space_is_not_refused(store):
    """'330 106': a stray space in the address division refuses the whole visit (record.schema.invalid)."""
    doc = document("OutpatientVisit", document_id="REV-DIV-SP", patient=patient(division="330 106"))
    assert outcome(store, doc)[0] == "processed"


def test_review23_intake_a_full_width_birth_date_is_not_refused(store):
    """'１９８０-01-01' (input method in full-width mode): unambiguous, yet the whole visit is refused."""
    doc = document("OutpatientVisit", document_id="REV-BD-FW", patient=patient(birth_date="１９８０-01-01"))
    assert outcome(store, doc)[0] == "processed"


def test_review23_intake_a_lower_case_icd10_code_is_not_refused(store):
    """'j06.9' (typed without shift): the same code as J06.9, yet the visit is refused record.schema.invalid;
    full-width 'Ｊ０６．９' is normalized and kept, the plain lower-case one is not."""
    doc = with_diagnosis_code(document("OutpatientVisit", document_id="REV-CODE-LC", patient=patient()),
                              lambda code: "j06.9")
    assert outcome(store, doc)[0] == "processed"
