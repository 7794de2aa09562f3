"""The sign-in throttle: failed sign-ins for one user name, and from one client address, are slowed,
then refused until the window passes.

Each attempt is written (``ConsoleLoginAttempt``) *before* its password is checked and deleted when it
succeeds, so attempts still in flight count too: a burst of parallel guesses cannot all pass the
check before the first failure is written. The name is counted whether or not the user exists (the
answer must not tell), as a SHA-256 digest of what was typed. A success forgives the failures of its
name only: an address that sprays many names keeps its count however many of its own sign-ins succeed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ...settings import Settings
from .models import ConsoleLoginAttempt


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures in which window, and how much each earlier failure slows the next attempt."""

    window: timedelta = timedelta(minutes=15)
    per_name: int = 5
    per_address: int = 20
    delay_s: float = 1.0
    delay_max_s: float = 4.0

    @classmethod
    def of(cls, settings: Settings) -> "ThrottlePolicy":
        return cls(window=timedelta(minutes=settings.console_login_window_minutes),
                   per_name=settings.console_login_failures_per_name,
                   per_address=settings.console_login_failures_per_address,
                   delay_s=settings.console_login_delay_s, delay_max_s=settings.console_login_delay_max_s)


@dataclass(frozen=True)
class Standing:
    """The failures counted against one attempt, before it: by its name, by its address, and the
    oldest of each (a refusal ends when enough of them have left the window)."""

    by_name: int
    by_address: int
    name_since: datetime | None = None
    address_since: datetime | None = None

    def refused(self, policy: ThrottlePolicy) -> bool:
        return self.by_name >= policy.per_name or self.by_address >= policy.per_address

    def delay_s(self, policy: ThrottlePolicy) -> float:
        """How long the attempt waits before its password is checked (success or not: timing tells nothing)."""
        return min(policy.delay_s * max(self.by_name, self.by_address), policy.delay_max_s)

    def retry_after_s(self, policy: ThrottlePolicy, now: datetime) -> int:
        """Seconds until the oldest failure of a refused count leaves the window (an upper bound's floor)."""
        oldest = [since for count, limit, since in ((self.by_name, policy.per_name, self.name_since),
                                                    (self.by_address, policy.per_address, self.address_since))
                  if count >= limit and since is not None]
        return max(1, int((max(oldest) + policy.window - now).total_seconds()) + 1) if oldest else 0


def name_digest(username: str) -> str:
    return hashlib.sha256(username.encode("utf-8", errors="replace")).hexdigest()


def standing(session: Session, *, username: str, client_address: str, now: datetime,
             policy: ThrottlePolicy) -> Standing:
    """The failures within the window for this name and this address; older attempts are deleted on the way."""
    since = now - policy.window
    session.execute(delete(ConsoleLoginAttempt).where(ConsoleLoginAttempt.at <= since))
    by_name = session.execute(select(func.count(), func.min(ConsoleLoginAttempt.at)).where(
        ConsoleLoginAttempt.username_sha256 == name_digest(username), ConsoleLoginAttempt.at > since)).one()
    by_address = session.execute(select(func.count(), func.min(ConsoleLoginAttempt.at)).where(
        ConsoleLoginAttempt.client_address == client_address, ConsoleLoginAttempt.at > since)).one()
    return Standing(by_name=by_name[0], by_address=by_address[0], name_since=by_name[1], address_since=by_address[1])


def begin_attempt(session: Session, *, username: str, client_address: str, now: datetime) -> None:
    """Count an attempt as failed until :func:`succeeded` says otherwise."""
    session.add(ConsoleLoginAttempt(at=now, username_sha256=name_digest(username), client_address=client_address))


def succeeded(session: Session, *, username: str) -> None:
    """A sign-in succeeded: its name's failures (and this attempt) are forgiven; its address's others stay."""
    session.execute(delete(ConsoleLoginAttempt).where(ConsoleLoginAttempt.username_sha256 == name_digest(username)))


__all__ = ["ThrottlePolicy", "Standing", "standing", "begin_attempt", "succeeded", "name_digest"]
