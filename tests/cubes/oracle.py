"""The indicators computed independently: pandas straight from the OLTP rows (record_*, inbox,
registry, mpi_person), never from the mart, so a cube answer is checked against a second method.

Conventions restated here on purpose (not imported from etl/): an event's day is its China-local
date (UTC+8), money is rounded to fen, a prescription is one document, a person is ``person_id``.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Engine

from schemas import CODES_DIR


def read(engine: Engine, sql: str) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql(text(sql), connection)


def local_day(values: pd.Series) -> pd.Series:
    return (pd.to_datetime(values, utc=True, format="ISO8601").dt.tz_localize(None) + pd.Timedelta(hours=8)).dt.normalize()


def fen(values: pd.Series) -> pd.Series:
    return values.map(lambda v: int((Decimal(str(v)) * 100).quantize(Decimal(1), ROUND_HALF_UP)) if v is not None
                      and not pd.isna(v) else 0)


def with_periods(frame: pd.DataFrame, column: str = "day") -> pd.DataFrame:
    day = pd.to_datetime(frame[column])
    return frame.assign(month=day.dt.strftime("%Y-%m"), year=day.dt.strftime("%Y"),
                        quarter=day.dt.year.astype(str) + "-Q" + day.dt.quarter.astype(str),
                        week=(day - pd.to_timedelta(day.dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d"))


def institutions(engine: Engine) -> pd.DataFrame:
    """code -> district (every test institution sits in a district-level division)."""
    return read(engine, "SELECT code AS institution, division_code AS district, kind AS institution_kind, status AS registry_status "
                        "FROM registry_institution")


def _current(table: str, columns: str, where: str = "1 = 1") -> str:
    return (f"SELECT r.institution AS institution, {columns} FROM {table} r JOIN record_document d "
            f"ON d.id = r.document_ref WHERE d.status = 'current' AND ({where})")


def visits(engine: Engine) -> pd.DataFrame:
    rows = read(engine, _current("record_encounter", "r.document_ref AS document, r.person_id AS person, r.kind AS kind, "
                                 "r.start_time AS start, r.total_amount AS total", "r.kind IN ('outpatient', 'emergency')"))
    drugs = read(engine, "SELECT document_ref AS document, amount FROM record_charge WHERE category = 'drugs'")
    drugs = drugs.assign(drug_fen=fen(drugs["amount"])).groupby("document", as_index=False)["drug_fen"].sum()
    rows = rows.merge(drugs, on="document", how="left").fillna({"drug_fen": 0})
    rows = rows.assign(day=local_day(rows["start"]), total_fen=fen(rows["total"]))
    return with_periods(rows.merge(institutions(engine), on="institution"))


def stays(engine: Engine) -> pd.DataFrame:
    rows = read(engine, _current("record_encounter", "r.person_id AS person, r.start_time AS start, r.end_time AS end_, "
                                 "r.bed_days AS bed_days, r.total_amount AS total", "r.kind = 'inpatient'"))
    rows = rows.assign(day=local_day(rows["start"]), discharge_day=local_day(rows["end_"]),
                       total_fen=fen(rows["total"]))
    return rows.merge(institutions(engine), on="institution")


def institution_stats(engine: Engine) -> pd.DataFrame:
    rows = read(engine, _current("record_institution_stats", "r.period AS period, r.staff_on_duty AS staff, "
                                 "r.open_beds AS open_beds, r.fixed_assets AS fixed_assets, "
                                 "r.outpatient_visits AS reported_visits, r.revenue_drugs AS a, "
                                 "r.revenue_examinations AS b, r.revenue_treatment AS c, r.revenue_other AS d"))
    rows["day"] = pd.to_datetime(rows["period"] + "-01")
    rows["days_in_month"] = rows["day"].dt.days_in_month
    rows["revenue_fen"] = fen(rows["a"]) + fen(rows["b"]) + fen(rows["c"]) + fen(rows["d"])
    rows["fixed_assets_fen"] = fen(rows["fixed_assets"])
    return with_periods(rows.merge(institutions(engine), on="institution"))


def prescriptions(engine: Engine) -> pd.DataFrame:
    rows = read(engine, _current("record_medication", "r.document_ref AS document, r.drug_code AS drug, r.at AS at, "
                                 "r.amount AS amount", "r.kind = 'prescription'"))
    drugs = pd.read_csv(CODES_DIR / "drugs.csv", dtype=str, keep_default_na=False)
    antibiotics = set(drugs.loc[drugs["atc"].str.startswith("J01"), "code"])
    rows = rows.assign(day=local_day(rows["at"]), amount_fen=fen(rows["amount"]),
                       antibiotic=rows["drug"].isin(antibiotics))
    return with_periods(rows.merge(institutions(engine), on="institution"))


def plain_rows(engine: Engine, table: str, columns: str, day_column: str, where: str = "1 = 1") -> pd.DataFrame:
    """Rows of a table whose day is a plain date column."""
    rows = read(engine, _current(table, columns, where))
    rows["day"] = pd.to_datetime(rows[day_column].astype(str))
    return with_periods(rows.merge(institutions(engine), on="institution"))


def messages(engine: Engine) -> pd.DataFrame:
    rows = read(engine, "SELECT m.member AS institution, m.status AS status, m.received_at AS received, "
                        "d.effective_time AS effective FROM inbox_message m "
                        "LEFT JOIN record_document d ON d.message_row_id = m.id")
    received = pd.to_datetime(rows["received"], utc=True, format="ISO8601")
    effective = pd.to_datetime(rows["effective"], utc=True, format="ISO8601")
    hours = (received - effective).dt.total_seconds() / 3600
    hours = hours.mask((hours < 0) & (hours >= -1), 0.0) // 1  # a clock up to an hour fast is on time
    rows = rows.assign(day=local_day(rows["received"]), timed=hours.notna(),
                       on_time=hours.notna() & (hours >= 0) & (hours <= 24),  # a future date never is
                       rejected=rows["status"] == "rejected")
    return with_periods(rows.merge(institutions(engine), on="institution", how="left"))


__all__ = ["read", "visits", "stays", "institution_stats", "prescriptions", "plain_rows", "messages",
           "institutions", "with_periods", "local_day", "fen"]
