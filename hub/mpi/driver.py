"""Fixed SQL run straight on the DB-API cursor of a session's connection (the resolve hot path).

Resolving costs a handful of indexed statements per document; through SQLAlchemy Core each one
costs tens of microseconds of Python, through the driver a few. Statements are written once with
``?`` placeholders and rewritten for psycopg. Values are what the ORM columns store: on SQLite
dates as ISO text and UTC datetimes as naive ISO text (as SQLAlchemy's dialect writes them).
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache

from sqlalchemy.orm import Session


@lru_cache(maxsize=256)
def _for_psycopg(sql: str) -> str:
    return sql.replace("?", "%s")


class DriverSql:
    """A DB-API cursor bound to the session's current transaction."""

    def __init__(self, session: Session):
        session.flush()  # pending ORM writes must be visible to our statements
        connection = session.connection()
        self.sqlite = connection.dialect.name == "sqlite"
        self.cursor = connection.connection.driver_connection.cursor()

    def _sql(self, sql: str) -> str:
        return sql if self.sqlite else _for_psycopg(sql)

    def rows(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        self.cursor.execute(self._sql(sql), params)
        return self.cursor.fetchall()

    def execute(self, sql: str, params: tuple | list = ()) -> None:
        self.cursor.execute(self._sql(sql), params)

    def many(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            self.cursor.executemany(self._sql(sql), rows)

    def insert(self, sql: str, params: tuple) -> int:
        """Run an ``INSERT ... RETURNING id`` and return the id."""
        self.cursor.execute(self._sql(sql), params)
        return self.cursor.fetchone()[0]

    def in_list(self, column: str, values: list) -> tuple[str, list]:
        """A ``column IN (...)`` condition and its parameters."""
        if self.sqlite:
            return f"{column} IN ({', '.join('?' * len(values))})", list(values)
        return f"{column} = ANY(?)", [list(values)]

    def date(self, iso: str | None):
        if iso is None or self.sqlite:
            return iso
        return date.fromisoformat(iso)

    def time(self, moment: datetime):
        if self.sqlite:
            return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        return moment


def iso_date(value) -> str | None:
    """A date column's value as ISO text, whichever backend returned it."""
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start:start + size]


__all__ = ["DriverSql", "iso_date", "chunks"]
