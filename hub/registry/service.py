"""Institution, department and practitioner registries: the same verbs for each entity.

``get`` / ``get_or_raise`` / ``create`` / ``update`` / ``register`` (create or update) / ``query``.
Every write is checked (codes against their code lists) and audited in the caller's transaction;
an error names the field at fault (a JSON pointer to the argument) and never quotes the input.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import HubError
from ..terminology import lookup
from ..wssec.timestamps import utcnow
from .actor import HUB_OPERATOR, Actor
from .models import DEPARTMENTS, KINDS, LEVELS, STATUSES, TITLES, Department, Institution, Practitioner, Region
from .regions import get_region_or_raise, is_district, region_path, subtree_codes, sync_regions

INSTITUTION_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
LOCAL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
MAX_RESULTS = 500
_INSTITUTION_FIELDS = frozenset({"name", "kind", "level", "division_code", "parent_code", "status"})
_DEPARTMENT_FIELDS = frozenset({"name", "standard_code", "status"})
_PRACTITIONER_FIELDS = frozenset({"name", "title_code", "department_code", "status", "synthetic"})


def _invalid(field: str, detail: str) -> HubError:
    return HubError("registry.invalid", detail, field=f"/{field}")


def _text(value, field: str, *, max_length: int, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _invalid(field, "missing")
        return None
    if not isinstance(value, str) or len(value.strip()) > max_length:
        raise _invalid(field, "not a text of the allowed length")
    return value.strip()


def _code(value, field: str, pattern: re.Pattern = LOCAL_CODE) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise _invalid(field, "missing or malformed code")
    return value


def _one_of(value, field: str, allowed, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if value not in allowed:
        raise _invalid(field, "not a known code")
    return value


def _changes(changes: dict, allowed: frozenset) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"not updatable: {sorted(unknown)}")


def _limit(limit: int, offset: int) -> tuple[int, int]:
    if not isinstance(limit, int) or not 0 < limit <= MAX_RESULTS:
        raise _invalid("limit", f"limit must be 1..{MAX_RESULTS}")
    if not isinstance(offset, int) or offset < 0:
        raise _invalid("offset", "offset must not be negative")
    return limit, offset


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
        checked["name"] = _text(values["name"], "name", max_length=200)
    if "kind" in values:
        checked["kind"] = _one_of(values["kind"], "kind", KINDS)
    if "level" in values:
        checked["level"] = _one_of(values["level"], "level", LEVELS, required=False)
    if "status" in values:
        checked["status"] = _one_of(values["status"], "status", STATUSES)
    if "division_code" in values:
        region = get_region_or_raise(code=values["division_code"], field="/division_code")
        if not is_district(region):
            raise _invalid("division_code", "an institution belongs to a district-level division")
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
        raise _invalid("parent_code", "unknown parent institution")
    seen = {code}
    while parent is not None:  # the new parent must not sit below this institution
        if parent.code in seen:
            raise _invalid("parent_code", "parent chain would form a cycle")
        seen.add(parent.code)
        parent = get_institution(session, code=parent.parent_code) if parent.parent_code else None
    return parent_code


def create_institution(session: Session, *, actor: Actor, code: str, name: str, kind: str, division_code: str,
                       level: str | None = None, parent_code: str | None = None, status: str = "active",
                       now: datetime | None = None) -> Institution:
    """Register a new institution; ``registry.invalid`` if the code is taken or a field is unusable."""
    code = _code(code, "code", INSTITUTION_CODE)
    if get_institution(session, code=code) is not None:
        raise _invalid("code", "institution code already registered")
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
    _changes(changes, _INSTITUTION_FIELDS)
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
    limit, offset = _limit(limit, offset)
    stmt = select(Institution)
    if division is not None:
        stmt = stmt.where(Institution.division_code.in_(sorted(_division_subtree(division))))
    if kind is not None:
        stmt = stmt.where(Institution.kind == _one_of(kind, "kind", KINDS))
    if status is not None:
        stmt = stmt.where(Institution.status == _one_of(status, "status", STATUSES))
    if q is not None:
        stmt = stmt.where(Institution.name.contains(_text(q, "q", max_length=100), autoescape=True))
    if parent is not None:
        stmt = stmt.where(Institution.parent_code == _code(parent, "parent", INSTITUTION_CODE))
    return list(session.scalars(stmt.order_by(Institution.code).limit(limit).offset(offset)))


def _division_subtree(division: str) -> set[str]:
    get_region_or_raise(code=division, field="/division")
    return subtree_codes(code=division)


# ----------------------------------------------------------------------------------- departments

def get_department(session: Session, *, institution_code: str, code: str) -> Department | None:
    return session.scalar(select(Department).where(Department.institution_code == institution_code,
                                                   Department.code == code))


def get_department_or_raise(session: Session, *, institution_code: str, code: str) -> Department:
    department = get_department(session, institution_code=institution_code, code=code)
    if department is None:
        raise HubError("registry.not_found", "no such department")
    return department


def _check_department(values: dict) -> dict:
    checked = {}
    if "name" in values:
        checked["name"] = _text(values["name"], "name", max_length=100)
    if "standard_code" in values:
        if not isinstance(values["standard_code"], str) or lookup(DEPARTMENTS, values["standard_code"]) is None:
            raise _invalid("standard_code", "not in the departments code list")
        checked["standard_code"] = values["standard_code"]
    if "status" in values:
        checked["status"] = _one_of(values["status"], "status", STATUSES)
    return checked


def create_department(session: Session, *, actor: Actor, institution_code: str, code: str, name: str,
                      standard_code: str, status: str = "active", now: datetime | None = None) -> Department:
    institution = get_institution_or_raise(session, code=institution_code)
    code = _code(code, "code")
    if get_department(session, institution_code=institution.code, code=code) is not None:
        raise _invalid("code", "department code already registered for this institution")
    checked = _check_department({"name": name, "standard_code": standard_code, "status": status})
    now = now or utcnow()
    department = Department(institution_code=institution.code, code=code, created_at=now, updated_at=now, **checked)
    session.add(department)
    session.flush()
    actor.audit(session, "registry.department.create")
    return department


def update_department(session: Session, *, actor: Actor, institution_code: str, code: str,
                      now: datetime | None = None, **changes) -> Department:
    _changes(changes, _DEPARTMENT_FIELDS)
    department = get_department_or_raise(session, institution_code=institution_code, code=code)
    for key, value in _check_department(changes).items():
        setattr(department, key, value)
    department.updated_at = now or utcnow()
    session.flush()
    actor.audit(session, "registry.department.update")
    return department


def register_department(session: Session, *, actor: Actor, institution_code: str, code: str,
                        **values) -> Department:
    if get_department(session, institution_code=institution_code, code=code) is None:
        return create_department(session, actor=actor, institution_code=institution_code, code=code, **values)
    return update_department(session, actor=actor, institution_code=institution_code, code=code, **values)


def query_departments(session: Session, *, institution_code: str, standard_code: str | None = None,
                      status: str | None = None) -> list[Department]:
    """The departments of one institution (``registry.not_found`` for an unknown institution)."""
    get_institution_or_raise(session, code=institution_code)
    stmt = select(Department).where(Department.institution_code == institution_code)
    if standard_code is not None:
        stmt = stmt.where(Department.standard_code == standard_code)
    if status is not None:
        stmt = stmt.where(Department.status == _one_of(status, "status", STATUSES))
    return list(session.scalars(stmt.order_by(Department.code)))


# --------------------------------------------------------------------------------- practitioners

def get_practitioner(session: Session, *, institution_code: str, code: str) -> Practitioner | None:
    return session.scalar(select(Practitioner).where(Practitioner.institution_code == institution_code,
                                                     Practitioner.code == code))


def get_practitioner_or_raise(session: Session, *, institution_code: str, code: str) -> Practitioner:
    practitioner = get_practitioner(session, institution_code=institution_code, code=code)
    if practitioner is None:
        raise HubError("registry.not_found", "no such practitioner")
    return practitioner


def _check_practitioner(session: Session, institution_code: str, values: dict) -> dict:
    checked = {}
    if "name" in values:
        checked["name"] = _text(values["name"], "name", max_length=100)
    if "title_code" in values:
        checked["title_code"] = _one_of(values["title_code"] or None, "title_code", TITLES, required=False)
    if "department_code" in values:
        department = values["department_code"] or None
        if department is not None and get_department(session, institution_code=institution_code,
                                                     code=department) is None:
            raise _invalid("department_code", "not a department of this institution")
        checked["department_code"] = department
    if "status" in values:
        checked["status"] = _one_of(values["status"], "status", STATUSES)
    if "synthetic" in values:
        if not isinstance(values["synthetic"], bool):
            raise _invalid("synthetic", "expected true or false")
        checked["synthetic"] = values["synthetic"]
    return checked


def create_practitioner(session: Session, *, actor: Actor, institution_code: str, code: str, name: str,
                        title_code: str | None = None, department_code: str | None = None,
                        status: str = "active", synthetic: bool = False,
                        now: datetime | None = None) -> Practitioner:
    institution = get_institution_or_raise(session, code=institution_code)
    code = _code(code, "code")
    if get_practitioner(session, institution_code=institution.code, code=code) is not None:
        raise _invalid("code", "practitioner code already registered for this institution")
    checked = _check_practitioner(session, institution.code, {
        "name": name, "title_code": title_code, "department_code": department_code, "status": status,
        "synthetic": synthetic})
    now = now or utcnow()
    practitioner = Practitioner(institution_code=institution.code, code=code, created_at=now, updated_at=now,
                                **checked)
    session.add(practitioner)
    session.flush()
    actor.audit(session, "registry.practitioner.create")  # never the name: staff names are personal data
    return practitioner


def update_practitioner(session: Session, *, actor: Actor, institution_code: str, code: str,
                        now: datetime | None = None, **changes) -> Practitioner:
    _changes(changes, _PRACTITIONER_FIELDS)
    practitioner = get_practitioner_or_raise(session, institution_code=institution_code, code=code)
    for key, value in _check_practitioner(session, institution_code, changes).items():
        setattr(practitioner, key, value)
    practitioner.updated_at = now or utcnow()
    session.flush()
    actor.audit(session, "registry.practitioner.update")
    return practitioner


def register_practitioner(session: Session, *, actor: Actor, institution_code: str, code: str,
                          **values) -> Practitioner:
    if get_practitioner(session, institution_code=institution_code, code=code) is None:
        return create_practitioner(session, actor=actor, institution_code=institution_code, code=code, **values)
    values.setdefault("title_code", None)
    values.setdefault("department_code", None)
    return update_practitioner(session, actor=actor, institution_code=institution_code, code=code, **values)


def query_practitioners(session: Session, *, institution_code: str, department_code: str | None = None,
                        title_code: str | None = None, status: str | None = None) -> list[Practitioner]:
    """The practitioners of one institution, optionally of one department or title."""
    get_institution_or_raise(session, code=institution_code)
    stmt = select(Practitioner).where(Practitioner.institution_code == institution_code)
    if department_code is not None:
        stmt = stmt.where(Practitioner.department_code == department_code)
    if title_code is not None:
        stmt = stmt.where(Practitioner.title_code == title_code)
    if status is not None:
        stmt = stmt.where(Practitioner.status == _one_of(status, "status", STATUSES))
    return list(session.scalars(stmt.order_by(Practitioner.code)))


# ------------------------------------------------------------------------------------ hierarchy

@dataclass(frozen=True)
class InstitutionChain:
    """Where an institution sits: divisions (province first), parent institutions (top first), departments."""

    divisions: list
    parents: list[Institution]
    institution: Institution
    departments: list[Department]


def chain_of(session: Session, *, institution_code: str) -> InstitutionChain:
    """The chain region → district → (parent institutions →) institution → departments."""
    institution = get_institution_or_raise(session, code=institution_code)
    parents, parent = [], institution.parent_code
    while parent and len(parents) < 16:
        row = get_institution(session, code=parent)
        if row is None:
            break
        parents.append(row)
        parent = row.parent_code
    return InstitutionChain(divisions=region_path(code=institution.division_code), parents=parents[::-1],
                            institution=institution,
                            departments=query_departments(session, institution_code=institution.code))


__all__ = [
    "get_institution", "get_institution_or_raise", "create_institution", "update_institution",
    "register_institution", "query_institutions", "get_department", "get_department_or_raise", "create_department",
    "update_department", "register_department", "query_departments", "get_practitioner",
    "get_practitioner_or_raise", "create_practitioner", "update_practitioner", "register_practitioner",
    "query_practitioners", "InstitutionChain", "chain_of", "MAX_RESULTS",
]
