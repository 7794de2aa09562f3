"""A throwaway ZooKeeper for the test session: the coordination a replicated ClickHouse 18.16 needs.

    zk = ZookeeperServer()
    zk.start()                     # standalone, 127.0.0.1, a free port, its own temp dir
    zk.port                        # for ClickHouse's <zookeeper><node>
    zk.stop()                      # SIGTERM (SIGKILL after 10 s), then the directory is deleted

Debian's ``zookeeper`` package (3.8) puts its jars under /usr/share/java; the server is run as
``java -cp … org.apache.zookeeper.server.ZooKeeperServerMain zoo.cfg`` (what ``zkServer.sh
start-foreground`` does for a standalone config, without its reading /etc/zookeeper).
``ZOOKEEPER_JARS`` overrides the jar directory. Debian's ClickHouse 18.16 has no ClickHouse Keeper.
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
from pathlib import Path

from .servers import HOST, Launched, free_port, start_on_free_ports, terminate

__all__ = ["ZookeeperServer", "ZookeeperError"]

# The server and what it loads at start (netty is only needed for its optional TLS transport, but
# the classes are referenced from the server's connection factory); slf4j-nop: no log4j config.
_JARS = ("zookeeper", "zookeeper-jute", "slf4j-api", "slf4j-nop", "netty-handler", "netty-common",
         "netty-buffer", "netty-transport", "netty-codec", "netty-resolver", "netty-transport-native-epoll",
         "netty-transport-native-unix-common", "metrics-core", "snappy-java", "commons-cli")


class ZookeeperError(RuntimeError):
    """The throwaway ZooKeeper could not be found or started."""


def _jar_dir() -> Path:
    return Path(os.environ.get("ZOOKEEPER_JARS", "/usr/share/java"))


class ZookeeperServer(Launched):
    """One standalone ZooKeeper on 127.0.0.1 (see module docstring)."""

    host = HOST

    def __init__(self, *, start_timeout: float = 30.0) -> None:
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.base_dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._owner_pid: int | None = None

    @staticmethod
    def available() -> bool:
        """True when java and the ZooKeeper jars are installed."""
        return shutil.which("java") is not None and (_jar_dir() / "zookeeper.jar").exists()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> "ZookeeperServer":
        return start_on_free_ports(self._start, ZookeeperError)

    def _start(self) -> "ZookeeperServer":
        if self.running:
            return self
        java = shutil.which("java")
        if java is None or not self.available():
            raise ZookeeperError("no java or ZooKeeper jars; run scripts/install-system-packages.sh")
        self.base_dir = Path(tempfile.mkdtemp(prefix="hie-zk-"))
        self._owner_pid = os.getpid()
        atexit.register(self._atexit_stop)
        self.port = free_port()
        (self.base_dir / "data").mkdir()
        config = self.base_dir / "zoo.cfg"
        config.write_text(
            f"tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={self.base_dir / 'data'}\n"
            f"clientPort={self.port}\nclientPortAddress={HOST}\nadmin.enableServer=false\n"
            "maxClientCnxns=0\n4lw.commands.whitelist=ruok\nforceSync=no\n", encoding="utf-8")
        classpath = ":".join(str(_jar_dir() / f"{name}.jar") for name in _JARS
                             if (_jar_dir() / f"{name}.jar").exists())
        try:
            with open(self.base_dir / "zookeeper.log", "ab") as out:
                self._process = subprocess.Popen(
                    [java, "-Xmx256m", "-XX:+UseSerialGC", "-cp", classpath,
                     "org.apache.zookeeper.server.ZooKeeperServerMain", str(config)],
                    cwd=self.base_dir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True)
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        with contextlib.suppress(Exception):
            atexit.unregister(self._atexit_stop)
        process, self._process = self._process, None
        terminate(process, timeout=10)
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = None
        self.port = None
        self._owner_pid = None

    def _wait_ready(self) -> None:
        """Ask ``ruok`` until the server says ``imok``."""
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise ZookeeperError(f"ZooKeeper exited at start{self._log_tail()}")
            with contextlib.suppress(OSError):
                with socket.create_connection((HOST, self.port), timeout=1) as sock:
                    sock.sendall(b"ruok")
                    if sock.recv(8) == b"imok":
                        return
            time.sleep(0.1)
        raise ZookeeperError(f"ZooKeeper not ready after {self.start_timeout} s{self._log_tail()}")

    def _log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError, TypeError):
            text = (self.base_dir / "zookeeper.log").read_text(errors="replace")  # type: ignore[operator]
            return "\n--- zookeeper log (tail) ---\n" + "\n".join(text.splitlines()[-lines:])
        return ""

    def _atexit_stop(self) -> None:
        if self._owner_pid == os.getpid():  # a forked child must not stop the parent's server
            self.stop()

    def __repr__(self) -> str:
        return f"<ZookeeperServer {'port=' + str(self.port) if self.running else 'stopped'}>"
