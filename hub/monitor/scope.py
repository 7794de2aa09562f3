"""Which members' exchange a caller may watch: a set of member codes, or None for every member.

The monitor takes the scope as an argument; the JSON API derives it from the caller the way the
cube API does (``hub.web.scope.scope_for``: a bureau its region's districts, any other member
itself), and ``members_in`` turns such a scope into member codes through the registry.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..exchange.models import Message
from ..registry.models import Institution, Region

MemberScope = frozenset[str] | None  # None: every member, registered or not


def divisions_under(session: Session, districts: frozenset[str]) -> frozenset[str]:
    """``districts`` and every division below them in ``registry_region``."""
    children: dict[str, list[str]] = {}
    for code, parent in session.execute(select(Region.code, Region.parent_code)):
        children.setdefault(parent or "", []).append(code)
    found, todo = set(), list(districts)
    while todo:
        code = todo.pop()
        if code not in found:
            found.add(code)
            todo.extend(children.get(code, ()))
    return frozenset(found)


def members_in(session: Session, *, districts: frozenset[str] | None,
               institutions: frozenset[str] | None) -> MemberScope:
    """The members a cube scope covers: its institutions when it names them, else the institutions
    registered in its districts (or below them); None when it restricts nothing."""
    if institutions is not None:
        return frozenset(institutions)
    if districts is None:
        return None
    if not districts:
        return frozenset()
    divisions = sorted(divisions_under(session, districts))
    return frozenset(session.scalars(select(Institution.code).where(Institution.division_code.in_(divisions))))


def inbox_members(session: Session) -> list[str]:
    """Every member with a message in the inbox: a loose scan of the (member, MessageID) index,
    one index probe per member instead of a pass over every message."""
    first = select(func.min(Message.member).label("member")).cte("inbox_members", recursive=True)
    following = select(select(func.min(Message.member)).where(Message.member > first.c.member)
                       .scalar_subquery()).where(first.c.member.is_not(None))
    members = first.union_all(following)
    return list(session.scalars(select(members.c.member).where(members.c.member.is_not(None))))


__all__ = ["MemberScope", "divisions_under", "members_in", "inbox_members"]
