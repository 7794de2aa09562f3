"""Who may see which cells: a bureau sees the districts of its registry region, a member itself.

A bureau-role organization (卫生健康行政部门) is registered with the division it governs: a city
bureau sees every district-level division under its city, a district bureau its own district. Any
other organization sees only its own institution's cells (and reference data of its district).
A bureau that governs every district in the registry (the usual city-wide platform) is not
filtered at all, which lets its queries read the city-wide rollups.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from olap.cubes import Scope

from ..registry.access import role_of
from ..registry.models import DISTRICT_LEVELS, Institution, Region


def districts_under(session: Session, division_code: str) -> frozenset[str]:
    """District-level divisions at or below ``division_code`` in ``registry_region``."""
    regions = session.execute(select(Region.code, Region.level, Region.parent_code)).all()
    children: dict[str, list[str]] = {}
    levels = {}
    for code, level, parent in regions:
        levels[code] = level
        children.setdefault(parent or "", []).append(code)
    found, stack, seen = set(), [division_code], set()
    while stack:
        code = stack.pop()
        if code in seen:
            continue
        seen.add(code)
        if levels.get(code) in DISTRICT_LEVELS:
            found.add(code)
        stack.extend(children.get(code, ()))
    return frozenset(found)


def scope_for(session: Session, member: str) -> Scope:
    """The cells ``member`` may query (see the module docstring)."""
    if role_of(session, member) == "bureau":
        division = session.scalar(select(Institution.division_code).where(Institution.code == member))
        districts = districts_under(session, division or "")
        if districts and districts >= districts_under(session, ""):
            return Scope()  # it governs every district there is: no filter, so city-wide rollups answer
        return Scope(districts=districts)
    district = session.scalar(select(Institution.division_code).where(Institution.code == member))
    return Scope(districts=frozenset({district}) if district else frozenset(), institutions=frozenset({member}))


__all__ = ["districts_under", "scope_for"]
