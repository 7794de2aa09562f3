"""The pure transforms: local dates, money, age bands, pseudonyms (no database)."""
from __future__ import annotations

import pandas as pd

from etl.transform import Pseudonymizer, age_bands, fen, local_dates, plain_dates


def test_local_dates_are_china_calendar_days():
    stored = pd.Series(["2026-11-22 15:59:59.999999", "2026-11-22 16:00:00.000000", "2026-12-31 17:30:00.000000"])
    assert [str(day)[:10] for day in local_dates(stored)] == ["2026-11-22", "2026-11-23", "2027-01-01"]
    aware = pd.Series([pd.Timestamp("2026-11-22T16:30:00+00:00").to_pydatetime()])  # PostgreSQL gives aware values
    assert str(local_dates(aware).iloc[0])[:10] == "2026-11-23"
    assert str(plain_dates(pd.Series(["2026-02-28"])).iloc[0])[:10] == "2026-02-28"


def test_money_is_exact_fen():
    assert list(fen(pd.Series(["0.01", "12.345", 86.5, None, "-3.005", "99999999999.99"]))) == [
        1, 1235, 8650, 0, -301, 9999999999999]


def test_age_bands_at_the_event_birthday_boundaries_and_unknowns():
    born = pd.Series(["1990-06-15", "1990-06-15", None, "2020-01-01", "not a date", "1950-12-31", "2021-11-22"])
    at = pd.Series(pd.to_datetime(["2026-06-14", "2026-06-15", "2026-01-01", "2025-01-01", "2026-01-01",
                                   "2016-01-01", "2026-11-21"])).astype("datetime64[s]")
    assert list(age_bands(born, at)) == ["15-44", "15-44", "", "5-14", "", "65+", "0-4"]


def test_pseudonyms_are_keyed_stable_and_never_the_id():
    ids = pd.Series([7, 8, 7, None])
    first, other_key = Pseudonymizer(b"k" * 32)(ids), Pseudonymizer(b"j" * 32)(ids)
    assert first[0] == first[2] != first[1] and first[3] == ""
    assert len(first[0]) == 32 and "7" != first[0] and first[0] != other_key[0]


def test_message_lateness_a_clock_a_little_fast_is_zero_and_a_future_date_stays_negative():
    """The exchange cube's on-time count reads ``lateness_hours`` (0 ≤ lateness ≤ 24): a document up to an
    hour ahead of its arrival (a clinic clock running fast) is on time; one dated days ahead is not."""
    from etl.transform import transform_messages

    received = "2026-11-22 08:00:00.000000"
    raw = pd.DataFrame({
        "source_row_id": [1, 2, 3, 4], "document_row_id": [1, 2, 3, 0], "message_row_id": [1, 2, 3, 4],
        "institution_code": ["C01"] * 4, "document_type": ["{urn:hie:doc:v1}OutpatientVisit"] * 4,
        "status": ["processed"] * 3 + ["rejected"], "error_code": [""] * 3 + ["record.schema.invalid"],
        "received_at": [received] * 4,
        "effective_time": ["2026-11-21 06:30:00.000000",   # 25.5 h late
                           "2026-11-22 08:30:00.000000",   # half an hour ahead: a fast clock
                           "2027-01-01 08:00:00.000000",   # 40 days ahead: a wrong date
                           None]})                          # rejected: no document
    rows = transform_messages(raw, version=1, loaded_at=pd.Timestamp("2026-11-22T09:00:00Z"))
    lateness = rows["lateness_hours"]
    assert list(lateness[:3]) == [25, 0, -960] and pd.isna(lateness[3])
