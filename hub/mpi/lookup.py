"""Read side of the index: follow merges, find persons for the resident registry query."""
from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from schemas.normalize import resident_id_spelled, spelled

from ..errors import MpiError
from .matching import normalize_phone
from .models import Person, PersonIdentifier, PersonStatus
from .names import name_pinyin, normalize_name
from .resident_id import RESIDENT_ID_ROOT
from .traits import INVALID_RESIDENT_ID

_MAX_HOPS = 100  # merge chains are short; a cycle would be a bug, not a reason to loop forever


def current_person_id(session: Session, person_id: int) -> int:
    """The active person ``person_id`` is (or was merged into); ``MpiError`` if there is none."""
    for _ in range(_MAX_HOPS):
        row = session.execute(select(Person.status, Person.merged_into_id).where(Person.id == person_id)).first()
        if row is None:
            raise MpiError("mpi.person.not_found", "no such person")
        status, merged_into = row
        if status != PersonStatus.MERGED.value or merged_into is None:
            return person_id
        person_id = merged_into
    raise MpiError("mpi.conflict", "merge chain too long")


def get_person(session: Session, person_id: int) -> Person:
    """The active person for ``person_id`` (merges followed)."""
    return session.get(Person, current_person_id(session, person_id))


def find_persons(session: Session, *, identifier: tuple[str, str] | None = None, name: str | None = None,
                 birth_date: date | None = None, sex: str | None = None, phone: str | None = None,
                 limit: int = 20) -> list[Person]:
    """Active persons by identifier (root, value), or by demographics (all given must agree).

    A name matches by hanzi or by toneless pinyin (homophones are found). Resident IDs are held
    under ``RESIDENT_ID_ROOT`` whatever root the documents used.
    """
    limit = max(1, min(limit, 200))
    if identifier is not None:
        root, value = identifier
        # spelled as intake spells it (full-width, spaces, '-' between digit groups): the query finds what was linked
        value = resident_id_spelled(value) if root == RESIDENT_ID_ROOT else spelled(value)
        holder = session.scalar(select(PersonIdentifier.person_id).where(  # an invalid ID kept is no identity
            PersonIdentifier.root == root, PersonIdentifier.value == value, PersonIdentifier.kind != INVALID_RESIDENT_ID))
        return [] if holder is None else [get_person(session, holder)]
    query = select(Person).where(Person.status == PersonStatus.ACTIVE.value)
    criteria = 0
    if name and name.strip():
        normalized = normalize_name(name)
        query = query.where(or_(Person.name == normalized, Person.name_pinyin == name_pinyin(normalized)))
        criteria += 1
    if birth_date is not None:
        query, criteria = query.where(Person.birth_date == birth_date), criteria + 1
    if sex is not None:
        query, criteria = query.where(Person.sex == sex), criteria + 1
    if phone and normalize_phone(phone):
        query, criteria = query.where(Person.phone == normalize_phone(phone)), criteria + 1
    if not criteria:
        return []  # no criteria is not "everyone"
    return list(session.scalars(query.order_by(Person.id).limit(limit)))


__all__ = ["current_person_id", "get_person", "find_persons"]
