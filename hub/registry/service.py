"""Institution registry: the same verbs as every registry entity.

``get`` / ``get_or_raise`` / ``create`` / ``update`` / ``register`` (create or update) / ``query``.
Every write is checked (codes against their code lists) and audited in the caller's transaction;
an error names the field at fault (a JSON pointer to the argument) and never quotes the input.
Departments and practitioners follow in ``staff``; an institution's place in ``hierarchy``.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.errors import HubError
from protocol.timestamps import utcnow

from . import checks
from .actor import HUB_OPERATOR, Actor
from .checks import MAX_RESULTS
from .models import BUREAU_KINDS, KINDS, LEVELS, STATUSES, EntryStatus, Institution, Region
from .regions import get_region_or_raise, is_district, subtree_codes, sync_regions

_FIELDS = frozenset({"name", "kind", "level", "division_code", "parent_code", "status"})


# ---------------------------------------------------------------------------------- institutions

def get_institution(session: Session, *, code: str) -> Institution | None:
    return session.get(Institution, code) if isinstance(code, str) else None


def get_institution_or_raise(session: Session, *, code: str) -> Institution:
    institution = get_institution(session, code=code)
    if institution is None:
        raise HubError("registry.not_found", "no such institution")
    return institution


def _check_institution(session: Session, code: str, values: dict) -> dict:
    checked = {}
    if "name" in values:
        checked["name"] = checks.text(values["name"], "name", max_length=200)
    if "kind" in values:
        checked["kind"] = checks.one_of(values["kind"], "kind", KINDS)
    if "level" in values:
        checked["level"] = checks.one_of(values["level"], "level", LEVELS, required=False)
    if "status" in values:
        checked["status"] = checks.one_of(values["status"], "status", STATUSES)
    if "division_code" in values:
        region = get_region_or_raise(code=values["division_code"], field="/division_code")
        existing = session.get(Institution, code)
        kind = values.get("kind") or (existing.kind if existing is not None else None)
        governs_above = kind in BUREAU_KINDS and region.level in ("city", "province")  # a city or provincial 卫健委
        if not is_district(region) and not governs_above:
            raise checks.invalid("division_code", "an institution belongs to a district-level division")
        checked["division_code"] = region.code
        if session.get(Region, region.code) is None:  # keep the SQL mirror of the code list complete
            sync_regions(session, actor=HUB_OPERATOR)
    if "parent_code" in values:
        checked["parent_code"] = _check_parent(session, code, values["parent_code"])
    return checked


def _check_parent(session: Session, code: str, parent_code: str | None) -> str | None:
    if parent_code is None or parent_code == "":
        return None
    parent = get_institution(session, code=parent_code)
    if parent is None:
        raise checks.invalid("parent_code", "unknown parent institution")
    seen = {code}
    while parent is not None:  # the new parent must not sit below this institution
        if parent.code in seen:
            raise checks.invalid("parent_code", "parent chain would form a cycle")
        seen.add(parent.code)
        parent = get_institution(session, code=parent.parent_code) if parent.parent_code else None
    return parent_code


def create_institution(session: Session, *, actor: Actor, code: str, name: str, kind: str, division_code: str,
                       level: str | None = None, parent_code: str | None = None, status: str = EntryStatus.ACTIVE.value,
                       now: datetime | None = None) -> Institution:
    """Register a new institution; ``registry.invalid`` if the code is taken or a field is unusable."""
    code = checks.code(code, "code", checks.INSTITUTION_CODE)
    if get_institution(session, code=code) is not None:
        raise checks.invalid("code", "institution code already registered")
    checked = _check_institution(session, code, {"name": name, "kind": kind, "level": level, "status": status,
                                                 "division_code": division_code, "parent_code": parent_code})
    now = now or utcnow()
    institution = Institution(code=code, created_at=now, updated_at=now, **checked)
    session.add(institution)
    session.flush()
    actor.audit(session, "registry.institution.create")
    return institution


def update_institution(session: Session, *, actor: Actor, code: str, now: datetime | None = None,
                       **changes) -> Institution:
    """Change some fields of a registered institution (name, kind, level, division_code, parent_code, status)."""
    checks.updatable(changes, _FIELDS)
    institution = get_institution_or_raise(session, code=code)
    checked = _check_institution(session, institution.code, changes)
    for key, value in checked.items():
        setattr(institution, key, value)
    institution.updated_at = now or utcnow()
    session.flush()
    actor.audit(session, "registry.institution.update")
    return institution


def register_institution(session: Session, *, actor: Actor, code: str, **values) -> Institution:
    """Create the institution, or update it to ``values`` if it is registered already."""
    if get_institution(session, code=code) is None:
        return create_institution(session, actor=actor, code=code, **values)
    values.setdefault("parent_code", None)
    values.setdefault("level", None)
    return update_institution(session, actor=actor, code=code, **values)


def query_institutions(session: Session, *, division: str | None = None, kind: str | None = None,
                       q: str | None = None, parent: str | None = None, status: str | None = None,
                       limit: int = 100, offset: int = 0) -> list[Institution]:
    """Institutions in a division's subtree, of a kind, whose name contains ``q``, under a parent."""
    limit, offset = checks.page(limit, offset)
    stmt = select(Institution)
    if division is not None:
        stmt = stmt.where(Institution.division_code.in_(sorted(_division_subtree(division))))
    if kind is not None:
        stmt = stmt.where(Institution.kind == checks.one_of(kind, "kind", KINDS))
    if status is not None:
        stmt = stmt.where(Institution.status == checks.one_of(status, "status", STATUSES))
    if q is not None:
        stmt = stmt.where(Institution.name.contains(checks.text(q, "q", max_length=100), autoescape=True))
    if parent is not None:
        stmt = stmt.where(Institution.parent_code == checks.code(parent, "parent", checks.INSTITUTION_CODE))
    return list(session.scalars(stmt.order_by(Institution.code).limit(limit).offset(offset)))


def _division_subtree(division: str) -> set[str]:
    get_region_or_raise(code=division, field="/division")
    return subtree_codes(code=division)


__all__ = ["get_institution", "get_institution_or_raise", "create_institution", "update_institution",
           "register_institution", "query_institutions", "MAX_RESULTS"]
