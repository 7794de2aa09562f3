"""Mart schema version 9: a redirected referral counts for the hospital that holds it (issue 21, referral).

``fact_referral.to_institution_code`` is the receiver of the referral's live case (the hospital it was
redirected to, which accepts or rejects it), no longer the hospital the clinic first asked; the fact
gains ``redirected_by``: the hospital that redirected it there ('' for a referral never redirected), so
the redirecting hospital counts a redirect (``referrals.redirected`` by ``redirect.institution``), never
an acceptance. The fact is rebuilt (``REBUILD``): the ETL reloads it from the store on its next run.
"""
from __future__ import annotations

from dataclasses import replace

from . import v5
from .model import Column
from .v1 import ROW_STATE

VERSION = 9
DESCRIPTION = "fact_referral: target = the live case's receiver, redirected_by = the redirecting hospital (rebuilt)"

_BEFORE = next(table for table in v5.FACTS if table.name == "fact_referral")
_STATE = len(_BEFORE.columns) - len(ROW_STATE)  # the row state (version, deleted) stays last
REDIRECTED_BY = Column("redirected_by", "String", "the hospital that redirected the referral there, or ''")
FACTS = (replace(_BEFORE, columns=(*_BEFORE.columns[:_STATE], REDIRECTED_BY, *_BEFORE.columns[_STATE:]),
                 comment="双向转诊: one row per referral, date = referral date; target = the live case's receiver"),)
TABLES = FACTS
REBUILD = ("fact_referral",)

__all__ = ["VERSION", "DESCRIPTION", "FACTS", "TABLES", "REBUILD"]
