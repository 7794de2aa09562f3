"""Plain SQL on the session's own connection, for the hot paths (intake, normalization, MPI).

SQLAlchemy Core costs tens of microseconds of Python per statement (about a millisecond per
request on the intake path); these statements are fixed, so they are written once with ``?``
placeholders for both backends (rewritten for psycopg) and run straight on the driver's cursor,
inside the session's transaction. Values must be what the ORM columns store: on SQLite, dates as
ISO text and UTC datetimes as naive ISO text (the way SQLAlchemy's SQLite dialect writes them);
on PostgreSQL, dates and aware timestamps. Driver errors are raised as SQLAlchemy's (an
``IntegrityError`` is an ``IntegrityError`` whichever way the statement was sent), with the
parameters hidden.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


@lru_cache(maxsize=512)
def _for_psycopg(sql: str) -> str:
    return sql.replace("?", "%s")


class RawSql:
    """A DB-API cursor bound to the session's current transaction.

    ``flush=True`` first sends the session's pending ORM writes, so these statements see them.
    """

    def __init__(self, session: Session, *, flush: bool = False):
        if flush:
            session.flush()
        connection = session.connection()
        self._bind(connection.dialect, connection.connection.driver_connection)

    @classmethod
    def on_driver(cls, dialect, driver_connection) -> "RawSql":
        """Statements on a DB-API connection the caller owns (and commits) itself."""
        sql = cls.__new__(cls)
        sql._bind(dialect, driver_connection)
        return sql

    def _bind(self, dialect, driver_connection) -> None:
        self.dialect = dialect
        self.sqlite = dialect.name == "sqlite"
        self.cursor = driver_connection.cursor()
        self._errors = dialect.loaded_dbapi.Error

    def _sql(self, sql: str) -> str:
        return sql if self.sqlite else _for_psycopg(sql)

    def _failed(self, sql: str, exc: Exception) -> Exception:
        return DBAPIError.instance(sql, None, exc, self._errors, hide_parameters=True, dialect=self.dialect)

    def rows(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        try:
            self.cursor.execute(self._sql(sql), params)
            return self.cursor.fetchall()
        except self._errors as exc:
            raise self._failed(sql, exc) from None

    def execute(self, sql: str, params: tuple | list = ()) -> None:
        try:
            self.cursor.execute(self._sql(sql), params)
        except self._errors as exc:
            raise self._failed(sql, exc) from None

    def many(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            try:
                self.cursor.executemany(self._sql(sql), rows)
            except self._errors as exc:
                raise self._failed(sql, exc) from None

    def insert_id(self, sql: str, params: tuple | list) -> int:
        """Run a one-row ``INSERT`` (written without ``RETURNING``) and return the new row's id.

        On SQLite the cursor's ``lastrowid``: ``RETURNING`` makes SQLite stage the row in a
        temporary table, which costs as much again as the insert itself.
        """
        try:
            if self.sqlite:
                self.cursor.execute(sql, params)
                return self.cursor.lastrowid
            self.cursor.execute(_for_psycopg(sql + " RETURNING id"), params)
            return self.cursor.fetchone()[0]
        except self._errors as exc:
            raise self._failed(sql, exc) from None

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


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


def iso_date(value) -> str | None:
    """A date column's value as ISO text, whichever backend returned it."""
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start:start + size]


__all__ = ["RawSql", "placeholders", "iso_date", "chunks"]
