"""Administrative divisions (GB/T 2260): read from the divisions code list, mirrored into registry_region.

The code list is the source of truth (it is loaded once per process); the table is a copy that SQL
joins and the analytics ETL use (region → institution → department).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.errors import HubError
from schemas.terminology import lookup, value_set

from .actor import Actor
from .models import DISTRICT_LEVELS, DIVISIONS, Region


def _region(concept) -> Region:
    # A transient Region: a value object, never added to a session.
    return Region(code=concept.code, name=concept.display, level=concept.extra.get("level", ""),
                  parent_code=concept.parent)


def get_region(*, code: str) -> Region | None:
    """The division with this code, or None."""
    concept = lookup(DIVISIONS, code) if isinstance(code, str) else None
    return None if concept is None else _region(concept)


def get_region_or_raise(*, code: str, field: str | None = None) -> Region:
    """The division with this code; ``registry.not_found`` (or ``registry.invalid`` with ``field``)."""
    region = get_region(code=code)
    if region is None:
        if field is not None:
            raise HubError("registry.invalid", "unknown division code", field=field)
        raise HubError("registry.not_found", "unknown division code")
    return region


def region_children(*, code: str) -> list[Region]:
    """The divisions directly under ``code``, in code-list order."""
    get_region_or_raise(code=code)
    return [_region(c) for c in value_set(DIVISIONS) if c.parent == code]


def region_path(*, code: str) -> list[Region]:
    """The division and its ancestors, root (province) first."""
    path, region = [], get_region_or_raise(code=code)
    while region is not None and len(path) < 8:
        path.append(region)
        region = get_region(code=region.parent_code) if region.parent_code else None
    return path[::-1]


def subtree_codes(*, code: str) -> set[str]:
    """``code`` and every division below it."""
    get_region_or_raise(code=code)
    children: dict[str, list[str]] = {}
    for concept in value_set(DIVISIONS):
        if concept.parent:
            children.setdefault(concept.parent, []).append(concept.code)
    found, todo = set(), [code]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, ()))
    return found


def is_district(region: Region) -> bool:
    return region.level in DISTRICT_LEVELS


def sync_regions(session: Session, *, actor: Actor) -> int:
    """Copy the divisions code list into registry_region (insert or update; never delete); rows changed."""
    existing = {row.code: row for row in session.scalars(select(Region))}
    changed = 0
    for concept in value_set(DIVISIONS):
        wanted = _region(concept)
        row = existing.get(concept.code)
        if row is None:
            session.add(wanted)
            changed += 1
        elif (row.name, row.level, row.parent_code) != (wanted.name, wanted.level, wanted.parent_code):
            row.name, row.level, row.parent_code = wanted.name, wanted.level, wanted.parent_code
            changed += 1
    if changed:
        session.flush()
        actor.audit(session, "registry.region.sync")
    return changed


__all__ = ["get_region", "get_region_or_raise", "region_children", "region_path", "subtree_codes", "is_district",
           "sync_regions"]
