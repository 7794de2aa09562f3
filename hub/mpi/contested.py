"""Resident IDs in doubt while a patient is resolved (``hub.mpi.service``): a record typed with two different
valid IDs (``CONFLICTING_RESIDENT_IDS``), and the persons holding a valid ID one typo away from an invalid
one. ``resolver``: the ``service.Resolver`` in progress (its identifiers and persons as last read)."""
from __future__ import annotations

from .matching import REVIEW_THRESHOLD, Candidate, Demographics, NearMiss, Verdict, score
from .resident_id import RESIDENT_ID_ROOT, near_misses
from .traits import Probe


def conflict_pair(probe: Probe) -> str:
    """The conflicting resident IDs kept as one value (``CONFLICTING_RESIDENT_IDS``)."""
    return "|".join(probe.conflict_ids)[:64]


def conflict_verdict(resolver, probe: Probe, candidates: list[Candidate], verdict: Verdict) -> Verdict:
    """Two different valid resident IDs: when a person holds either, no link at all; the record goes to
    review against every holder (whatever its score) and the plausible rest."""
    holders = conflict_holders(resolver, probe)
    if not holders:
        return verdict
    scored = {c.person_id: c for c in candidates}
    review = [scored.get(person_id) or Candidate(person_id, score(probe.demographics, Demographics(
        *resolver.persons[person_id].values)), True) for person_id in sorted(holders)]
    review += [c for c in candidates if c.person_id not in holders and c.score >= REVIEW_THRESHOLD][:3]
    return Verdict(None, max(c.score for c in review), tuple(review))


def conflict_holders(resolver, probe: Probe) -> set[int]:
    """The persons (current) holding either of the probe's two valid resident IDs."""
    return {resolver.current(holder) for value in probe.conflict_ids
            if (holder := resolver.identifiers.get((RESIDENT_ID_ROOT, value))) is not None}


def near_miss_holders(resolver, probe: Probe) -> dict[int, NearMiss]:
    """Persons holding a valid resident ID one typo away from the probe's invalid one: their golden record."""
    near: dict[int, NearMiss] = {}
    for value in probe.invalid_ids:
        for candidate in near_misses(value):
            holder = resolver.identifiers.get((RESIDENT_ID_ROOT, candidate))
            if holder is not None:
                person_id = resolver.current(holder)
                near[person_id] = NearMiss(Demographics(*resolver.persons[person_id].values), candidate, value)
    return near


__all__ = ["conflict_holders", "conflict_pair", "conflict_verdict", "near_miss_holders"]
