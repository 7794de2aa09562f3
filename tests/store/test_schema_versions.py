"""Nodes of two code versions on one PostgreSQL, as in a rolling upgrade: a schema migrated by a newer
release is refused in one line with a code (``store.schema.newer``), never half-read; a command that only
reads never upgrades the shared schema under running nodes; nodes started at once on a new database take
turns to migrate (hub/store/db.py)."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from hub.store.db import downgrade, make_engine, migrate
from tests.support.cluster import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
NEWER = "9999_from_the_next_release"


@pytest.fixture(scope="module")
def newer_schema(pg_server):
    """A migrated database whose revision is one the code here does not have (a newer node migrated it)."""
    name = "newer_schema"
    url = pg_server.create_database(name)
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as db:
        db.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": NEWER})
    engine.dispose()
    yield url
    pg_server.drop_database(name)


@pytest.mark.parametrize("argv", [["messages"], ["etl", "status"]], ids=["messages", "etl-status"])
def test_an_older_hie_on_a_newer_schema_says_so_in_one_line(newer_schema, tmp_path, argv):
    run = subprocess.run([sys.executable, "-m", "hub.cli.main", *argv, "--data-dir", str(tmp_path),
                          "--database-url", newer_schema], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    output = (run.stdout + run.stderr).strip()
    assert run.returncode != 0
    assert "Traceback" not in output and len(output.splitlines()) <= 2
    assert "store.schema.newer" in output, (
        f"`hie {' '.join(argv)}` on a schema newer than its code answers {output[-160:]!r}: no code or word "
        f"saying the database was migrated by a newer release")


@pytest.fixture
def older_schema(pg_server):
    """A database one revision short of this code's head (the nodes still run the release before)."""
    name = "older_schema"
    url = pg_server.create_database(name)
    engine = make_engine(url)
    migrate(engine)
    downgrade(engine, "-1")
    with engine.connect() as db:
        revision = db.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    yield url, revision
    pg_server.drop_database(name)


def test_a_read_only_operator_command_does_not_upgrade_the_shared_schema(older_schema, tmp_path):
    """An operator's newer ``hie messages`` (only reading the inbox) must not migrate the database under
    the running nodes of the older release; the upgrade is the deliberate step of docs/operations.md."""
    url, before = older_schema
    subprocess.run([sys.executable, "-m", "hub.cli.main", "messages", "--data-dir", str(tmp_path),
                    "--database-url", url], cwd=ROOT, capture_output=True, text=True, timeout=60,
                   env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    engine = make_engine(url)
    with engine.connect() as db:
        after = db.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert after == before, f"`hie messages` upgraded the shared schema from {before} to {after}"


MIGRATE_AT_THE_SIGNAL = """
import os, sys, time
from hub.store.db import make_engine, migrate
engine = make_engine(sys.argv[1])
while not os.path.exists(sys.argv[2]):
    time.sleep(0.005)
migrate(engine)
"""


def test_two_nodes_started_at_once_on_a_new_database_both_come_up(pg_server, tmp_path):
    """What an orchestrator does at install or after a power cut: every node's ``hie serve`` at once, each
    migrating first. alembic's upgrade takes no lock on PostgreSQL, so both run the same migrations."""
    name = "fresh_schema"
    url = pg_server.create_database(name)
    signal = tmp_path / "go"
    try:
        runs = [subprocess.Popen([sys.executable, "-c", MIGRATE_AT_THE_SIGNAL, url, str(signal)], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}) for _ in range(2)]
        time.sleep(3)  # both have imported and wait
        signal.touch()
        outputs = [run.communicate(timeout=60)[0] for run in runs]
        failed = [next((line for line in reversed(out.splitlines()) if "Error" in line), out[-200:])[:200]
                  for run, out in zip(runs, outputs) if run.returncode]
        assert not failed, f"{len(failed)} of 2 nodes starting at once failed to migrate: {failed}"
    finally:
        pg_server.drop_database(name)
