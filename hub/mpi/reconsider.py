"""The reverse near-miss: when a valid resident ID is indexed for a person, the records kept earlier with an
untrusted ID that may mean it are reconsidered (issue 23).

The forward rule (``matching.with_near_misses``) helps a record whose invalid ID arrives *after* the valid
one. Here the order is the other: the record with the invalid ID was resolved first (a person of its own,
or someone else), and ``mpi_meant_id`` remembers, per record, the valid IDs one slip from its invalid ID
(and the two IDs of a conflicting pair) that nobody held then. Indexing such an ID costs one look-up on
that table's index; for each record found, the forward rule is applied inverted — the record's snapshot
scored against the new holder's golden record, plus ``near_miss_bonus`` — under the same guards:

- auto-link score, not barred (twins: a given name that differs with a slip where twins' IDs differ), and
  the record's person holds no valid resident ID → that person is merged into the holder (``merge``,
  audited as actor ``mpi``), the open review items between the two settled as linked;
- else review score with agreeing names (``names_agree``) → a review item (reason ``near-miss``);
- a conflicting pair's record → a review item (reason ``id-conflict``), never a merge.

The same rows guard the record with the valid ID itself (``bar_meant``): its demographics alone could
auto-link it onto the person kept with the untrusted ID (homophone twins score 31) — barred there too.
"""
from __future__ import annotations

from .matching import (AUTO_LINK_THRESHOLD, REVIEW_THRESHOLD, Candidate, Demographics, NearMiss, names_agree,
                       same_given_name, sibling_slip, with_near_misses)
from .merge import merge
from .models import PersonStatus, ReviewReason
from . import sql as index_sql

ACTOR = "mpi"  # the audit actor of a merge the index makes itself


def reconsider(resolver, value: str, person_id: int, record_id: int) -> None:
    """Apply the near-miss rule inverted to the records whose untrusted ID may mean ``value``, just indexed for
    ``person_id`` by the record ``record_id``. ``resolver``: the ``service.Resolver`` in progress."""
    rows = resolver.meant_rows(value)
    if not rows:
        return
    holder = Demographics(*resolver.persons[person_id].values)
    for row in rows:
        other = resolver.current(row.person_id)
        if other == person_id:
            continue
        paired = resolver.review_open(record_id, other) or resolver.review_open(row.record_id, person_id)
        if row.reason == ReviewReason.ID_CONFLICT.value:
            if not paired:
                resolver.open_review(row.record_id, person_id, None, ReviewReason.ID_CONFLICT.value)
            continue
        [candidate] = with_near_misses(row.demographics, [], {person_id: NearMiss(holder, value, row.typed)})
        if candidate.score >= AUTO_LINK_THRESHOLD and not candidate.barred and not resolver.resident_ids([other]):
            _merge(resolver, survivor=person_id, retired=other)
        elif candidate.score >= REVIEW_THRESHOLD and names_agree(row.demographics, holder) and not paired:
            resolver.open_review(row.record_id, person_id, candidate.score, ReviewReason.NEAR_MISS.value)


def bar_meant(resolver, probe: Demographics, candidates: list[Candidate]) -> list[Candidate]:
    """``candidates`` of a record with the valid resident ID ``probe.resident_id``, a person kept with an
    untrusted ID that may mean it barred from auto-link where the forward guards would bar the other way:
    the twins bar (a given name that differs, a slip where twins' IDs differ), or a conflicting pair."""
    value = probe.resident_id
    barred = set()
    for row in resolver.meant_rows(value):
        if row.reason == ReviewReason.ID_CONFLICT.value or (
                sibling_slip(row.typed, value) and not same_given_name(probe, row.demographics)):
            barred.add(resolver.current(row.person_id))
    if not barred:
        return candidates
    return [Candidate(c.person_id, c.score, True) if c.person_id in barred else c for c in candidates]


def _merge(resolver, *, survivor: int, retired: int) -> None:
    """Merge ``retired`` into ``survivor`` in the resolver's transaction and keep its caches true."""
    merge(resolver.session, survivor_id=survivor, retired_id=retired, actor=ACTOR,
          reason="near-miss: an invalid resident ID one slip from the survivor's", now=resolver.at, resolving=True)
    known = resolver.persons[retired]
    known.status, known.merged_into_id = PersonStatus.MERGED.value, survivor
    index_sql.settle_reviews_between(resolver.sql, survivor, retired, actor=ACTOR, now=resolver.now)


__all__ = ["reconsider", "bar_meant", "ACTOR"]
