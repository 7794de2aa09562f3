"""On SQLite the intake commits without an fsync, releases the write lock, and answers only after
the ``WalSyncer`` synced the log (``hub.store.db``). Through both fronts (the ``post`` fixture):
the WSGI one's writer thread and the ASGI one's event loop."""
from __future__ import annotations

import asyncio
import errno
import os
import sqlite3
import threading
import uuid

import pytest
from sqlalchemy import select

from hub.exchange.models import Message
from hub.soap.asgi import SoapFront
from hub.soap.wsgi import GateMiddleware
from hub.store.db import sqlite_url
from hub.store.sqlite import WalSyncer
from tests.support import asgi

from .builders import fault_code, sealed


@pytest.fixture
def db_url(tmp_path) -> str:
    """SQLite only (the syncer's store): this module's ``hub`` and ``post`` run on a database file."""
    return sqlite_url(tmp_path / "hub.db")


class GatedSync:
    """The real ``fdatasync``, run when the test allows it; remembers which file it was given."""

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.inodes: list[int] = []
        self.entered = threading.Event()
        self.allow = threading.Event()

    def __call__(self, fd: int) -> None:
        self.inodes.append(os.fstat(fd).st_ino)
        self.entered.set()
        assert self.allow.wait(20)
        if self.fail:
            raise OSError(errno.EIO, "simulated disk failure")
        os.fdatasync(fd)


def _database(hub) -> str:
    return hub.sessions.kw["bind"].url.database


def _messages_on_another_connection(hub) -> int:
    with sqlite3.connect(_database(hub)) as connection:
        return connection.execute("SELECT count(*) FROM inbox_message").fetchone()[0]


def _in_thread(function, *args):
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(value=function(*args)), daemon=True)
    thread.start()
    return thread, result


def test_the_receipt_waits_for_the_log_sync_and_the_lock_does_not(hub, post, members, hub_enc_cert):
    gated = GatedSync()
    hub.inbox.syncer = WalSyncer(_database(hub), sync=gated)
    thread, result = _in_thread(post, sealed(members["CLINIC01"], hub_enc_cert))
    assert gated.entered.wait(20)
    # committed (another connection sees it) but not yet answered: the answer waits for the disk …
    assert _messages_on_another_connection(hub) == 1
    thread.join(0.3)
    assert thread.is_alive() and "value" not in result
    # … and the write lock does not: the other writers are not held up by the sync
    lock = hub.sessions.kw["bind"].hie_write_lock
    assert lock.try_acquire()
    lock.release()
    assert gated.inodes == [os.stat(_database(hub) + "-wal").st_ino]  # the log file is what was synced
    gated.allow.set()
    thread.join(20)
    response = result["value"]
    assert response.status == 200 and fault_code(response.body) is None


def test_submissions_go_on_being_committed_while_a_sync_is_slow(hub, post, members, hub_enc_cert):
    """The fsync runs off the committing thread: while one is stuck on the disk, the next request is
    gated and committed (the event loop, or the writer thread, is not waiting for the disk), and
    neither is answered before a sync that began after its commit has returned."""
    gated = GatedSync()
    hub.inbox.syncer = WalSyncer(_database(hub), sync=gated)
    first, first_result = _in_thread(post, sealed(members["CLINIC01"], hub_enc_cert))
    assert gated.entered.wait(20)
    second, second_result = _in_thread(post, sealed(members["CLINIC01"], hub_enc_cert,
                                                        message_id=f"urn:uuid:{uuid.uuid4()}"))
    for _ in range(200):  # up to 20 s for the second commit, with the first sync still held
        if _messages_on_another_connection(hub) == 2:
            break
        second.join(0.1)
    assert _messages_on_another_connection(hub) == 2
    assert first.is_alive() and second.is_alive()  # committed, not yet durable: nobody answered
    gated.allow.set()
    first.join(20)
    second.join(20)
    assert len(gated.inodes) == 2  # the second commit came after the first sync began: a sync of its own
    for result in (first_result, second_result):
        assert result["value"].status == 200 and fault_code(result["value"].body) is None


def test_the_event_loop_is_not_blocked_by_a_slow_sync(hub, members, hub_enc_cert):
    """Both requests on one event loop (as ``hie serve`` runs them): while the first group's sync is
    stuck, the loop reads, gates and commits the second. Were the loop itself waiting for the
    disk, the second could not even be read and nothing would happen until the sync timed out."""
    gated = GatedSync()
    hub.inbox.syncer = WalSyncer(_database(hub), sync=gated)
    front = SoapFront(hub, {"exchange": GateMiddleware(hub)}, max_body=hub.settings.max_message_bytes)
    bodies = [sealed(members["CLINIC01"], hub_enc_cert, message_id=f"urn:uuid:{uuid.uuid4()}") for _ in range(2)]

    async def run():
        first = asyncio.ensure_future(asgi.post(front, bodies[0]))
        assert await asyncio.to_thread(gated.entered.wait, 20)
        second = asyncio.ensure_future(asgi.post(front, bodies[1]))
        for _ in range(200):
            if await asyncio.to_thread(_messages_on_another_connection, hub) == 2:
                break
            await asyncio.sleep(0.1)
        seen = await asyncio.to_thread(_messages_on_another_connection, hub), first.done(), second.done()
        gated.allow.set()
        return seen, await first, await second

    try:
        (committed, first_done, second_done), *answers = asyncio.run(asyncio.wait_for(run(), 60))
    finally:
        front.executor.shutdown()
    assert committed == 2 and not first_done and not second_done  # both committed, neither answered yet
    assert len(gated.inodes) == 2
    for status, body in answers:
        assert status == 200 and fault_code(body) is None


def test_a_resend_is_answered_only_after_a_sync_too(hub, post, members, hub_enc_cert):
    """The original a duplicate is answered from may not be on disk yet: the resend waits for a sync."""
    body = sealed(members["CLINIC01"], hub_enc_cert)
    assert fault_code(post(body).body) is None
    gated = GatedSync()
    hub.inbox.syncer = WalSyncer(_database(hub), sync=gated)
    thread, result = _in_thread(post, body)
    assert gated.entered.wait(20)
    thread.join(0.3)
    assert thread.is_alive()
    gated.allow.set()
    thread.join(20)
    assert fault_code(result["value"].body) is None and _messages_on_another_connection(hub) == 1


def test_a_failed_sync_refuses_the_request_and_every_later_one(hub, post, members, hub_enc_cert):
    """After a failed fdatasync the kernel may report later ones as successful without the data
    on disk: the failure is final until the hub is restarted, and nothing is acknowledged."""
    gated = GatedSync(fail=True)
    gated.allow.set()
    hub.inbox.syncer = WalSyncer(_database(hub), sync=gated)
    first = post(sealed(members["CLINIC01"], hub_enc_cert))
    assert fault_code(first.body) == "server.unavailable"
    second = post(sealed(members["CLINIC01"], hub_enc_cert, message_id=f"urn:uuid:{uuid.uuid4()}"))
    assert fault_code(second.body) == "server.unavailable"
    assert len(gated.inodes) == 1  # not tried again: a second "success" would prove nothing


def test_the_database_file_is_synced_when_there_is_no_log_and_a_new_log_is_followed(tmp_path):
    database = tmp_path / "x.db"
    database.write_bytes(b"")
    synced: list[int] = []
    syncer = WalSyncer(str(database), sync=lambda fd: synced.append(os.fstat(fd).st_ino))

    def sync_once():
        assert syncer.sync()

    sync_once()
    assert synced[-1] == os.stat(database).st_ino
    wal = tmp_path / "x.db-wal"
    wal.write_bytes(b"first")
    sync_once()
    assert synced[-1] == os.stat(wal).st_ino
    wal.unlink()
    other = tmp_path / "placeholder"
    other.write_bytes(b"keeps the old inode number from being reused at once")
    wal.write_bytes(b"second")
    sync_once()
    assert synced[-1] == os.stat(wal).st_ino


def test_pooled_connections_are_fully_synchronous_again(hub, post, members, hub_enc_cert):
    """The intake's connection relaxes ``synchronous`` for its own commit only: any other use of a
    pooled connection (the processor, replies, the web app) commits with ``FULL`` as before."""
    for _ in range(3):
        assert fault_code(post(sealed(members["CLINIC01"], hub_enc_cert,
                                      message_id=f"urn:uuid:{uuid.uuid4()}")).body) is None
    engine = hub.sessions.kw["bind"]
    connections = [engine.connect() for _ in range(max(1, engine.pool.checkedin()))]
    try:
        assert [c.exec_driver_sql("PRAGMA synchronous").scalar() for c in connections] == [2] * len(connections)
    finally:
        for connection in connections:
            connection.close()
    with hub.sessions() as session:
        assert len(session.scalars(select(Message)).all()) == 3
