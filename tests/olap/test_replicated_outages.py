"""The replicated mart when the cluster itself cannot serve: a whole shard down, ZooKeeper away. A cube
query answers ``olap.unavailable`` (retryable, 503) for a BackendUnavailable and a plain failure for a
QueryError, so the class decides what a member and an operator see: these are the cluster's state, not
the statement's fault, and say so in one line of their own."""
from __future__ import annotations

import os
import signal
import threading
import time
from datetime import date

import pytest

from olap import apply_schema
from olap.dimensions import date_dimension, load_dimension
from olap.errors import BackendUnavailable

from .samples import visits
from .test_distributed import CUBE

pytestmark = [pytest.mark.clickhouse, pytest.mark.replicated, pytest.mark.slow]


def _loaded(backend) -> None:
    apply_schema(backend)
    load_dimension(backend, "dim_date", date_dimension(date(2024, 1, 1), date(2024, 12, 31)), version=1)
    backend.insert_df("fact_outpatient_visit", visits(range(1, 201)))


def test_a_whole_shard_down_is_a_retryable_unavailable_mart_in_one_line(replicated_olap, ch_replicated):
    """Both replicas of shard 2 down: the query is refused (not answered with shard 1's half), as the
    mart being unavailable, with the engine's code and none of its internals."""
    _loaded(replicated_olap)
    for replica in (1, 2):
        ch_replicated.replica(2, replica).kill()
    with pytest.raises(BackendUnavailable) as raised:
        replicated_olap.query_df(CUBE)
    error = raised.value
    assert error.code == "olap.cluster.unavailable" and error.fields["engine_code"] == 279
    assert "\n" not in str(error) and "127.0.0.1" not in error.detail and "DB::" not in error.detail


def _writable_again(backend, cluster, timeout: float = 40.0) -> None:
    """Wait until every replica has a ZooKeeper session again (no table read-only), so that the fixture
    can drop the test's database."""
    deadline = time.monotonic() + timeout
    sql = f"SELECT count() FROM system.replicas WHERE database = '{backend.database}' AND is_readonly"
    while time.monotonic() < deadline:
        try:
            if all(server.query(sql).strip() == "0" for server in cluster.servers):
                return
        except Exception:  # noqa: BLE001 - not yet
            pass
        time.sleep(0.5)


def test_a_load_while_zookeeper_is_away_fails_fast_as_unavailable(replicated_olap, ch_replicated, zookeeper):
    """ZooKeeper paused (its clients' sessions expire after 2 s): the replicated tables turn read-only.
    An ETL batch fails within seconds as the mart being unavailable (the run is recorded as failed and
    loads the same window next time), neither as a failed query nor by hanging."""
    _loaded(replicated_olap)
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            replicated_olap.insert_df("fact_outpatient_visit", visits(range(201, 301)))
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - judged below
            outcome.append(exc)

    os.kill(zookeeper._process.pid, signal.SIGSTOP)
    try:
        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        loader.join(25)
    finally:
        os.kill(zookeeper._process.pid, signal.SIGCONT)
        _writable_again(replicated_olap, ch_replicated)
    assert outcome, "the load still hangs 25 s after ZooKeeper went away"
    error = outcome[0]
    assert error is not None, "the load reported success while ZooKeeper was away"
    assert isinstance(error, BackendUnavailable), f"{type(error).__name__} {getattr(error, 'code', '')}: {error}"
    assert error.code == "olap.cluster.unavailable" and "\n" not in str(error)
