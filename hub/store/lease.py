"""A lease in the OLTP database: one holder at a time for work that must not run twice at once.

Several hub nodes and processors share one PostgreSQL; some work must still run once at a time across
them: the ETL of a mart (``etl:<mart>``), the workflows' runner (``workflows``). A lease is a row of
``hub_lease`` (name, holder, acquired_at, expires_at). ``try_acquire`` takes it when it is free, expired,
or already ours (then it renews it), in one short write transaction:
``UPDATE … WHERE name = ? AND (expires_at < now OR holder = ?)``, else ``INSERT``; a unique-key violation
means another holder inserted it first. Both are atomic on SQLite (one writer at a time) and on
PostgreSQL (the row lock, then the condition re-read; the primary key for two inserts).

A holder that dies without releasing (kill -9, a lost node) keeps the lease until it expires: at most
``ttl_s`` seconds after its last renewal, the next candidate takes it. ``kept()`` renews it every
``ttl_s / 3`` in a daemon thread while the work runs, and releases it at the end.

Fencing: a holder that stalls longer than ``ttl_s`` (SIGSTOP, a VM pause, a long GC) may wake up after
another took the lease over. ``kept()`` then sets ``lost``, but the work must not wait for its renewer:
each write transaction that must not happen beside the new holder calls ``fence(session)`` first, which
renews the lease in that transaction only if it is still ours and keeps its row locked until the commit.

Clock: "now" is the database's (``clock_timestamp()``) on PostgreSQL, so the nodes' clocks do not
matter; on SQLite, which lives on one machine, it is that machine's clock.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import String, case, delete, literal, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from protocol.timestamps import utcnow

from .db import transaction
from .models import Base, UTCDateTime

log = logging.getLogger(__name__)
DEFAULT_TTL_S = 30.0  # a dead holder's lease is taken over at most this long after its last renewal


class LeaseRow(Base):
    """``hub_lease``: who holds a named lease, and until when."""

    __tablename__ = "hub_lease"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class LeaseState:
    """A lease as the database has it (``expires_at`` in the past: free)."""

    name: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


def holder_name() -> str:
    """This process, as a lease names it: host, process id and a random part (a reused pid is another holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def database_now(session: Session) -> datetime:
    """The database's clock on PostgreSQL; this machine's clock on SQLite (one machine)."""
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(text("SELECT clock_timestamp()")).scalar_one().astimezone(timezone.utc)
    return utcnow()


class Lease:
    """The lease ``name`` as ``holder`` sees it: try_acquire / renew / release, ``kept()`` around work."""

    def __init__(self, sessions: sessionmaker[Session], name: str, *, holder: str | None = None,
                 ttl_s: float = DEFAULT_TTL_S):
        if ttl_s <= 0:
            raise ValueError("a lease's ttl must be positive")
        self.sessions = sessions
        self.name = name
        self.holder = holder or holder_name()
        self.ttl_s = ttl_s
        self.lost = threading.Event()  # set by kept()'s renewer when another holder has the lease

    def try_acquire(self) -> bool:
        """Take the lease if it is free or expired, renew it if it is ours; whether we hold it now."""
        try:
            with transaction(self.sessions) as session:
                self._bounded(session)
                now = database_now(session)
                if self._extend(session, now, taking=True):
                    return True
                with session.begin_nested():
                    session.add(LeaseRow(name=self.name, holder=self.holder, acquired_at=now,
                                         expires_at=now + timedelta(seconds=self.ttl_s)))
                return True
        except IntegrityError:  # another holder inserted it between our update and our insert
            return False
        except OperationalError:  # the row stayed locked past lock_timeout: someone holds it
            return False

    def _bounded(self, session: Session) -> None:
        """On PostgreSQL, a lease's own short transactions never hang on a holder paused inside one (SIGSTOP,
        a stalled node): its session is cut off when idle in the transaction past the ttl, and a waiter gives
        up after twice that."""
        if session.get_bind().dialect.name == "postgresql":
            idle_ms = max(1000, int(self.ttl_s * 1000))
            session.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {idle_ms}"))
            session.execute(text(f"SET LOCAL lock_timeout = {2 * idle_ms}"))

    def renew(self) -> bool:
        """Push the expiry ``ttl_s`` ahead if we still hold the lease; False if it expired and was taken."""
        with transaction(self.sessions) as session:
            self._bounded(session)
            return self._extend(session, database_now(session), taking=False)

    def fence(self, session: Session) -> bool:
        """In the caller's write transaction: whether we still hold the lease (then renewed). Its row stays
        locked until that transaction ends, so no one takes the lease over before the caller's writes commit;
        False (another holder took it after it expired): the caller writes nothing and rolls back."""
        return self._extend(session, database_now(session), taking=False)

    def release(self) -> None:
        """Give the lease up now (nothing happens if another holder has it)."""
        with transaction(self.sessions) as session:
            session.execute(delete(LeaseRow).where(LeaseRow.name == self.name, LeaseRow.holder == self.holder))

    def state(self) -> LeaseState | None:
        """The lease's row as it is (None: never taken, or released)."""
        with self.sessions() as session:
            return read_lease(session, self.name)

    def _extend(self, session: Session, now: datetime, *, taking: bool) -> bool:
        condition = LeaseRow.holder == self.holder
        if taking:
            condition = condition | (LeaseRow.expires_at < now)
        acquired = case((LeaseRow.holder == self.holder, LeaseRow.acquired_at), else_=literal(now, UTCDateTime()))
        statement = (update(LeaseRow).where(LeaseRow.name == self.name, condition)
                     .values(holder=self.holder, expires_at=now + timedelta(seconds=self.ttl_s), acquired_at=acquired)
                     .execution_options(synchronize_session=False))
        return session.execute(statement).rowcount == 1

    @contextmanager
    def kept(self, *, release: bool = True):
        """Around work done while holding the lease (``try_acquire`` returned True): renew it every
        ``ttl_s / 3`` in a daemon thread; release it at the end unless ``release`` is False. If it is
        lost meanwhile (this process stalled longer than ``ttl_s``), ``lost`` is set and a line logged."""
        self.lost.clear()
        stop = threading.Event()

        def renew_while_working() -> None:
            while not stop.wait(self.ttl_s / 3):
                try:
                    if not self.renew():
                        self.lost.set()
                        log.warning("lease %s lost: another holder took it after it expired", self.name)
                        return
                except Exception as error:  # the database is away: try again, the expiry tells the rest
                    log.warning("lease %s not renewed (%s)", self.name, type(error).__name__)

        renewer = threading.Thread(target=renew_while_working, name=f"hie-lease-{self.name}", daemon=True)
        renewer.start()
        try:
            yield self
        finally:
            stop.set()
            renewer.join(timeout=self.ttl_s)
            if release and not self.lost.is_set():
                try:
                    self.release()
                except Exception as error:  # it expires by itself
                    log.warning("lease %s not released (%s): it expires in %.0f s", self.name,
                                type(error).__name__, self.ttl_s)


def under_lease(sessions: sessionmaker[Session], lease: Lease) -> sessionmaker[Session]:
    """``sessions`` for work done under ``lease``: a writer that must record nothing once the lease is lost
    (the ETL's run) finds it with ``lease_of`` and fences its last transaction with it."""
    info = {**(sessions.kw.get("info") or {}), "lease": lease}
    return sessionmaker(class_=sessions.class_, **{**sessions.kw, "info": info})


def lease_of(sessions: sessionmaker[Session]) -> Lease | None:
    """The lease ``sessions`` work under (``under_lease``), if any."""
    return (sessions.kw.get("info") or {}).get("lease")


def read_lease(session: Session, name: str) -> LeaseState | None:
    """The lease ``name`` as it is, in the caller's session."""
    row = session.execute(select(LeaseRow).where(LeaseRow.name == name)).scalar_one_or_none()
    return None if row is None else LeaseState(row.name, row.holder, row.acquired_at, row.expires_at)


__all__ = ["DEFAULT_TTL_S", "Lease", "LeaseRow", "LeaseState", "database_now", "holder_name", "lease_of", "read_lease",
           "under_lease"]
