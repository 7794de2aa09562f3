"""A ClickHouse server killed in the middle of an ETL run: the run fails with ``olap.unavailable`` naming
the server (the command line's one line), it is recorded as failed, and nothing talks of chDB."""
from __future__ import annotations

import pytest

from etl import jobs
from etl.facts import FACT_TABLES
from etl.transform import Pseudonymizer
from hub.cli.errors import HubGroup
from hub.store.db import session_factory
from olap import ServerBackend
from olap.errors import BackendUnavailable
from olap.schema.migrate import apply_schema
from tests.support.chserver import ClickhouseServer
from tests.support.documents import document
from tests.support.inbox import Store
from tests.support.migrated import migrated_engine


@pytest.mark.clickhouse
def test_a_server_killed_during_a_run_fails_it_in_one_line(request, tmp_path):
    if not ClickhouseServer.available():
        pytest.skip("clickhouse-server not found (install it with scripts/install-system-packages.sh)")
    engine = migrated_engine(request, f"sqlite:///{tmp_path / 'hub.db'}")
    store = Store(session_factory(engine))
    store.deliver(document("OutpatientVisit", document_id="V-1"), document("LabReport", document_id="L-1"))
    store.process()
    with ClickhouseServer() as server:  # its own server: the session's is shared by other tests
        mart = ServerBackend(server.host, server.tcp_port, database="mart")
        apply_schema(mart)
        written = []

        def kill_after_the_first_fact(fact, count):
            written.append(fact)
            if len(written) == 1:
                server.kill()

        with pytest.raises(BackendUnavailable) as failed:
            jobs.run_incremental(store.sessions, mart, Pseudonymizer(b"k" * 32), progress=kill_after_the_first_fact)
        mart.close()
    assert 1 <= len(written) < len(FACT_TABLES)  # it died mid-run: the first fact was in, others not
    assert failed.value.code == "olap.server.unreachable"
    line = HubGroup(name="hie").describe(failed.value)
    assert line == f"olap.unavailable: ClickHouse server at 127.0.0.1:{server_port(failed.value)} not reachable"
    runs = jobs.status(store.sessions)["runs"]
    assert [run["status"] for run in runs] == ["failed"]
    engine.dispose()


def server_port(error: BackendUnavailable) -> str:
    return error.fields["address"].rpartition(":")[2]
