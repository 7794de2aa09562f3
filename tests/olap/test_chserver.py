"""The throwaway ClickHouse server fixture itself (tests/support/chserver.py)."""
from __future__ import annotations

import socket

import pytest

try:
    from support.chserver import ClickhouseServer
except ImportError:
    from tests.support.chserver import ClickhouseServer

pytestmark = pytest.mark.clickhouse


def test_session_server_listens_on_loopback_with_utc(ch_server):
    assert ch_server.running and ch_server.host == "127.0.0.1"
    assert ch_server.query("SELECT timezone()").strip() in ("UTC", "Etc/UTC")  # 18.16 shows the alias
    assert ch_server.query("SELECT 1").strip() == "1"


def test_cluster_servers_know_each_other(ch_cluster):
    first, second = ch_cluster.servers
    shards = first.query("SELECT port FROM system.clusters WHERE cluster = 'mart_cluster' ORDER BY shard_num")
    assert [int(port) for port in shards.split()] == [first.tcp_port, second.tcp_port]


def test_stop_removes_everything(ch_server):
    # ch_server only for its skip / CI-fail behaviour; this starts a second server.
    with ClickhouseServer() as server:
        base, port = server.base_dir, server.tcp_port
        assert port != ch_server.tcp_port and (base / "config.xml").is_file()
    assert not base.exists() and server.tcp_port is None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
