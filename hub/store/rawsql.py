"""Plain SQL on the session's own connection, for the few hot writes (inbox, audit, outbox).

SQLAlchemy Core costs about a millisecond of Python per request on the intake path; these
statements are fixed, so they are written once for both backends and run through the driver.
Values must be what the ORM columns store: UTC datetimes are written the way SQLAlchemy's
SQLite dialect writes them (naive ISO text) and as aware timestamps on PostgreSQL.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.orm import Session


class RawSql:
    """Driver-level execution bound to a session's transaction."""

    def __init__(self, session: Session):
        self.connection = session.connection()
        self.sqlite = self.connection.dialect.name == "sqlite"
        # The driver's own cursor, in the session's transaction: SQLAlchemy's per-statement
        # bookkeeping (~100 µs) is most of the cost of a small insert.
        self.cursor = self.connection.connection.dbapi_connection.cursor()

    def _sql(self, sql: str) -> str:
        return sql if self.sqlite else sql.replace("?", "%s")

    def time(self, moment: datetime):
        if self.sqlite:
            return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        return moment

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        return list(self.connection.exec_driver_sql(self._sql(sql), params))

    def insert_returning(self, sql: str, params: tuple):
        self.cursor.execute(self._sql(sql), params)
        return self.cursor.fetchone()[0]

    def many(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            self.cursor.executemany(self._sql(sql), rows)


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


__all__ = ["RawSql", "placeholders"]
