"""Where an institution sits: region → district → (parent institutions →) institution → departments."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from .models import Department, Institution, Region
from .regions import region_path
from .service import get_institution, get_institution_or_raise
from .staff import query_departments


@dataclass(frozen=True)
class InstitutionChain:
    """Where an institution sits: divisions (province first), parent institutions (top first), departments."""

    divisions: list[Region]
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


__all__ = ["InstitutionChain", "chain_of"]
