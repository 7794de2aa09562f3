"""The hub's imported codes: add them, read them, and let this process's code lists follow them.

``watch(sessions)`` installs the database as this process's ``schemas.terminology.AdditionsSource``:
every process that validates or labels codes for the hub (its web workers, the processor, the ETL, the
``hie`` commands) calls it where it opens the store, and ``schemas.terminology`` merges the rows into the
shipped lists (the one merge). The version asked every few seconds is one indexed aggregate query.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from schemas.terminology import use_additions

from .models import CodeAddition

_TABLE = CodeAddition.__table__


class StoredAdditions:
    """The ``code_addition`` table as a ``schemas.terminology.AdditionsSource``."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def version(self) -> tuple[int, int]:
        with self.sessions() as session:
            count, last = session.execute(select(func.count(), func.max(_TABLE.c.id))).one()
        return int(count), int(last or 0)

    def additions(self) -> dict[str, list[dict[str, str]]]:
        with self.sessions() as session:
            return additions(session)


def additions(session: Session) -> dict[str, list[dict[str, str]]]:
    """The imported codes by system, in the order they were added (``schemas.terminology.codes.Addition``)."""
    rows = session.execute(select(_TABLE.c.system, _TABLE.c.code, _TABLE.c.display, _TABLE.c.columns)
                           .order_by(_TABLE.c.id)).all()
    found: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        found.setdefault(row.system, []).append({**json.loads(row.columns), "code": row.code, "display": row.display})
    return found


def watch(sessions: sessionmaker[Session]) -> None:
    """Make this process's code lists the shipped ones plus this store's imported codes, and keep following it."""
    use_additions(StoredAdditions(sessions))


def counts(session: Session) -> dict[str, int]:
    """How many codes were imported into each system."""
    return dict(session.execute(select(_TABLE.c.system, func.count()).group_by(_TABLE.c.system)).tuples().all())


def add(session: Session, *, system: str, rows: Sequence[Mapping[str, str]], now: datetime) -> int:
    """Insert the imported codes of ``system`` (``{"code", "display", <other columns>}`` each); how many."""
    if rows:
        session.execute(insert(_TABLE), [
            {"system": system, "code": row["code"], "display": row.get("display", ""), "added_at": now,
             "columns": json.dumps({k: v for k, v in row.items() if k not in ("code", "display")},
                                   ensure_ascii=False, sort_keys=True)}
            for row in rows])
    return len(rows)


__all__ = ["StoredAdditions", "watch", "additions", "counts", "add"]
