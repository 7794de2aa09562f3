"""Read-only JSON view of the registries and code lists for the web console (``/api/registry``).

These lists hold no patient data. Errors are rendered from the machine code alone
(``hub.web.errors.error_response``: code, message, and the field when there is one) with the code's
HTTP status, never echoing the request.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from protocol.errors import HubError
from schemas import terminology

from ..registry import hierarchy, service, staff
from ..registry.regions import region_children
from .deps import Member
from .errors import MAX_ROW_ID, HubErrorRoute

router = APIRouter(prefix="/api/registry", tags=["registry"], route_class=HubErrorRoute)


def _sessions(request: Request):
    return request.app.state.hub.sessions


def _time(value) -> str | None:
    return value.isoformat() if value is not None else None


def _institution(row) -> dict:
    return {"code": row.code, "name": row.name, "kind": row.kind, "level": row.level,
            "division_code": row.division_code, "parent_code": row.parent_code, "status": row.status,
            "created_at": _time(row.created_at), "updated_at": _time(row.updated_at)}


def _department(row) -> dict:
    return {"institution_code": row.institution_code, "code": row.code, "name": row.name,
            "standard_code": row.standard_code, "status": row.status}


def _practitioner(row) -> dict:
    return {"institution_code": row.institution_code, "code": row.code, "name": row.name,
            "title_code": row.title_code, "department_code": row.department_code, "status": row.status,
            "synthetic": row.synthetic}


def _region(row) -> dict:
    return {"code": row.code, "name": row.name, "level": row.level, "parent_code": row.parent_code}


def _concept(concept) -> dict:
    return {"system": concept.system, "code": concept.code, "display": concept.display, "parent": concept.parent,
            "extra": dict(concept.extra)}


@router.get("/institutions")
def list_institutions(request: Request, division: str | None = None, kind: str | None = None, q: str | None = None,
                      parent: str | None = None, limit: int = 100,
                      offset: Annotated[int, Query(le=MAX_ROW_ID)] = 0):
    """Institutions in a division's subtree, of a kind, whose name contains ``q``, under a parent."""
    with _sessions(request)() as session:
        rows = service.query_institutions(session, division=division, kind=kind, q=q, parent=parent, limit=limit,
                                          offset=offset)
        return [_institution(row) for row in rows]


@router.get("/institutions/{code}")
def get_institution(request: Request, code: str):
    """One institution with its place: divisions (province first), parent institutions, departments."""
    with _sessions(request)() as session:
        chain = hierarchy.chain_of(session, institution_code=code)
        return {**_institution(chain.institution), "divisions": [_region(r) for r in chain.divisions],
                "parents": [_institution(p) for p in chain.parents],
                "departments": [_department(d) for d in chain.departments]}


@router.get("/institutions/{code}/departments")
def list_departments(request: Request, code: str):
    with _sessions(request)() as session:
        return [_department(row) for row in staff.query_departments(session, institution_code=code)]


@router.get("/institutions/{code}/practitioners")
def list_practitioners(request: Request, _member: Member, code: str, department: str | None = None):
    """Staff names are personal data: a member's bearer token is required."""
    with _sessions(request)() as session:
        rows = staff.query_practitioners(session, institution_code=code, department_code=department)
        return [_practitioner(row) for row in rows]


@router.get("/regions/{code}/children")
def list_region_children(code: str):
    """The divisions directly under a GB/T 2260 division."""
    return [_region(row) for row in region_children(code=code)]


@router.get("/terminology/{system}")
def list_value_set(system: str):
    """Every concept of a code list, in list order."""
    concepts = terminology.value_set(system)
    if not concepts:
        raise HubError("registry.not_found", "unknown code system")
    return [_concept(c) for c in concepts]


@router.get("/terminology/{system}/{code}")
def lookup_code(system: str, code: str):
    concept = terminology.lookup(system, code)
    if concept is None:
        raise HubError("registry.not_found", "unknown code system or code")
    return _concept(concept)


__all__ = ["router"]
