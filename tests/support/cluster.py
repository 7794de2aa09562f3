"""Several hub nodes and processors on one PostgreSQL behind HAProxy, for the multi-node tier (issue 22).

    cluster = HubCluster(pg_server, pki_dir=pki, base_dir=tmp, nodes=2, processors=2).start()
    cluster.balancer_url          # http://127.0.0.1:P (HAProxy, roundrobin over the nodes)
    cluster.node_url(0)           # one node directly
    cluster.kill_node(0)          # SIGKILL, as a crash would; start_node(0) brings it back on its port
    cluster.kill_processor(1)     # likewise for a `hie process` worker
    cluster.stop()                # everything (also at exit, as tests/support/chserver.py does)

The tier gets a fresh database on the suite's server, migrated once before any node starts. Each
node is ``hie serve --no-processor --etl-interval 0`` with ``node_workers`` workers (stateless: no
mart, no processor) and its own data directory holding a copy of the same PKI; each processor is
``hie process`` with its own data directory (its heartbeat). HAProxy checks each node's ``/healthz``
(a node without a processor reports it ``off``, not ``down``: ``HIE_PROCESSOR_EXPECTED=0``),
redispatches a request whose connection to a dead node failed and retries it; its statistics answer
on ``stats_url``. Every child runs in its own process group, so a kill takes nothing else with it,
and dies with the test process (a parent-death signal), so none is left behind even when that
process is killed.
"""
from __future__ import annotations

import atexit
import contextlib
import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

__all__ = ["HubCluster", "HAPROXY", "haproxy_available"]

ROOT = Path(__file__).resolve().parents[2]
HAPROXY = os.environ.get("HAPROXY_BIN", "/usr/sbin/haproxy")
HOST = "127.0.0.1"


def haproxy_available() -> bool:
    return os.access(HAPROXY, os.X_OK) or shutil.which("haproxy") is not None


def _haproxy() -> str:
    return HAPROXY if os.access(HAPROXY, os.X_OK) else shutil.which("haproxy") or HAPROXY


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def haproxy_config(*, port: int, stats_port: int, nodes: list[int]) -> str:
    """roundrobin over ``nodes`` (their ports), health-checked on ``/healthz`` every 300 ms."""
    servers = "\n".join(f"    server node{i} {HOST}:{p} check" for i, p in enumerate(nodes))
    return f"""global
    maxconn 512

defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 10s
    timeout check 2s
    # a request whose connection to a node failed goes to another node (a dead node refuses at once)
    retries 3
    option redispatch 1

frontend hub
    bind {HOST}:{port}
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 300ms fastinter 200ms downinter 500ms fall 2 rise 1
{servers}

frontend stats
    bind {HOST}:{stats_port}
    stats enable
    stats uri /stats
    stats refresh 0
"""


class _Child:
    """One process of the cluster: its argv, its log file, its process (None when not running)."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str]):
        self.name, self.argv, self.log, self.env = name, argv, log, env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        # killed with the test process even when it dies by SIGKILL (no atexit then): the kernel's
        # parent-death signal, set by setpriv, which then runs the child (the thread starting it must outlive it)
        setpriv = shutil.which("setpriv")
        argv = [setpriv, "--pdeathsig", "KILL", "--", *self.argv] if setpriv else self.argv
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(argv, env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to its whole process group; returns once it is reaped."""
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)

    def tail(self, lines: int = 25) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


class HubCluster:
    """N hub nodes and M processors on a fresh database of ``pg_server``, HAProxy in front (module docstring)."""

    def __init__(self, pg_server, *, pki_dir: Path, base_dir: Path, nodes: int = 2, processors: int = 2,
                 env: dict[str, str] | None = None, processing_batch: int = 0, node_workers: int = 1):
        self.pg_server, self.pki_dir, self.base_dir = pg_server, Path(pki_dir), Path(base_dir)
        self.database = f"tier_{uuid.uuid4().hex[:10]}"
        self.database_url = ""
        self.node_ports = [_free_port() for _ in range(nodes)]
        self.port, self.stats_port = _free_port(), _free_port()
        scrubbed = {k: v for k, v in os.environ.items() if not k.startswith("HIE_")}
        self.env = {**scrubbed, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
                    "HIE_PROCESSING_INTERVAL": "0.05", **(env or {})}
        if processing_batch:
            self.env["HIE_PROCESSING_BATCH"] = str(processing_batch)
        self.nodes: list[_Child] = []
        self.processors: list[_Child] = []
        self.balancer: _Child | None = None
        self._processor_count = processors
        self._node_workers = node_workers
        self._owner_pid: int | None = None

    # ------------------------------------------------------------------ addresses
    @property
    def balancer_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def stats_url(self) -> str:
        return f"http://{HOST}:{self.stats_port}/stats"

    def node_url(self, i: int) -> str:
        return f"http://{HOST}:{self.node_ports[i]}"

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 60.0) -> "HubCluster":
        from hub.store.db import make_engine, migrate

        self._owner_pid = os.getpid()
        atexit.register(self._atexit_stop)
        try:
            self.base_dir.mkdir(parents=True, exist_ok=True)
            self.database_url = self.pg_server.create_database(self.database)
            engine = make_engine(self.database_url)
            migrate(engine)  # once, before any node: the nodes then find nothing to migrate
            engine.dispose()
            python = [sys.executable, "-m", "hub.cli.main"]
            for i, port in enumerate(self.node_ports):
                data = self._data_dir(f"node{i}")
                self.nodes.append(_Child(f"node{i}", [*python, "serve", "--no-processor", "--data-dir", str(data),
                                                      "--database-url", self.database_url, "--port", str(port),
                                                      "--workers", str(self._node_workers), "--etl-interval", "0"],
                                         self.base_dir / f"node{i}.log", self.env))
            for j in range(self._processor_count):
                data = self._data_dir(f"processor{j}")
                self.processors.append(_Child(f"processor{j}", [*python, "process", "--data-dir", str(data),
                                                                "--database-url", self.database_url],
                                              self.base_dir / f"processor{j}.log", self.env))
            config = self.base_dir / "haproxy.cfg"
            config.write_text(haproxy_config(port=self.port, stats_port=self.stats_port, nodes=self.node_ports),
                              encoding="utf-8")
            self.balancer = _Child("haproxy", [_haproxy(), "-db", "-f", str(config)], self.base_dir / "haproxy.log",
                                   self.env)
            for child in [*self.nodes, *self.processors, self.balancer]:
                child.start()
            for i in range(len(self.nodes)):
                self.wait_node(i, timeout=timeout)
            self.wait_balanced(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _data_dir(self, name: str) -> Path:
        data = self.base_dir / name
        if not (data / "pki").exists():
            shutil.copytree(self.pki_dir, data / "pki")  # the same keys on every node
        return data

    def stop(self) -> None:
        """Every process (SIGKILL: nothing of theirs is kept), then the database and the directory."""
        with contextlib.suppress(Exception):
            atexit.unregister(self._atexit_stop)
        for child in [self.balancer, *self.nodes, *self.processors]:
            if child is not None:
                child.kill()
        if self.database_url:
            with contextlib.suppress(Exception):
                self.pg_server.drop_database(self.database)
            self.database_url = ""
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self._owner_pid = None

    def _atexit_stop(self) -> None:
        if self._owner_pid == os.getpid():  # a forked child must not stop the parent's cluster
            self.stop()

    def __enter__(self) -> "HubCluster":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # ------------------------------------------------------------------ crashes and restarts
    def kill_node(self, i: int) -> None:
        self.nodes[i].kill()

    def start_node(self, i: int, *, wait: bool = True) -> None:
        if not self.nodes[i].running:
            self.nodes[i].start()
        if wait:
            self.wait_node(i)

    def kill_processor(self, j: int) -> None:
        self.processors[j].kill()

    def start_processor(self, j: int) -> None:
        if not self.processors[j].running:
            self.processors[j].start()

    # ------------------------------------------------------------------ waiting and reading
    def wait_node(self, i: int, timeout: float = 60.0) -> None:
        """Until node ``i`` answers ``/healthz`` with 200 (its log tail in the error otherwise)."""
        node = self.nodes[i]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not node.running:
                raise RuntimeError(f"{node.name} exited during start-up:\n{node.tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.node_url(i)}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{node.name} not healthy after {timeout:g} s:\n{node.tail()}")

    def wait_balanced(self, timeout: float = 30.0) -> None:
        """Until HAProxy sees every running node up."""
        deadline = time.monotonic() + timeout
        expected = {f"node{i}" for i, node in enumerate(self.nodes) if node.running}
        while time.monotonic() < deadline:
            if self.balancer is None or not self.balancer.running:
                raise RuntimeError(f"haproxy exited:\n{self.balancer.tail() if self.balancer else ''}")
            with contextlib.suppress(requests.RequestException, KeyError):
                if {name for name, row in self.balancer_stats().items() if row["status"] == "UP"} >= expected:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"haproxy does not see the nodes up after {timeout:g} s")

    def balancer_stats(self) -> dict[str, dict[str, str]]:
        """HAProxy's statistics of each node (``status``, ``stot`` requests sent to it, …)."""
        text = requests.get(f"{self.stats_url};csv", timeout=5).text.lstrip("# ")
        return {row["svname"]: row for row in csv.DictReader(io.StringIO(text))
                if row["pxname"] == "nodes" and row["svname"].startswith("node")}

    def logs(self) -> str:
        """The tail of every child's log (for a failing test's message)."""
        children = [*self.nodes, *self.processors, *([self.balancer] if self.balancer else [])]
        return "\n".join(f"--- {child.name} ---\n{child.tail()}" for child in children)
