"""Review of issue 23 (the rule: a clinical fact is never lost because of a demographic or formatting
defect). Each visit differs from a good one in one demographic field only, typed as clinics type it, and
is refused whole today. Delivered as the inbox would and processed by the real stages. SYNTHETIC patient."""
from __future__ import annotations

import pytest

from hub.mpi.resident_id import make_resident_id
from tests.records.conftest import store  # noqa: F401 (fixture)
from tests.support.documents import document

RID = make_resident_id("33010619800101002")
GOOD = {"resident_id": RID, "name": "合成测试甲", "sex": "2", "birth_date": "1980-01-01", "division": "330106"}


def processed(store, **change) -> tuple[str, str | None, str | None]:
    [row] = store.deliver(document("OutpatientVisit", document_id="REV-DEMO", patient={**GOOD, **change}))
    store.process()
    return store.outcome(row)


@pytest.mark.parametrize("typed, why", [
    (RID[:17], "the check character left out"),
    (RID + "1", "a digit typed twice"),
    ("330106800101002", "a first-generation 15-digit ID, still in old HIS records"),
])
def test_review23_demographics_a_resident_id_of_the_wrong_length_is_kept_as_invalid(store, typed, why):
    """Only a wrong check character is kept as an invalid ID; a missed or doubled digit refuses the visit
    (record.schema.invalid on the ID's pattern)."""
    assert processed(store, resident_id=typed)[0] == "processed", why


def test_review23_demographics_an_impossible_birth_date_does_not_refuse_the_visit(store):
    """1980-02-30: a typed birth date, like 1013 (kept and flagged), but the XSD date type refuses the visit."""
    assert processed(store, birth_date="1980-02-30")[0] == "processed"


def test_review23_demographics_a_sex_typed_as_a_letter_does_not_refuse_the_visit(store):
    """Sex 'M' (an HIS exporting HL7 table 0001 instead of GB/T 2261.1): record.code.unknown refuses the visit."""
    assert processed(store, sex="M")[0] == "processed"


def test_review23_demographics_a_short_division_code_does_not_refuse_the_visit(store):
    """Address division '3301' (the city typed without its last two digits): refused by the schema."""
    assert processed(store, division="3301")[0] == "processed"


def test_review23_demographics_a_phone_with_an_extension_does_not_refuse_the_visit(store):
    """'0571-87654321转801' (a landline with its extension, as typed in China): refused by the phone pattern."""
    assert processed(store, phone="0571-87654321转801")[0] == "processed"
