"""Pure pandas transforms: OLTP row frames (as ``etl.extract`` reads them) → mart fact frames.

No I/O here. Every function takes the raw frame of one ``FactSource`` (plus its per-document
extras already merged) and returns a frame with exactly the mart table's columns, in order.
Conventions shared by every fact:

- ``date`` is the event's **local** date (China Standard Time, UTC+8, no daylight saving):
  a visit at 2026-11-22 23:30 +08:00 (15:30 UTC) counts on the 22nd.
- Money becomes ``Int64`` fen (分), rounded half away from zero from the stored 2-decimal amounts.
- A person is only a keyed-HMAC pseudonym (``Pseudonymizer``), sex, and the age band at the event.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from olap.schema.versions import table
from protocol.findings import EVENT_TIME_TOLERANCE, FINDINGS

from .errors import TransformError
from .facts import MESSAGE_FACT, FactSource

LOCAL_OFFSET = pd.Timedelta(hours=8)
AGE_BANDS = ((0, "0-4"), (5, "5-14"), (15, "15-44"), (45, "45-64"), (65, "65+"))
_NOT_ABNORMAL = {"", "N"}


@dataclass(frozen=True)
class Pseudonymizer:
    """person id → stable pseudonym: HMAC-SHA256 under the mart's secret key, 32 hex characters.

    Without the key the pseudonym cannot be linked back to the MPI id (ids are small integers a
    plain hash would give away by enumeration).
    """

    key: bytes
    _memo: dict = field(default_factory=dict, compare=False, repr=False)  # person id → pseudonym

    def __call__(self, person_ids: pd.Series) -> pd.Series:
        memo = self._memo
        for pid in person_ids.dropna().unique():
            if pid not in memo:
                memo[pid] = self.one(int(pid))
        return person_ids.map(memo).fillna("").astype(str)

    def one(self, person_id: int) -> str:
        return hmac.new(self.key, str(person_id).encode(), hashlib.sha256).hexdigest()[:32]


SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's DateTime text on SQLite (UTC, naive)


def utc_times(values: pd.Series) -> pd.Series:
    """Timestamps as stored (SQLite text, PostgreSQL aware datetimes) → tz-aware UTC."""
    if values.empty:
        return pd.Series(pd.DatetimeIndex([], tz="UTC"), index=values.index)
    if pd.api.types.is_string_dtype(values.dtype):
        try:  # the store's own format: an explicit format parses several times faster than ISO8601
            return pd.to_datetime(values, utc=True, format=SQLITE_TIME)
        except ValueError:
            pass
    return pd.to_datetime(values, utc=True, format="ISO8601")


def local_dates(values: pd.Series) -> pd.Series:
    """UTC instants → their China-local calendar date (``datetime64[s]`` at midnight)."""
    utc = utc_times(values)
    return (utc.dt.tz_localize(None) + LOCAL_OFFSET).dt.floor("D").astype("datetime64[s]")


def plain_dates(values: pd.Series) -> pd.Series:
    """Date-only columns (SQLite text, PostgreSQL ``date``) → ``datetime64[s]``."""
    if values.empty:
        return pd.Series(np.array([], dtype="datetime64[s]"), index=values.index)
    return pd.to_datetime(values.astype(str), format="%Y-%m-%d").astype("datetime64[s]")


def fen(values: pd.Series) -> pd.Series:
    """Yuan amounts (Decimal, float or text) → integer fen; missing → 0."""
    numbers = pd.to_numeric(values, errors="coerce").fillna(0.0).astype("float64")
    return (np.sign(numbers) * np.floor(np.abs(numbers) * 100 + 0.5)).astype("int64")


def age_bands(birth_dates: pd.Series, at: pd.Series) -> pd.Series:
    """Age in whole years at ``at`` → band label; unknown birth date → ''.

    Birth dates repeat (one per person, many facts each): each distinct value is parsed once.
    """
    codes, distinct = pd.factorize(birth_dates.astype("string"), use_na_sentinel=True)
    parsed = pd.to_datetime(pd.Series(distinct, dtype="string"), format="%Y-%m-%d", errors="coerce")
    known = (codes >= 0) & parsed.notna().to_numpy()[np.maximum(codes, 0)] if len(distinct) else codes >= 0
    index = np.maximum(codes, 0)
    born_year = parsed.dt.year.to_numpy(dtype="float64", na_value=np.nan)[index] if len(distinct) else np.zeros(len(codes))
    born_md = (parsed.dt.month * 100 + parsed.dt.day).to_numpy(dtype="float64", na_value=np.nan)[index] \
        if len(distinct) else np.zeros(len(codes))
    at_md = (at.dt.month * 100 + at.dt.day).to_numpy()
    age = at.dt.year.to_numpy() - born_year - (at_md < born_md)
    lowers = np.array([lower for lower, _ in AGE_BANDS])
    labels = np.array([label for _, label in AGE_BANDS], dtype=object)
    position = np.searchsorted(lowers, np.nan_to_num(age, nan=-1), side="right") - 1
    bands = np.where(known & (position >= 0), labels[np.clip(position, 0, len(labels) - 1)], "")
    return pd.Series(bands, index=at.index).astype(str)


def _local_names(types: pd.Series) -> pd.Series:
    """``{urn:hie:doc:v1}LabReport`` → ``LabReport`` (a handful of distinct values: map, don't split each)."""
    return types.map({value: value.rsplit("}", 1)[-1] for value in types.unique()}).astype(str)


def _text(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str)


def _case_first(raw: pd.DataFrame) -> pd.Series:
    """1 for the first card of its case, or a card the surveillance workflow has not linked yet; else 0."""
    first = pd.to_numeric(raw["case_first_card"], errors="coerce")
    return (first.isna() | (first == pd.to_numeric(raw["document_row_id"]))).astype("uint8")


def _lineage(raw: pd.DataFrame, fact: str, oltp_table: str, date: pd.Series, *, version: int,
             loaded_at: pd.Timestamp) -> dict[str, pd.Series]:
    return {
        "fact_key": oltp_table + ":" + raw["source_row_id"].astype("int64").astype(str),
        "date": date,
        "institution_code": _text(raw["institution_code"]),
        "source_row_id": raw["source_row_id"].astype("uint64"),
        "document_row_id": raw["document_row_id"].astype("uint64"),
        "message_row_id": raw["message_row_id"].astype("uint64"),
        "loaded_at": pd.Series(loaded_at, index=raw.index).astype("datetime64[s, UTC]"),
        "version": pd.Series(version, index=raw.index, dtype="uint64"),
        "deleted": pd.Series(0, index=raw.index, dtype="uint8"),
    }


def _event_date(source: FactSource, raw: pd.DataFrame) -> pd.Series:
    column = raw[source.date_column]
    if source.date_column == "period":  # YYYY-MM: the first day of the month reported
        return plain_dates(column.astype(str) + "-01")
    if source.date_column in ("at",):
        return local_dates(column)
    return plain_dates(column)


def _measures(fact: str, raw: pd.DataFrame) -> dict[str, pd.Series]:
    """The fact-specific columns."""
    if fact in ("fact_outpatient_visit", "fact_inpatient_stay"):
        out = {"department_code": _text(raw["department_code"]),
               "primary_diagnosis_code": _text(raw.get("primary_diagnosis_code", pd.Series(index=raw.index))),
               "total_fen": fen(raw["total_amount"])}
        if fact == "fact_outpatient_visit":
            out |= {"kind": _text(raw["kind"]), "drug_fen": fen(raw.get("drug_amount", pd.Series(index=raw.index)))}
        else:
            discharged = local_dates(raw["discharged_at"].dropna()).reindex(raw.index)
            out |= {"discharge_date": discharged, "bed_days": raw["bed_days"].fillna(0).astype("uint32"),
                    "discharge_outcome": _text(raw["discharge_outcome"])}
        return out
    if fact == "fact_medication":
        return {"kind": _text(raw["kind"]), "drug_code": _text(raw["drug_code"]),
                "quantity": pd.to_numeric(raw["quantity"]).astype("float64"), "amount_fen": fen(raw["amount"])}
    if fact == "fact_lab_test":
        flags = _text(raw["abnormal_flag"])
        return {"test_code": _text(raw["test_code"]), "abnormal_flag": flags,
                "is_abnormal": (~flags.isin(_NOT_ABNORMAL)).astype("uint8"),
                "numeric_value": pd.to_numeric(raw["numeric_value"], errors="coerce").astype("float64")}
    if fact == "fact_disease_report":
        return {"disease_code": _text(raw["disease_code"]), "disease_class": _text(raw["disease_class"]),
                "case_classification": _text(raw["case_classification"]),
                "onset_date": plain_dates(raw["onset_date"]), "report_date": local_dates(raw["reported_at"]),
                "division_code": _text(raw["division_code"]), "occupation_code": _text(raw["occupation_code"]),
                "case_first": _case_first(raw)}
    if fact == "fact_referral":
        return {"direction": _text(raw["direction"]), "to_institution_code": _text(raw["to_institution_code"]),
                "department_code": _text(raw["department_code"]),
                "redirected_by": _text(raw["redirected_by"]),
                "status": _referral_status(raw), "turnaround_hours": _turnaround_hours(raw)}
    if fact == "fact_drug_movement":
        return {name: _text(raw[name]) for name in ("movement_type", "from_code", "from_kind", "to_code", "to_kind",
                                                     "drug_code", "batch_number")} | {
            "quantity": pd.to_numeric(raw["quantity"]).astype("float64"), "amount_fen": fen(raw["amount"])}
    if fact == "fact_immunization":
        return {"vaccine_code": _text(raw["vaccine_code"]), "dose_number": raw["dose_number"].astype("uint8")}
    if fact == "fact_maternal_checkup":
        return {"checkup_type": _text(raw["checkup_type"]),
                "gestational_weeks": pd.to_numeric(raw["gestational_weeks"]).astype("UInt8"),
                "high_risk": raw["high_risk"].fillna(0).astype(bool).astype("uint8")}
    if fact == "fact_child_checkup":
        return {"age_months": raw["age_months"].astype("uint16"),
                "weight_kg": pd.to_numeric(raw["weight_kg"]).astype("float64"),
                "height_cm": pd.to_numeric(raw["height_cm"]).astype("float64"),
                "development": _text(raw["development"])}
    if fact == "fact_institution_month":
        counts = {name: raw[name].fillna(0).astype("uint32") for name in ("staff_on_duty", "approved_beds", "open_beds")}
        optional = {name: pd.to_numeric(raw[name]).astype("UInt32") for name in ("outpatient_visits",
                                                                                 "inpatient_discharges")}
        money = {f"{name}_fen": fen(raw[name]) for name in ("fixed_assets", "revenue_drugs", "revenue_examinations",
                                                             "revenue_treatment", "revenue_other")}
        return counts | optional | money
    if fact in ("fact_finding", "fact_document_quality"):
        return _quality_measures(fact, raw)
    raise TransformError("etl.fact.unknown", "no transform for this fact table", fact=fact)


def _referral_status(raw: pd.DataFrame) -> pd.Series:
    """The up-referral's case state (hub/workflows/referral), ``sent`` for a referral without a case."""
    states = raw["case_state"] if "case_state" in raw else pd.Series(None, index=raw.index, dtype=object)
    return states.where(states.notna() & (states.astype(str) != ""), "sent").astype(str)


def _turnaround_hours(raw: pd.DataFrame) -> pd.Series:
    """Request → the receiver's decision, in whole hours (rounded); missing while undecided."""
    if "case_decided_at" not in raw or raw["case_decided_at"].isna().all():
        return pd.Series(pd.NA, index=raw.index, dtype="UInt32")
    decided = raw["case_decided_at"].notna()
    hours = pd.Series(pd.NA, index=raw.index, dtype="Float64")
    spans = utc_times(raw.loc[decided, "case_decided_at"]) - utc_times(raw.loc[decided, "case_requested_at"])
    hours.loc[decided] = (spans.dt.total_seconds() / 3600).round().clip(lower=0).to_numpy()
    return hours.astype("UInt32")


def _flag(values: pd.Series) -> pd.Series:
    """A count read from OLTP (``COUNT(*)`` of a subquery) → 1 when positive, else 0."""
    return (pd.to_numeric(values, errors="coerce").fillna(0) > 0).astype("uint8")


def _count(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").fillna(0).clip(0, 65_535).astype("uint16")


def _quality_measures(fact: str, raw: pd.DataFrame) -> dict[str, pd.Series]:
    """The data-quality facts' columns (``etl.facts.QUALITY_SOURCES``)."""
    document_type = _local_names(_text(raw["document_type"]))
    if fact == "fact_finding":
        codes = _text(raw["code"])
        return {"document_type": document_type, "code": codes, "field": _text(raw["field"]),
                "dimension": codes.map(lambda code: FINDINGS[code].dimension if code in FINDINGS else "").astype(str)}
    present = _flag(raw["resident_ids_recorded"]) | _flag(raw["resident_ids_invalid"])
    valid = _flag(raw["resident_ids_recorded"]) & (1 - _flag(raw["resident_ids_invalid"])).astype("uint8")
    has_patient = _flag(raw["has_patient"])
    # arrival = the first version's: a correction sent later does not make the event late (recorded_at is
    # when the hub first stored the document, received_at when the stored version's message came)
    arrived = pd.concat([utc_times(raw["received_at"].dropna()).reindex(raw.index),
                         utc_times(raw["recorded_at"])], axis=1).min(axis=1)
    lateness = _lateness_hours(arrived, utc_times(raw["at"]))
    return {"document_type": document_type, "has_patient": has_patient,
            "resident_id_present": present & has_patient, "resident_id_valid": valid & has_patient,
            "linked_valid": _flag(raw["person_resident_ids"]) & has_patient,
            "visits": _count(raw["visits"]), "coded_visits": _count(raw["coded_visits"]),
            "charged_visits": _count(raw["charged_visits"]), "findings": _count(raw["findings"]),
            "received_at": arrived.dt.floor("s").astype("datetime64[s, UTC]"),
            "lateness_hours": lateness.astype("float64")}


_SKEW_HOURS = EVENT_TIME_TOLERANCE.total_seconds() / 3600


def _lateness_hours(arrived: pd.Series, at: pd.Series) -> pd.Series:
    """Hours from the event to its arrival. Within the tolerance before it (a clinic clock a little fast)
    the event is on time: 0. Earlier than that (a date in the future, ``record.event.in_future``) the
    lateness stays negative, and the timeliness figures never count it as on time (docs/data-quality.md)."""
    hours = (arrived - at).dt.total_seconds() / 3600
    return hours.mask((hours < 0) & (hours >= -_SKEW_HOURS), 0.0)


def transform_facts(source: FactSource, raw: pd.DataFrame, *, pseudonymize: Pseudonymizer, version: int,
                    loaded_at: pd.Timestamp) -> pd.DataFrame:
    """The mart rows of one fact table from its OLTP rows (``raw`` as read by ``etl.extract``)."""
    date = _event_date(source, raw)
    columns = _lineage(raw, source.fact, source.oltp_table, date, version=version, loaded_at=loaded_at)
    if source.person:
        columns |= {"person_key": pseudonymize(raw["person_id"]), "sex": _text(raw["person_sex"]),
                    "age_band": age_bands(raw["person_birth_date"], date)}
    columns |= _measures(source.fact, raw)
    return _ordered(source.fact, columns, raw.index)


def transform_messages(raw: pd.DataFrame, *, version: int, loaded_at: pd.Timestamp) -> pd.DataFrame:
    """``fact_exchange_message`` rows from inbox messages (institution = member, date = received date)."""
    received = utc_times(raw["received_at"])
    date = local_dates(raw["received_at"])
    columns = _lineage(raw, MESSAGE_FACT, "inbox_message", date, version=version, loaded_at=loaded_at)
    status = _text(raw["status"])
    effective = utc_times(raw["effective_time"].dropna()).reindex(raw.index)
    lateness = _lateness_hours(received, effective) // 1  # whole hours, as before
    columns |= {
        "document_type": _local_names(_text(raw["document_type"])),
        "status": status,
        "error_code": _text(raw["error_code"]),
        "is_rejected": (status == "rejected").astype("uint8"),
        "received_at": received.dt.floor("s").astype("datetime64[s, UTC]"),
        "lateness_hours": lateness.astype("Int32"),
    }
    return _ordered(MESSAGE_FACT, columns, raw.index)


def _ordered(fact: str, columns: dict[str, pd.Series], index: pd.Index) -> pd.DataFrame:
    names = table(fact).column_names
    missing = [name for name in names if name not in columns]
    if missing:
        raise TransformError("etl.transform.incomplete", "the transform does not produce every column", fact=fact,
                             missing=missing)
    return pd.DataFrame({name: columns[name] for name in names}, index=index).reset_index(drop=True)


__all__ = ["Pseudonymizer", "transform_facts", "transform_messages", "local_dates", "plain_dates", "fen",
           "age_bands", "utc_times"]
