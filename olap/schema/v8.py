"""Mart schema version 8: the diseases cube counts cases, not cards (issue 21, surveillance).

``fact_disease_report`` stays one row per report card and gains ``case_first``: 1 for the first card
(in onset order) of its case — the cards of one person and disease linked through the MPI by the
surveillance workflow (``workflow_disease_case``), whichever institutions sent them — and for a card
not yet linked; 0 for the case's other cards. ``sum(case_first)`` counts each case once, on its first
card's day, institution and residence (additive across cells), beside ``count()`` of the cards. The
fact is rebuilt (``REBUILD``): the ETL reloads it from the store on its next run.
"""
from __future__ import annotations

from dataclasses import replace

from . import v5
from .model import Column
from .v1 import ROW_STATE

VERSION = 8
DESCRIPTION = "fact_disease_report.case_first: cases linked through the MPI counted once (fact rebuilt)"

_BEFORE = next(table for table in v5.FACTS if table.name == "fact_disease_report")
_STATE = len(_BEFORE.columns) - len(ROW_STATE)  # the row state (version, deleted) stays last
CASE_FIRST = Column("case_first", "UInt8", "1 = the first card of its case (or a card not linked yet), 0 = another")
FACTS = (replace(_BEFORE, columns=(*_BEFORE.columns[:_STATE], CASE_FIRST, *_BEFORE.columns[_STATE:]),
                 comment="传染病报告卡: one row per card, date = diagnosis date; case_first counts cases"),)
TABLES = FACTS
REBUILD = ("fact_disease_report",)

__all__ = ["VERSION", "DESCRIPTION", "FACTS", "TABLES", "REBUILD"]
