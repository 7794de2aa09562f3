"""0009 gives the audit trail a ``detail`` column and moves into it what cube exports and MPI events
had written into ``message_id`` (a cube and a format, an internal merge id), on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import text

from hub.store.db import downgrade, make_engine, migrate

_AT = "2026-01-02 03:04:05"
_ROWS = [  # (event_type, message_id) as a hub on schema 0008 wrote them
    ("cube.export", "visits.xlsx"),
    ("mpi.merge", "mpi_merge:7"),
    ("mpi.review.accept", "mpi_review:3"),
    ("message.accept", "urn:uuid:0b7c"),  # a MessageID: stays where it is
    ("request.reject", "urn:uuid:1d2e"),
]


def _read(engine) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            text("SELECT event_type, message_id, detail FROM audit_event ORDER BY id"))]


def test_0009_moves_exports_and_mpi_references_to_detail_and_back(db_url):
    engine = make_engine(db_url)
    try:
        migrate(engine, "0008")
        with engine.begin() as connection:
            for event_type, message_id in _ROWS:
                connection.execute(text("INSERT INTO audit_event (at, event_type, outcome, message_id) "
                                        f"VALUES ('{_AT}', :kind, 'success', :id)"),
                                   {"kind": event_type, "id": message_id})
        migrate(engine, "0009")
        assert _read(engine) == [("cube.export", None, "visits.xlsx"), ("mpi.merge", None, "mpi_merge:7"),
                                 ("mpi.review.accept", None, "mpi_review:3"),
                                 ("message.accept", "urn:uuid:0b7c", None), ("request.reject", "urn:uuid:1d2e", None)]
        downgrade(engine, "0008")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT event_type, message_id FROM audit_event ORDER BY id")).all()
        assert [tuple(row) for row in rows] == _ROWS
    finally:
        engine.dispose()
