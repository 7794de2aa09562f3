"""The console's tables: its users (bound to a region or an institution) and their server-side sessions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ...store.models import Base, UTCDateTime


class ConsoleUser(Base):
    """A person of the bureau (or of an institution) who signs in to the console.

    Exactly one of ``region_code`` (a GB/T 2260 division of the registry) and ``institution_code``
    (a registered member) is set: it is the user's scope."""

    __tablename__ = "console_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, with its parameters
    role: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    institution_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ConsoleSession(Base):
    """A signed-in browser: the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "console_session"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_user.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ConsoleLoginAttempt(Base):
    """A sign-in attempt the throttle counts (``throttle.py``): written before the password is checked,
    deleted when it succeeds, so a row is a failure or an attempt still in flight. Holds a digest of
    the name typed, never the name (it may be a password typed in the wrong field)."""

    __tablename__ = "console_login_attempt"
    __table_args__ = (Index("ix_console_login_attempt_name", "username_sha256", "at"),
                      Index("ix_console_login_attempt_address", "client_address", "at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    username_sha256: Mapped[str] = mapped_column(String(64))
    client_address: Mapped[str] = mapped_column(String(64))  # "" when the server does not know it


__all__ = ["ConsoleUser", "ConsoleSession", "ConsoleLoginAttempt"]
