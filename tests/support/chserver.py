"""Throwaway ClickHouse servers for the test session: one, or several as the shards of a cluster.

    server = ClickhouseServer()
    server.start()                 # 127.0.0.1, free tcp/http/interserver ports, own temp dir
    server.tcp_port                # for clickhouse-driver
    server.stop()                  # SIGTERM (SIGKILL after 15 s), then the directory is deleted

Several, as the shards (and replicas) of a cluster: tests/support/chcluster.py.

Debian ships the server as ``/usr/sbin/clickhouse-server`` (18.16); newer packages ship one
``clickhouse`` binary run as ``clickhouse server``. ``CLICKHOUSE_SERVER_BIN`` overrides the search.
The generated config listens on 127.0.0.1 only, logs to the temp dir, uses UTC and a small mark
cache, and has one password-less ``default`` user allowed from 127.0.0.1 only.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from xml.sax.saxutils import escape

from .servers import HOST, Launched, free_port, terminate

__all__ = ["ClickhouseServer", "ClickhouseServerError", "find_server_command"]



class ClickhouseServerError(RuntimeError):
    """The throwaway server could not be found, started or used."""


def find_server_command() -> list[str] | None:
    """argv prefix that runs a ClickHouse server, or None when none is installed."""
    override = os.environ.get("CLICKHOUSE_SERVER_BIN")
    if override:
        return [override]
    for name in ("clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"):
        found = shutil.which(name)
        if found:
            return [found]
    single = shutil.which("clickhouse")
    return [single, "server"] if single else None


def _remote_servers_xml(clusters: dict[str, list[list[int]]]) -> str:
    """<remote_servers>: each cluster is a list of shards, each a list of its replicas' tcp ports on
    127.0.0.1. A shard of several replicas has internal_replication: a Distributed insert writes one
    replica and ReplicatedMergeTree copies it to the others."""
    parts = []
    for name, shards in clusters.items():
        body = "".join(
            "<shard>" + ("<internal_replication>true</internal_replication>" if len(ports) > 1 else "")
            + "".join(f"<replica><host>{HOST}</host><port>{port}</port></replica>" for port in ports) + "</shard>"
            for ports in shards)
        parts.append(f"<{name}>{body}</{name}>")
    return f"<remote_servers>{''.join(parts)}</remote_servers>"


def _coordination_xml(zookeeper: tuple[str, int] | None, macros: dict[str, str]) -> str:
    """<zookeeper> and <macros> (``{shard}``, ``{replica}`` in ReplicatedMergeTree paths) when replicated."""
    text = ""
    if zookeeper is not None:
        text += (f"<zookeeper><node><host>{zookeeper[0]}</host><port>{zookeeper[1]}</port></node>"
                 "<session_timeout_ms>2000</session_timeout_ms></zookeeper>")
    if macros:
        text += "<macros>" + "".join(f"<{key}>{escape(value)}</{key}>" for key, value in macros.items()) + "</macros>"
    return text


class ClickhouseServer(Launched):
    """One throwaway ClickHouse server on 127.0.0.1 (see module docstring)."""

    host = HOST

    def __init__(self, *, start_timeout: float = 30.0, base_dir: str | os.PathLike[str] | None = None,
                 max_memory_usage: int = 2_000_000_000) -> None:
        self.start_timeout = start_timeout
        self.max_memory_usage = int(max_memory_usage)  # per query: small for tests, larger for benchmarks
        self._base_parent = base_dir
        self.base_dir: Path | None = None
        self.tcp_port: int | None = None
        self.http_port: int | None = None
        self.interserver_port: int | None = None
        self.clusters: dict[str, list[list[int]]] = {}
        self.zookeeper: tuple[str, int] | None = None
        self.macros: dict[str, str] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._owner_pid: int | None = None

    @staticmethod
    def available() -> bool:
        """True when a ClickHouse server binary is installed."""
        return find_server_command() is not None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_file(self) -> Path:
        if self.base_dir is None:
            raise ClickhouseServerError("server not started")
        return self.base_dir / "server.log"

    def reserve_ports(self) -> None:
        """Pick the ports now, so that a cluster's config can name them before any server starts."""
        if self.tcp_port is None:
            self.tcp_port, self.http_port, self.interserver_port = free_port(), free_port(), free_port()

    # ------------------------------------------------------------- lifecycle
    def start(self) -> "ClickhouseServer":
        if self.running:
            return self
        command = find_server_command()
        if command is None:
            raise ClickhouseServerError("no ClickHouse server binary; run scripts/install-system-packages.sh")
        if self.base_dir is None:  # else: started again after ``halt``, on its data and ports
            self.base_dir = Path(tempfile.mkdtemp(prefix="hie-ch-", dir=self._base_parent))
        self._owner_pid = os.getpid()
        atexit.register(self._atexit_stop)
        attempts = 1 if self.clusters else 3  # a cluster's peers already name these ports
        try:
            while True:
                attempts -= 1
                self.reserve_ports()
                config = self._write_config()
                with open(self.base_dir / "stdout.log", "ab") as out:
                    self._process = subprocess.Popen(
                        [*command, f"--config-file={config}"], cwd=self.base_dir, stdin=subprocess.DEVNULL,
                        stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
                if self._wait_ready():
                    return self
                if attempts <= 0 or "Address already in use" not in self._log_tail():
                    raise ClickhouseServerError(f"ClickHouse server did not start{self._log_tail()}")
                # Someone took a port between probe and bind: new ports, try again.
                self._terminate()
                self.tcp_port = None
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        with contextlib.suppress(Exception):
            atexit.unregister(self._atexit_stop)
        self._terminate()
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = None
        self.tcp_port = self.http_port = self.interserver_port = None
        self._owner_pid = None

    def halt(self) -> None:
        """Stop the server (SIGTERM) and keep its directory and ports: ``start`` brings it back as it was."""
        self._terminate()

    def kill(self) -> None:
        """SIGKILL the server, as a crash would (its directory is kept; ``stop`` deletes it)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)

    # ------------------------------------------------------------------ admin
    def query(self, sql: str) -> str:
        """Run one statement over HTTP (admin use: create/drop databases); returns the text answer."""
        url = f"http://{self.host}:{self.http_port}/"
        request = urllib.request.Request(url, data=sql.encode("utf-8"), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace").split("Stack trace")[0]
            raise ClickhouseServerError(f"{sql}: {detail.strip()}") from None

    # -------------------------------------------------------------- internals
    def _write_config(self) -> Path:
        assert self.base_dir is not None
        data = self.base_dir / "data"
        (data / "tmp").mkdir(parents=True, exist_ok=True)
        config = f"""<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{escape(str(self.log_file))}</log>
    <errorlog>{escape(str(self.base_dir / "server.err.log"))}</errorlog><console>0</console></logger>
  <listen_host>{HOST}</listen_host>
  <tcp_port>{self.tcp_port}</tcp_port>
  <http_port>{self.http_port}</http_port>
  <interserver_http_port>{self.interserver_port}</interserver_http_port>
  <interserver_http_host>{HOST}</interserver_http_host>
  <path>{escape(str(data))}/</path>
  <tmp_path>{escape(str(data / "tmp"))}/</tmp_path>
  <user_files_path>{escape(str(data / "user_files"))}/</user_files_path>
  <format_schema_path>{escape(str(data / "format_schemas"))}/</format_schema_path>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <timezone>UTC</timezone>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  {_remote_servers_xml(self.clusters)}
  {_coordination_xml(self.zookeeper, self.macros)}
</yandex>
"""
        users = f"""<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>{self.max_memory_usage}</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>{HOST}</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
"""
        (self.base_dir / "users.xml").write_text(users, encoding="utf-8")
        path = self.base_dir / "config.xml"
        path.write_text(config, encoding="utf-8")
        return path

    def _wait_ready(self) -> bool:
        """Poll /ping until the server answers; False when the process died (e.g. port taken)."""
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"http://{self.host}:{self.http_port}/ping", timeout=1) as response:
                    if response.read().strip() == b"Ok.":
                        with socket.create_connection((self.host, self.tcp_port), timeout=1):
                            return True
            except OSError:
                pass
            time.sleep(0.05)
        raise ClickhouseServerError(f"ClickHouse server not ready after {self.start_timeout} s{self._log_tail()}")

    def _terminate(self) -> None:
        process, self._process = self._process, None
        terminate(process, timeout=15)

    def _log_tail(self, lines: int = 20) -> str:
        texts = []
        for name in ("stdout.log", "server.err.log"):
            with contextlib.suppress(OSError, TypeError):
                texts.append((self.base_dir / name).read_text(errors="replace"))  # type: ignore[operator]
        tail = "\n".join("\n".join(texts).splitlines()[-lines:])
        return f"\n--- server log (tail) ---\n{tail}" if tail else ""

    def _atexit_stop(self) -> None:
        # A forked child must not stop the parent's server.
        if self._owner_pid == os.getpid():
            self.stop()

    def __repr__(self) -> str:
        state = f"tcp={self.tcp_port}" if self.running else "stopped"
        return f"<ClickhouseServer {state} dir={self.base_dir}>"
