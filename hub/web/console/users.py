"""Console users: roles, scope (a region or an institution), argon2 password hashes.

A user is bound to exactly one scope: a GB/T 2260 division of the registry's regions (it sees the
district-level divisions under it, as a bureau member does) or a registered institution (it sees
that institution, as the member itself does). Passwords are hashed with argon2id (argon2-cffi's
defaults, RFC 9106 low-memory profile); a hash made with older parameters is renewed at the next
successful sign-in.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from olap.cubes import Scope
from protocol.errors import HubError

from ...registry.models import Institution, Region
from ..scope import districts_under
from .models import ConsoleUser

MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,47}")  # "console:" + it fits audit_event.member
_HASHER = PasswordHasher()
# a hash to verify against when the user does not exist, so a wrong name costs what a wrong password does
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


class Role(str, enum.Enum):
    ANALYST = "analyst"
    OPERATOR = "operator"
    INSTITUTION_ADMIN = "institution_admin"


@dataclass(frozen=True)
class SignedIn:
    """Who a session belongs to, as the pages need it."""

    user_id: int
    username: str
    display_name: str
    role: Role
    region_code: str | None
    institution_code: str | None


def create(session: Session, *, username: str, password: str, role: str, now: datetime,
           region_code: str | None = None, institution_code: str | None = None,
           display_name: str | None = None) -> ConsoleUser:
    """A new user; ``request.invalid`` / ``registry.invalid`` say which argument is wrong."""
    if not USERNAME.fullmatch(username or ""):
        raise HubError("request.invalid", "username: 2-48 of a-z 0-9 . _ -", field="/username")
    if role not in {r.value for r in Role}:
        raise HubError("request.invalid", "role: analyst, operator or institution_admin", field="/role")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise HubError("request.invalid", f"password: at least {MIN_PASSWORD_LENGTH} characters", field="/password")
    if (region_code is None) == (institution_code is None):
        raise HubError("request.invalid", "give either a region or an institution", field="/scope")
    if role == Role.INSTITUTION_ADMIN.value and institution_code is None:
        raise HubError("request.invalid", "an institution administrator is bound to an institution", field="/scope")
    if region_code is not None and session.get(Region, region_code) is None:
        raise HubError("registry.invalid", "region: not a division of the registry", field="/region")
    if institution_code is not None and session.get(Institution, institution_code) is None:
        raise HubError("registry.invalid", "institution: not a registered member", field="/institution")
    if session.scalar(select(ConsoleUser.id).where(ConsoleUser.username == username)) is not None:
        raise HubError("request.invalid", "username: taken", field="/username")
    user = ConsoleUser(username=username, display_name=(display_name or username)[:100],
                       password_hash=_HASHER.hash(password), role=role, region_code=region_code,
                       institution_code=institution_code, created_at=now)
    session.add(user)
    session.flush()
    return user


def get_by_name(session: Session, *, username: str) -> ConsoleUser | None:
    return session.scalar(select(ConsoleUser).where(ConsoleUser.username == username))


def list_all(session: Session) -> list[ConsoleUser]:
    return list(session.scalars(select(ConsoleUser).order_by(ConsoleUser.username)))


def disable(session: Session, *, username: str, now: datetime) -> ConsoleUser:
    """Disable ``username`` (its sessions end with it: a session of a disabled user is refused)."""
    user = get_by_name(session, username=username)
    if user is None:
        raise HubError("registry.not_found", "no such console user", field="/username")
    if user.disabled_at is None:
        user.disabled_at = now
    return user


def valid_username(username: str) -> bool:
    """Whether ``username`` could name a user (what is not is never looked up)."""
    return bool(USERNAME.fullmatch(username or ""))


def check_password(session: Session, *, username: str, password: str) -> tuple[ConsoleUser | None, str | None]:
    """(the user, None) when the password is right and the user enabled; else (user or None, reason):
    ``unknown``, ``password`` or ``disabled``. Time spent is the same for an unknown name."""
    user = get_by_name(session, username=username) if valid_username(username) else None
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return user, "unknown" if user is None else "password"
    if user is None:
        return None, "unknown"
    if user.disabled_at is not None:
        return user, "disabled"
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    return user, None


def signed_in(user: ConsoleUser) -> SignedIn:
    return SignedIn(user.id, user.username, user.display_name, Role(user.role), user.region_code,
                    user.institution_code)


def scope_of(session: Session, user: SignedIn) -> Scope:
    """The cells ``user`` may see: the districts under its region (as a bureau member sees them, a
    region covering the whole registry unfiltered), or its own institution only (as that member sees it)."""
    if user.institution_code is not None:
        district = session.scalar(select(Institution.division_code).where(Institution.code == user.institution_code))
        return Scope(districts=frozenset({district}) if district else frozenset(),
                     institutions=frozenset({user.institution_code}))
    districts = districts_under(session, user.region_code or "")
    if districts and districts >= districts_under(session, ""):
        return Scope()  # the whole registry: no filter, so the city-wide rollups answer (as hub.web.scope)
    return Scope(districts=districts)


__all__ = ["Role", "SignedIn", "create", "get_by_name", "list_all", "disable", "check_password", "valid_username",
           "signed_in", "scope_of", "MIN_PASSWORD_LENGTH"]
