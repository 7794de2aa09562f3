"""Second review of issue 23: the hub's intake of patient headers as clinics type them (delivered as the
inbox would, processed by the real stages; SYNTHETIC patient). Seen live with ``hie send`` first."""
from __future__ import annotations

import datetime

import pytest

from tests.records.conftest import store  # noqa: F401 - shared fixture
from tests.records.test_demographic_defects import GOOD, RID, patient_record, processed


def test_a_resident_id_typed_with_hyphens_loses_the_whole_visit(store):  # noqa: F811
    """DATA LOSS: '330106-19800101-002X' (an ID copied from a formatted screen) refuses the whole visit with
    record.schema.invalid, although a wrong length, spaces or full-width digits are kept with a finding:
    a formatting defect of the patient header must not lose the clinical fact."""
    typed = f"{RID[:6]}-{RID[6:14]}-{RID[14:]}"
    codes = [code for code, _ in processed(store, resident_id=typed)]
    assert codes and codes[0].startswith("record.patient.id.")


@pytest.mark.parametrize("typed", [pytest.param("19800101", id="hl7-compact"),
                                   pytest.param("1980-01-01T00:00:00", id="with-midnight")])
def test_an_unambiguous_birth_date_spelling_is_thrown_away(store, typed):  # noqa: F811
    """LINKAGE / wrong number: a birth date typed '19800101' (as HL7 and most HIS exports write it) or with a
    midnight time is flagged record.patient.birth_date.invalid and left out of the patient, although it names
    one day; the record then matches without its birth date and drops out of age-based figures."""
    assert GOOD["birth_date"] == "1980-01-01"
    processed(store, birth_date=typed)
    assert patient_record(store).birth_date == datetime.date(1980, 1, 1)
