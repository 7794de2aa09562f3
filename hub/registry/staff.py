"""Department and practitioner registries of an institution (WS/T 790 staff registry, IHE HPD).

Same verbs as ``service``; practitioner names are personal data of staff and never reach the audit.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.errors import HubError
from protocol.timestamps import utcnow
from schemas.terminology import lookup

from . import checks
from .actor import Actor
from .models import DEPARTMENTS, STATUSES, TITLES, Department, EntryStatus, Practitioner
from .service import get_institution_or_raise

_DEPARTMENT_FIELDS = frozenset({"name", "standard_code", "status"})
_PRACTITIONER_FIELDS = frozenset({"name", "title_code", "department_code", "status", "synthetic"})


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
        checked["name"] = checks.text(values["name"], "name", max_length=100)
    if "standard_code" in values:
        if not isinstance(values["standard_code"], str) or lookup(DEPARTMENTS, values["standard_code"]) is None:
            raise checks.invalid("standard_code", "not in the departments code list")
        checked["standard_code"] = values["standard_code"]
    if "status" in values:
        checked["status"] = checks.one_of(values["status"], "status", STATUSES)
    return checked


def create_department(session: Session, *, actor: Actor, institution_code: str, code: str, name: str,
                      standard_code: str, status: str = EntryStatus.ACTIVE.value, now: datetime | None = None) -> Department:
    institution = get_institution_or_raise(session, code=institution_code)
    code = checks.code(code, "code")
    if get_department(session, institution_code=institution.code, code=code) is not None:
        raise checks.invalid("code", "department code already registered for this institution")
    checked = _check_department({"name": name, "standard_code": standard_code, "status": status})
    now = now or utcnow()
    department = Department(institution_code=institution.code, code=code, created_at=now, updated_at=now, **checked)
    session.add(department)
    session.flush()
    actor.audit(session, "registry.department.create")
    return department


def update_department(session: Session, *, actor: Actor, institution_code: str, code: str,
                      now: datetime | None = None, **changes) -> Department:
    checks.updatable(changes, _DEPARTMENT_FIELDS)
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
        stmt = stmt.where(Department.status == checks.one_of(status, "status", STATUSES))
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
        checked["name"] = checks.text(values["name"], "name", max_length=100)
    if "title_code" in values:
        checked["title_code"] = checks.one_of(values["title_code"] or None, "title_code", TITLES, required=False)
    if "department_code" in values:
        department = values["department_code"] or None
        if department is not None and get_department(session, institution_code=institution_code,
                                                     code=department) is None:
            raise checks.invalid("department_code", "not a department of this institution")
        checked["department_code"] = department
    if "status" in values:
        checked["status"] = checks.one_of(values["status"], "status", STATUSES)
    if "synthetic" in values:
        if not isinstance(values["synthetic"], bool):
            raise checks.invalid("synthetic", "expected true or false")
        checked["synthetic"] = values["synthetic"]
    return checked


def create_practitioner(session: Session, *, actor: Actor, institution_code: str, code: str, name: str,
                        title_code: str | None = None, department_code: str | None = None,
                        status: str = EntryStatus.ACTIVE.value, synthetic: bool = False,
                        now: datetime | None = None) -> Practitioner:
    institution = get_institution_or_raise(session, code=institution_code)
    code = checks.code(code, "code")
    if get_practitioner(session, institution_code=institution.code, code=code) is not None:
        raise checks.invalid("code", "practitioner code already registered for this institution")
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
    checks.updatable(changes, _PRACTITIONER_FIELDS)
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
        stmt = stmt.where(Practitioner.status == checks.one_of(status, "status", STATUSES))
    return list(session.scalars(stmt.order_by(Practitioner.code)))


__all__ = ["get_department", "get_department_or_raise", "create_department", "update_department",
           "register_department", "query_departments", "get_practitioner", "get_practitioner_or_raise",
           "create_practitioner", "update_practitioner", "register_practitioner", "query_practitioners"]
