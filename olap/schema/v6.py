"""Mart schema version 6: month rollups of the inpatient stays, for the hospital dashboard.

- ``rollup_admissions_institution_month``: stays per institution, department and month of
  admission (``date`` = the 1st; ``olap.rollups.ADMISSIONS_INSTITUTION_MONTH``).
- ``rollup_discharges_institution_month``: discharged stays, their bed-days and charges per
  institution, department and month of discharge (``discharge_date`` = the 1st of that month, the
  column named as in the fact so that the ``discharges`` cube reads it unchanged;
  ``olap.rollups.DISCHARGES_INSTITUTION_MONTH``).

A few thousand rows a year each, instead of every stay (charge per bed-day read 500,000 stays for
each view). Applied to a mart that already holds facts, they are filled at once (``apply_schema``).
"""
from __future__ import annotations

from .model import Column, Table, TableKind
from .v1 import CODE, ROW_STATE

VERSION = 6
DESCRIPTION = "monthly admissions and discharges rollups (inpatient stays)"


def _rollup(name: str, month: Column, measures: tuple[Column, ...], comment: str) -> Table:
    cell = (month, Column("institution_code", CODE), Column("department_code", "String"))
    return Table(name=name, kind=TableKind.ROLLUP, columns=(*cell, *measures, *ROW_STATE),
                 order_by=("institution_code", month.name, "department_code"),
                 partition_by=f"toYear({month.name})", shard_key="sipHash64(institution_code)", comment=comment)


ROLLUPS = (
    _rollup("rollup_admissions_institution_month", Column("date", "Date", "first day of the admission month"),
            (Column("admissions", "UInt64"),),
            "exact admissions (stays) per institution, department and month of admission"),
    _rollup("rollup_discharges_institution_month",
            Column("discharge_date", "Date", "first day of the discharge month"),
            (Column("discharges", "UInt64"), Column("bed_days", "UInt64"), Column("total_fen", "Int64")),
            "exact discharged stays, bed-days and charges per institution, department and month of discharge "
            "(recomputed from the earliest admission a run touched through the latest discharge)"),
)

TABLES = ROLLUPS

__all__ = ["VERSION", "DESCRIPTION", "ROLLUPS", "TABLES"]
