"""The recipes the hub fixtures share: a PKI issued for a list of members, their credentials, a hub on a
copy of the session's migrated database, and an app served by uvicorn in a thread.

The exchange's ``hub`` and ``live_hub``, the monitor's hub, the workflow tests' PKI and the console's
served hubs were each written with these steps; a module that shares one hub among its tests (module
scope) calls the same recipes with ``tmp_path_factory``'s directories.
"""
from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from certs import init_pki, issue_member
from hub.runtime import Hub
from hub.settings import Settings
from protocol.credentials import Credentials
from tests.support.migrated import copy_migrated


def member_pki(root: Path, *, hub_name: str, members: Iterable[str]) -> Path:
    """A new PKI in ``root`` (a CA, the hub's certificates) with an RSA member certificate for each of ``members``."""
    init_pki(root, hub_name=hub_name)
    for member in members:
        issue_member(root, member=member)
    return root


def member_credentials(root: Path, members: Iterable[str] | None = None) -> dict[str, Credentials]:
    """Each member's credentials from the PKI in ``root``: ``members``, or every member it issued."""
    names = sorted(path.name for path in (root / "members").iterdir()) if members is None else members
    return {name: Credentials.from_files(root / "members" / name / "cert.pem", root / "members" / name / "key.pem")
            for name in names}


def open_hub(request, data_dir: Path, db_url: str, pki_dir: Path, **settings) -> Hub:
    """A hub's parts on ``db_url`` made a copy of the session's migrated database (nothing left to migrate);
    ``settings`` are further ``Settings`` fields (the processor is not started unless they say so)."""
    copy_migrated(request, db_url)
    settings = {"start_processor": False, **settings}
    return Hub.open(Settings(data_dir=data_dir, database_url=db_url, pki_dir=pki_dir, **settings),
                    run_migrations=False)


def close_hub(hub: Hub) -> None:
    hub.sessions.kw["bind"].dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(app) -> Iterator[str]:
    """``app`` served by uvicorn on a free 127.0.0.1 port in a thread; yields its base URL."""
    import uvicorn

    switch = sys.getswitchinterval()  # the app's start-up tunes it for the exchange; give it back after
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the hub did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sys.setswitchinterval(switch)


__all__ = ["member_pki", "member_credentials", "open_hub", "close_hub", "free_port", "served"]
