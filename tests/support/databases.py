"""Fresh empty databases for fixtures parametrized over ``sqlite`` and ``postgresql``."""
from __future__ import annotations

import uuid

from .pgpool import drop_later, take


def empty_database(request, tmp_path, name: str):
    """Yield the URL of a fresh empty database named after ``name`` on the backend of ``request.param``
    (``sqlite``: a file in tmp_path; ``postgresql``: a database on the suite's server, dropped after, in the
    background)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/{name}.db"
        return
    server = request.getfixturevalue("pg_server")
    database = f"{name}_{uuid.uuid4().hex[:12]}"
    url = take(server, database)  # a spare made ahead of time (tests/support/pgpool.py)
    try:
        yield url
    finally:
        drop_later(server, database)  # while the next test runs (tests/support/pgpool.py)
