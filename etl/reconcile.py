"""``hie etl reconcile``: OLTP and mart counts per fact and local day, and every difference.

Both sides are counted through the same code the loads use: the OLTP rows through
``etl.extract`` + ``etl.transform`` (so "which day" means the same on both sides), the mart
through the exact read (live version, retractions removed).
"""
from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from olap.backend import Backend

from . import extract
from .exact_facts import EXACT_FACTS
from .facts import MESSAGE_FACT, SOURCES
from .transform import Pseudonymizer, transform_facts, transform_messages

_EVERYTHING = extract.Selection("1 = 1")


def _oltp_counts(sessions: sessionmaker[Session]) -> pd.DataFrame:
    stamp = pd.Timestamp(datetime.now(timezone.utc)).floor("s")
    unused_key = Pseudonymizer(b"reconcile")  # pseudonyms are not compared
    frames = []
    with sessions.kw["bind"].connect() as connection:
        for source in SOURCES:
            facts = transform_facts(source, extract.read_source(connection, source, _EVERYTHING),
                                    pseudonymize=unused_key, version=0, loaded_at=stamp)
            frames.append(facts.groupby("date").size().rename("oltp").reset_index().assign(fact=source.fact))
        messages = transform_messages(extract.read_messages(connection, extract.messages_changed(None, datetime.now(timezone.utc))),
                                      version=0, loaded_at=stamp)
        frames.append(messages.groupby("date").size().rename("oltp").reset_index().assign(fact=MESSAGE_FACT))
    return pd.concat(frames, ignore_index=True)


def _mart_counts(mart: Backend) -> pd.DataFrame:
    frames = []
    for fact in [source.fact for source in SOURCES] + [MESSAGE_FACT]:
        counts = mart.query_df(f"SELECT date, count() AS mart FROM ({EXACT_FACTS.format(columns='date', table=fact, condition='1 = 1')}) "
                               "GROUP BY date")
        frames.append(counts.assign(fact=fact))
    return pd.concat(frames, ignore_index=True)


def reconcile(sessions: sessionmaker[Session], mart: Backend) -> pd.DataFrame:
    """One row per (fact, date) on either side: ``oltp``, ``mart`` and ``difference`` (0 = equal)."""
    oltp, mart_side = _oltp_counts(sessions), _mart_counts(mart)
    for frame in (oltp, mart_side):
        frame["date"] = pd.to_datetime(frame["date"]).dt.date
    both = oltp.merge(mart_side, on=["fact", "date"], how="outer").fillna({"oltp": 0, "mart": 0})
    both = both.astype({"oltp": "int64", "mart": "int64"})
    both["difference"] = both["mart"] - both["oltp"]
    return both[["fact", "date", "oltp", "mart", "difference"]].sort_values(["fact", "date"]).reset_index(drop=True)


__all__ = ["reconcile"]
