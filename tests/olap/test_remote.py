"""The mart of another process (olap.remote): frames and errors cross the channel unchanged, and an
owner that is gone, silent or holding another key is ``BackendUnavailable`` at once, not a hang.

The owner here is a :class:`MartServer` thread over the session's chDB backend (chDB allows one
directory per process); the client speaks to it through the real Unix socket and key files.
"""
from __future__ import annotations

import threading
import time
from multiprocessing.connection import Listener

import pandas as pd
import pytest

from olap.errors import BackendUnavailable, ParameterError, QueryError
from olap.remote import Channel, MartServer, RemoteBackend
from olap.schema import apply_schema, current_version

# the owner's threads end cleanly: an exception in one fails the test
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
TYPED = ("SELECT toUInt64(number) AS n, toInt32(number) - 2 AS signed, toString(number) AS s, "
         "toDate('2026-01-01') + number AS d, toDateTime('2026-01-01 08:00:00', 'UTC') + number AS t, "
         "if(number % 2 = 1, NULL, number) AS maybe, [toString(number), '区'] AS codes, number / 7 AS ratio, "
         "toDecimal64(number / 3, 4) AS money FROM numbers({rows:UInt32})")


@pytest.fixture
def owner(chdb_olap, tmp_path):
    server = MartServer(chdb_olap, Channel(tmp_path)).start()
    yield server
    server.stop()


@pytest.fixture
def remote(owner):
    client = RemoteBackend(owner.channel, timeout=10)
    yield client
    client.close()


@pytest.mark.parametrize("rows", [0, 1, 5])
def test_frames_arrive_exactly_as_the_owner_read_them(owner, remote, rows):
    direct = owner.backend.query_df(TYPED, {"rows": rows})
    through = remote.query_df(TYPED, {"rows": rows})
    pd.testing.assert_frame_equal(through, direct, check_exact=True)
    assert list(through.dtypes) == list(direct.dtypes)
    small = remote.query_df("SELECT count() AS c FROM numbers(10)", small=True)
    assert int(small["c"].iloc[0]) == 10


def test_schema_inserts_and_statements_go_through_the_owner(owner, remote):
    apply_schema(remote)  # DDL, describe (database), version (capabilities), table names
    assert current_version(owner.backend) == current_version(remote) > 0
    assert remote.database == owner.backend.database and remote.cluster is None
    remote.execute("CREATE TABLE IF NOT EXISTS remote_probe (k UInt32, v String) ENGINE = MergeTree ORDER BY k")
    frame = pd.DataFrame({"k": pd.Series([1, 2, 3], dtype="uint32"), "v": ["甲", "乙", ""]})
    assert remote.insert_df("remote_probe", frame) == 3
    stored = owner.backend.query_df("SELECT k, v FROM remote_probe ORDER BY k")
    pd.testing.assert_frame_equal(stored, frame)


def test_the_owners_errors_arrive_with_their_class_and_code(owner, remote):
    with pytest.raises(QueryError) as direct:
        owner.backend.query_df("SELECT no_such_column FROM numbers(1)")
    with pytest.raises(QueryError) as through:
        remote.query_df("SELECT no_such_column FROM numbers(1)")
    assert through.value.code == direct.value.code == "olap.query.failed"
    assert through.value.fields == direct.value.fields and through.value.fields["engine_code"]
    with pytest.raises(ParameterError) as missing:
        remote.query_df("SELECT {absent:UInt8} AS x")
    assert missing.value.code.startswith("olap.param")
    assert remote.query_df("SELECT 1 AS one")["one"].iloc[0] == 1  # the connection is still good


def test_a_stopped_owner_is_unavailable_at_once_and_a_new_one_is_used_again(owner, remote):
    assert remote.query_df("SELECT 1 AS one")["one"].iloc[0] == 1  # a kept connection now
    owner.stop()
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as gone:
        remote.execute("CREATE TABLE after_stop (k UInt8) ENGINE = Memory")
    assert gone.value.code == "olap.owner.unavailable" and time.monotonic() - started < 2
    assert "after_stop" not in owner.backend.table_names()  # a stopped owner runs nothing more
    again = MartServer(owner.backend, owner.channel).start()
    try:
        assert remote.query_df("SELECT 2 AS two")["two"].iloc[0] == 2
    finally:
        again.stop()


def test_a_client_without_the_owners_key_is_refused(owner, remote):
    for path in (owner.channel.socket_path, owner.channel.key_path):
        assert path.stat().st_mode & 0o077 == 0, path  # the hub's user only
    assert remote.version() == owner.backend.version()
    remote.close()
    key = owner.channel.key_path.read_bytes()
    owner.channel.key_path.write_bytes(b"x" * 32)
    try:
        with pytest.raises(BackendUnavailable) as refused:
            remote.query_df("SELECT 1 AS one")
        assert refused.value.code == "olap.owner.refused"
    finally:
        owner.channel.key_path.write_bytes(key)
    assert remote.query_df("SELECT 1 AS one")["one"].iloc[0] == 1


def test_only_calls_of_the_backend_contract_are_answered(owner, remote):
    with pytest.raises(Exception) as refused:
        remote._call("drop_database")
    assert getattr(refused.value, "code", "") == "olap.owner.request"
    assert owner.backend.query_df("SELECT 1 AS one")["one"].iloc[0] == 1


def test_a_silent_owner_times_out(tmp_path):
    channel = Channel(tmp_path)
    channel.create_authkey()
    listener = Listener(channel.address, family="AF_UNIX")
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    client = RemoteBackend(channel, timeout=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(BackendUnavailable) as silent:
            client.version()
        assert silent.value.code == "olap.owner.timeout" and time.monotonic() - started < 3
    finally:
        listener.close()
    with pytest.raises(BackendUnavailable) as nobody:
        RemoteBackend(Channel(tmp_path / "no-owner"), timeout=0.5).version()
    assert nobody.value.code == "olap.owner.unavailable"


def test_a_data_directory_too_deep_for_a_unix_socket_path_still_works(chdb_olap, tmp_path):
    channel = Channel(tmp_path / ("d" * 60) / ("e" * 60))
    assert channel.address.startswith("\0")  # an abstract socket, named after the path
    server = MartServer(chdb_olap, channel).start()
    client = RemoteBackend(channel, timeout=10)
    try:
        assert client.query_df("SELECT 3 AS three")["three"].iloc[0] == 3
        assert oct(channel.key_path.stat().st_mode & 0o777) == "0o600"
    finally:
        client.close()
        server.stop()
