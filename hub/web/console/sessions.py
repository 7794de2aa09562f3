"""Server-side console sessions: a random token in an HttpOnly cookie, its SHA-256 in the table.

A session ends at its expiry (``Settings.console_session_minutes`` after sign-in), at sign-out, or
when its user is disabled. Each session carries its own CSRF token (synchronizer token): every
state-changing request must send it back in a form field or the ``X-CSRF-Token`` header.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .models import ConsoleSession, ConsoleUser
from .users import SignedIn, signed_in

COOKIE = "hie_console"
LOGIN_CSRF_COOKIE = "hie_console_login"  # before sign-in: double-submit token of the login form


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def open_session(session: Session, *, user: ConsoleUser, now: datetime, minutes: float) -> str:
    """A new session for ``user``; returns the cookie's token (the table keeps only its hash).
    Expired sessions are removed on the way."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    token = new_token()
    session.add(ConsoleSession(token_sha256=_digest(token), user_id=user.id, csrf_token=new_token(),
                               created_at=now, expires_at=now + timedelta(minutes=minutes)))
    return token


def read_session(session: Session, *, token: str | None, now: datetime) -> tuple[SignedIn, str] | None:
    """(the signed-in user, the session's CSRF token), or None: no such session, expired, user disabled."""
    if not token:
        return None
    row = session.execute(select(ConsoleSession, ConsoleUser).join(ConsoleUser, ConsoleUser.id == ConsoleSession.user_id)
                          .where(ConsoleSession.token_sha256 == _digest(token))).first()
    if row is None:
        return None
    console_session, user = row
    if console_session.expires_at <= now or user.disabled_at is not None:
        return None
    return signed_in(user), console_session.csrf_token


def close_session(session: Session, *, token: str | None) -> None:
    if token:
        session.execute(delete(ConsoleSession).where(ConsoleSession.token_sha256 == _digest(token)))


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of two CSRF tokens; an empty one never matches."""
    return bool(expected) and bool(given) and hmac.compare_digest(expected.encode(), given.encode())


__all__ = ["COOKIE", "LOGIN_CSRF_COOKIE", "new_token", "open_session", "read_session", "close_session",
           "same_token"]
