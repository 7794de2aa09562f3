"""A throwaway PostgreSQL server for the test session.

    server = PostgresServer()
    server.start()
    url = server.create_database("t1")   # postgresql+psycopg://postgres@127.0.0.1:PORT/t1
    ...
    server.drop_database("t1")
    server.stop()                         # pg_ctl stop -m immediate, then the dir is deleted

or ``with PostgresServer() as server: ...``.

The cluster lives in a fresh temporary directory (data dir, log file and the
unix socket), listens on 127.0.0.1 only, on a free port, with trust
authentication for the ``postgres`` role.  ``fsync`` keeps its default (on):
tests may check durability across a crash of the server.

initdb refuses to run as root, so when the tests run as root the binaries run
as the ``postgres`` OS user (``runuser -u postgres --``, or ``su`` where
runuser is missing) and the temporary directory is handed over to that user.
As any other user they simply run as that user.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from .servers import Launched, free_port

__all__ = ["PostgresServer", "PostgresServerError"]

_PG_LIB = Path("/usr/lib/postgresql")
_REQUIRED = ("initdb", "pg_ctl", "postgres")
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# A unix socket path must fit in sockaddr_un.sun_path (108 bytes on Linux).
_MAX_SOCKET_DIR = 80


class PostgresServerError(RuntimeError):
    """The throwaway server could not be set up, started or used."""


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.name)) or (0,)


def find_bindir() -> Path | None:
    """Directory holding initdb/pg_ctl/postgres, newest version first.

    ``PG_BINDIR`` overrides; then Debian's ``/usr/lib/postgresql/*/bin``;
    then ``pg_ctl`` on PATH.
    """
    candidates: list[Path] = []
    override = os.environ.get("PG_BINDIR")
    if override:
        candidates.append(Path(override))
    if _PG_LIB.is_dir():
        versions = sorted(
            (p for p in _PG_LIB.iterdir() if (p / "bin").is_dir()),
            key=_version_key,
            reverse=True,
        )
        candidates.extend(p / "bin" for p in versions)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in _REQUIRED):
            return bindir
    return None


def _traversable_by(path: Path, uid: int, gid: int) -> bool:
    """Can uid/gid reach ``path`` (execute permission on it and every parent)?"""
    for part in [path, *path.parents]:
        try:
            st = part.stat()
        except OSError:
            return False
        if st.st_uid == uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid == gid:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return False
    return True


def _conf_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class PostgresServer(Launched):
    """One throwaway PostgreSQL cluster on 127.0.0.1 (see module docstring)."""

    host = "127.0.0.1"
    superuser = "postgres"
    os_user = "postgres"  # used only when running as root

    def __init__(
        self,
        bindir: str | os.PathLike[str] | None = None,
        *,
        base_dir: str | os.PathLike[str] | None = None,
        start_timeout: float = 60.0,
        settings: dict[str, str] | None = None,
    ) -> None:
        self._bindir = Path(bindir) if bindir else None
        self._base_parent = Path(base_dir) if base_dir else None
        self.start_timeout = start_timeout
        self.settings = dict(settings or {})
        self.port: int | None = None
        self.base_dir: Path | None = None
        self._owner_pid: int | None = None
        self._as_user: tuple[int, int] | None = None

    # ------------------------------------------------------------------ info
    @classmethod
    def available(cls) -> bool:
        """True when the PostgreSQL server binaries are installed."""
        return find_bindir() is not None

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            found = find_bindir()
            if found is None:
                raise PostgresServerError(
                    "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; "
                    "run scripts/install-system-packages.sh"
                )
            self._bindir = found
        return self._bindir

    @property
    def data_dir(self) -> Path:
        return self._require_base() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._require_base()

    @property
    def log_file(self) -> Path:
        return self._require_base() / "server.log"

    @property
    def running(self) -> bool:
        return self._owner_pid is not None

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database`` on this server."""
        if self.port is None:
            raise PostgresServerError("server not started")
        return f"postgresql+psycopg://{self.superuser}@{self.host}:{self.port}/{database}"

    def connect_kwargs(self, database: str = "postgres") -> dict[str, object]:
        """Keyword arguments for ``psycopg.connect``."""
        if self.port is None:
            raise PostgresServerError("server not started")
        return {"host": self.host, "port": self.port, "user": self.superuser, "dbname": database}

    # ------------------------------------------------------------- lifecycle
    def start(self) -> "PostgresServer":
        if self.running:
            return self
        bindir = self.bindir
        if os.geteuid() == 0:
            import pwd

            try:
                pw = pwd.getpwnam(self.os_user)
            except KeyError:
                raise PostgresServerError(
                    f"running as root but there is no {self.os_user!r} OS user to run initdb as"
                ) from None
            self._as_user = (pw.pw_uid, pw.pw_gid)
        self.base_dir = Path(tempfile.mkdtemp(prefix="hie-pg-", dir=self._pick_parent()))
        try:
            if self._as_user:
                os.chown(self.base_dir, *self._as_user)
            os.chmod(self.base_dir, 0o700)
            self._initdb(bindir)
            self._write_conf()
            self._owner_pid = os.getpid()
            atexit.register(self._atexit_stop)
            self._pg_ctl_start(bindir)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (immediate mode) and delete its directory."""
        base = self.base_dir
        if base is None:
            return
        with contextlib.suppress(Exception):
            atexit.unregister(self._atexit_stop)
        try:
            if (base / "data" / "postmaster.pid").exists():
                try:
                    self._run(
                        [str(self.bindir / "pg_ctl"), "stop", "-D", str(base / "data"),
                         "-m", "immediate", "-w", "-t", "30"],
                        timeout=60,
                    )
                except (PostgresServerError, subprocess.TimeoutExpired):
                    self._kill_postmaster(base / "data")
        finally:
            shutil.rmtree(base, ignore_errors=True)
            self.base_dir = None
            self.port = None
            self._owner_pid = None

    # -------------------------------------------------------------- databases
    def create_database(self, name: str) -> str:
        """Create database ``name`` (UTF8) and return its SQLAlchemy URL."""
        self._check_name(name)
        self.execute_admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, closing its open connections."""
        self._check_name(name)
        self.execute_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def execute_admin(self, statement: str) -> None:
        """Run one statement in autocommit mode on the ``postgres`` database."""
        import psycopg

        try:
            with psycopg.connect(autocommit=True, connect_timeout=10, **self.connect_kwargs()) as conn:
                conn.execute(statement)
        except psycopg.Error as exc:
            raise PostgresServerError(f"{statement}: {exc}") from exc

    # -------------------------------------------------------------- internals
    def _require_base(self) -> Path:
        if self.base_dir is None:
            raise PostgresServerError("server not started")
        return self.base_dir

    @staticmethod
    def _check_name(name: str) -> None:
        if not _DB_NAME.match(name):
            raise ValueError(f"database name must match {_DB_NAME.pattern}: {name!r}")

    def _pick_parent(self) -> str | None:
        if self._base_parent is not None:
            return str(self._base_parent)
        parent = Path(tempfile.gettempdir())
        usable = len(str(parent)) + 20 <= _MAX_SOCKET_DIR
        if usable and self._as_user:
            usable = _traversable_by(parent, *self._as_user)
        if not usable and Path("/tmp").is_dir():
            return "/tmp"
        return str(parent)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", TZ=env.get("TZ", "UTC"))
        return env

    def _wrap(self, argv: list[str]) -> list[str]:
        if not self._as_user:
            return argv
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", self.os_user, "--", *argv]
        su = shutil.which("su") or "su"
        return [su, self.os_user, "-s", "/bin/sh", "-c", shlex.join(argv)]

    def _run(self, argv: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            self._wrap(argv),
            cwd=self.base_dir,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            raise PostgresServerError(
                f"{shlex.join(argv)} exited with {proc.returncode}\n{proc.stdout}{proc.stderr}"
                + self._log_tail()
            )
        return proc

    def _log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except (OSError, PostgresServerError):
            return ""
        return "\n--- server log (tail) ---\n" + "\n".join(text.splitlines()[-lines:])

    def _initdb(self, bindir: Path) -> None:
        argv = [
            str(bindir / "initdb"), "-D", str(self.data_dir),
            "-A", "trust", "-U", self.superuser, "--encoding=UTF8",
        ]
        try:
            self._run([*argv, "--locale=C.UTF-8"], timeout=120)
        except PostgresServerError:
            # No C.UTF-8 locale on this machine: plain C still stores UTF-8 text.
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self._run([*argv, "--locale=C"], timeout=120)

    def _write_conf(self) -> None:
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.socket_dir),
            "log_min_messages": "warning",
            **self.settings,
        }
        lines = ["", "# added by tests/support/pgserver.py"]
        lines += [f"{key} = {_conf_quote(str(value))}" for key, value in settings.items()]
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n".join(lines) + "\n")

    def _pg_ctl_start(self, bindir: Path) -> None:
        last_error: Exception | None = None
        for _attempt in range(3):
            self.port = free_port()  # on 127.0.0.1, the host
            try:
                self._run(
                    [str(bindir / "pg_ctl"), "start", "-D", str(self.data_dir),
                     "-l", str(self.log_file), "-o", f"-p {self.port}",
                     "-w", "-t", str(int(self.start_timeout))],
                    timeout=self.start_timeout + 30,
                )
            except PostgresServerError as exc:
                last_error = exc
                if "already in use" in str(exc) or "could not bind" in str(exc):
                    continue  # someone took the port between probe and bind
                raise
            self._wait_ready()
            return
        raise PostgresServerError(f"could not start PostgreSQL: {last_error}")

    def _wait_ready(self) -> None:
        """pg_ctl -w already waited; make sure TCP connections work too."""
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise PostgresServerError(
                        f"server not accepting connections on {self.host}:{self.port}: {exc}"
                        + self._log_tail()
                    ) from exc
                time.sleep(0.05)

    def _kill_postmaster(self, data_dir: Path) -> None:
        """Last resort when pg_ctl stop failed: SIGKILL the postmaster we started."""
        try:
            pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.05)

    def _atexit_stop(self) -> None:
        # A forked child (os.fork in a test) must not stop the parent's server.
        if self._owner_pid == os.getpid():
            self.stop()

    def __repr__(self) -> str:
        state = f"port={self.port}" if self.running else "stopped"
        return f"<PostgresServer {state} dir={self.base_dir}>"
