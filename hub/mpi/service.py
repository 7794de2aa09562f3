"""Resolve a document's patient to a person: known record, known identifier, score, or new person.

``resolve_many`` prefetches in a few statements what a batch needs (its patient records, its
identifiers, their persons), then settles the items in order, writing as it goes, so a later
item sees what an earlier one created: the result is the same as calling ``resolve`` in order.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ..store.rawsql import RawSql
from . import sql as index_sql
from .matching import (Demographics, contradicts_its_id, decide, names_agree, rank, swapped_birth_date,
                       with_near_misses)
from .models import LinkDecision, PersonStatus, ReviewReason, ReviewStatus
from .reconsider import bar_meant, reconsider
from .contested import conflict_holders, conflict_pair, conflict_verdict, near_miss_holders
from .locks import share_index
from .sql import DEMOGRAPHIC
from .resident_id import RESIDENT_ID_ROOT, near_misses
from .traits import (CONFLICTING_RESIDENT_IDS, INVALID_RESIDENT_ID, RESIDENT_ID, PatientTraits, Probe, Resolution,
                     probe_of)

_IDENTIFIER, _AUTO, _REVIEW, _NEW, _EXISTING = (LinkDecision.IDENTIFIER.value, LinkDecision.AUTO.value,
                                               LinkDecision.REVIEW.value, LinkDecision.NEW.value, "existing")
_ACTIVE, _MERGED, _OPEN = PersonStatus.ACTIVE.value, PersonStatus.MERGED.value, ReviewStatus.OPEN.value
_BY_SCORE, _BY_IDENTIFIER, _NEAR_MISS, _ID_CONFLICT = (ReviewReason.SCORE.value, ReviewReason.IDENTIFIER.value,
                                                       ReviewReason.NEAR_MISS.value, ReviewReason.ID_CONFLICT.value)


def _values(d: Demographics) -> list:
    """The demographic columns' values, in ``DEMOGRAPHIC``'s order."""
    return [d.name, d.pinyin, d.sex, d.birth_date, d.phone, d.division, d.address]


@dataclass(slots=True)
class _KnownRecord:
    """A patient record as the resolver last wrote or read it."""

    id: int
    person_id: int
    demographics: Demographics


@dataclass(slots=True)
class _KnownPerson:
    """A person as the resolver last wrote or read it; ``values`` in ``DEMOGRAPHIC``'s order."""

    status: str
    merged_into_id: int | None
    values: list


class Resolver:
    """Settles patient traits against the index inside the caller's transaction."""

    def __init__(self, session: Session, now: datetime):
        self.session = session
        self.sql = RawSql(session, flush=True)  # pending ORM writes must be visible
        self.now = self.sql.time(now)
        self.at = now  # as given (an aware datetime), for the ORM's merge
        self.records: dict[tuple[str, str], _KnownRecord] = {}  # (institution, local key) → record
        self.identifiers: dict[tuple[str, str], int] = {}        # (root, value) → person id
        self.persons: dict[int, _KnownPerson] = {}
        self._meant: dict[str, list[index_sql.MeantRow]] = {}

    # -- prefetch ---------------------------------------------------------------------------
    def prefetch(self, items: list[tuple[str, Probe]]) -> None:
        keys: dict[str, list[str]] = {}
        roots: dict[str, list[str]] = {}
        for institution, probe in items:
            keys.setdefault(institution, []).append(probe.local_key)
            for _kind, root, value in probe.global_ids:
                roots.setdefault(root, []).append(value)
            for value in probe.invalid_ids:  # who holds it already, and who holds the IDs it nearly is
                roots.setdefault(RESIDENT_ID_ROOT, []).extend((value, *near_misses(value)))
            if probe.conflict_ids:  # who holds either ID, and the pair as kept
                roots.setdefault(RESIDENT_ID_ROOT, []).extend((*probe.conflict_ids, conflict_pair(probe)))
        person_ids: set[int] = set()
        pairs = sorted({(institution, key) for institution, keys_ in keys.items() for key in keys_})
        for key, record in index_sql.patient_records(self.sql, pairs):
            self.records[key] = _KnownRecord(*record)
            person_ids.add(record.person_id)
        for root, values in roots.items():
            for value, person_id in index_sql.identifier_holders(self.sql, root, values):
                self.identifiers[(root, value)] = person_id
                person_ids.add(person_id)
        self._load_persons(person_ids)

    def _load_persons(self, ids) -> None:
        missing = sorted(i for i in ids if i not in self.persons)
        for person in index_sql.persons(self.sql, missing):
            self.persons[person.id] = _KnownPerson(person.status, person.merged_into_id, _values(person.demographics))

    def current(self, person_id: int) -> int:
        """Follow merged_into to the active person."""
        seen = 0
        while True:
            if person_id not in self.persons:
                self._load_persons([person_id])
            person = self.persons[person_id]
            if person.status != _MERGED or person.merged_into_id is None or seen > 100:
                return person_id
            person_id, seen = person.merged_into_id, seen + 1

    # -- writes -----------------------------------------------------------------------------
    def _new_person(self, d: Demographics) -> int:
        person_id = index_sql.insert_person(self.sql, d, self.now)
        self.persons[person_id] = _KnownPerson(_ACTIVE, None, _values(d))
        return person_id

    def _new_record(self, institution: str, probe: Probe, person_id: int, decision: str, score: float | None) -> int:
        d = probe.demographics
        record_id = index_sql.insert_patient_record(self.sql, institution=institution, local_key=probe.local_key,
                                                    person_id=person_id, decision=decision, score=score, d=d,
                                                    now=self.now)
        self.records[(institution, probe.local_key)] = _KnownRecord(record_id, person_id, d)
        if probe.invalid_ids or probe.conflict_ids:
            self._remember_meant(probe, record_id)
        return record_id

    def _fill_golden(self, person_id: int, d: Demographics) -> None:
        """Golden record rule: a field still empty takes the first later record's value; none is overwritten."""
        if person_id not in self.persons:
            self._load_persons([person_id])
        held = self.persons[person_id].values
        changes = [(position, value) for position, (value, current) in enumerate(zip(_values(d), held))
                   if value is not None and current is None]
        if not changes:
            return
        for position, value in changes:
            held[position] = value
        index_sql.update_person(self.sql, person_id, [(DEMOGRAPHIC[position], value) for position, value in changes],
                                self.now)

    def _attach_identifiers(self, probe: Probe, person_id: int, record_id: int, *, fresh: bool = False) -> None:
        """Store the probe's global identifiers for the person; one held by another person opens a review."""
        for kind, root, value in probe.global_ids:
            holder = self.identifiers.get((root, value))
            if holder is None:
                if kind == RESIDENT_ID and not fresh and self.resident_ids([person_id]).get(person_id):
                    continue  # the person already has another resident ID: never two
                index_sql.insert_identifier(self.sql, person_id=person_id, kind=kind, root=root, value=value)
                self.identifiers[(root, value)] = person_id
                if kind == RESIDENT_ID:  # records kept with an ID that may mean this one: reconsidered
                    reconsider(self, value, person_id, record_id)
            elif self.current(holder) != person_id and not self.review_open(record_id, self.current(holder)):
                self.open_review(record_id, self.current(holder), None, _BY_IDENTIFIER)
        kept = [(INVALID_RESIDENT_ID, value) for value in probe.invalid_ids]
        if probe.conflict_ids:
            kept.append((CONFLICTING_RESIDENT_IDS, conflict_pair(probe)))
        for kind, value in kept:  # kept as typed (normalized), for the record; never linked on
            if (RESIDENT_ID_ROOT, value) not in self.identifiers:
                index_sql.insert_identifier(self.sql, person_id=person_id, kind=kind, root=RESIDENT_ID_ROOT,
                                            value=value)
                self.identifiers[(RESIDENT_ID_ROOT, value)] = person_id

    def open_review(self, record_id: int, candidate_id: int, score: float | None, reason: str) -> None:
        index_sql.insert_review(self.sql, record_id=record_id, candidate_id=candidate_id, score=score, status=_OPEN,
                                reason=reason, now=self.now)

    def _remember_meant(self, probe: Probe, record_id: int) -> None:
        """For a record without a trusted resident ID: the valid IDs its untrusted ones may mean that nobody
        holds yet (``mpi_meant_id``), so that indexing one later finds the record in one look-up."""
        if probe.demographics.resident_id:
            return
        rows = [(record_id, _NEAR_MISS, typed, value) for typed in probe.invalid_ids for value in near_misses(typed)]
        rows += [(record_id, _ID_CONFLICT, conflict_pair(probe), value) for value in probe.conflict_ids]
        index_sql.insert_meant(self.sql, [row for row in rows if (RESIDENT_ID_ROOT, row[3]) not in self.identifiers])

    def review_open(self, record_id: int, candidate_id: int) -> bool:
        return index_sql.review_open(self.sql, record_id, candidate_id)

    def resident_ids(self, person_ids: list[int]) -> dict[int, set[str]]:
        held: dict[int, set[str]] = {}
        for person_id, value in index_sql.resident_ids(self.sql, person_ids):
            held.setdefault(person_id, set()).add(value)
        return held

    # -- the decision -------------------------------------------------------------------------
    def resolve(self, institution: str, probe: Probe) -> Resolution:
        self._meant.clear()  # another record may have remembered IDs since
        known = self.records.get((institution, probe.local_key))
        if known is not None:
            return self._existing(institution, probe, known)
        person_id, contested = self._by_identifier(probe)
        if person_id is not None:
            record_id = self._new_record(institution, probe, person_id, _IDENTIFIER, None)
            self._fill_golden(person_id, probe.demographics)
            self._attach_identifiers(probe, person_id, record_id)
            return Resolution(person_id, record_id, _IDENTIFIER, None)
        candidates = self._candidates(probe)
        verdict = decide(candidates)
        if probe.conflict_ids:
            verdict = conflict_verdict(self, probe, candidates, verdict)
        if verdict.person_id is not None:
            record_id = self._new_record(institution, probe, verdict.person_id, _AUTO, verdict.score)
            self._fill_golden(verdict.person_id, probe.demographics)
            self._attach_identifiers(probe, verdict.person_id, record_id)  # a contested ID's holder: review
            return Resolution(verdict.person_id, record_id, _AUTO, verdict.score)
        # a resident ID whose digits contradict the record: its holder is a review item, not a link
        decision = _REVIEW if verdict.review or contested is not None else _NEW
        person_id = self._new_person(probe.demographics)
        record_id = self._new_record(institution, probe, person_id, decision, verdict.score)
        held = conflict_holders(self, probe) if probe.conflict_ids else set()
        for candidate in verdict.review:
            self.open_review(record_id, candidate.person_id, candidate.score,
                              _ID_CONFLICT if candidate.person_id in held else _BY_SCORE)
        self._attach_identifiers(probe, person_id, record_id, fresh=True)  # opens the contested holder's item once
        return Resolution(person_id, record_id, decision, verdict.score)

    def _existing(self, institution: str, probe: Probe, known: _KnownRecord) -> Resolution:
        record_id, snapshot = known.id, known.demographics
        person_id = self.current(known.person_id)
        d = probe.demographics
        latest = Demographics(*(new if new is not None else old for new, old in zip(
            (*_values(d), d.resident_id), (*_values(snapshot), snapshot.resident_id))))
        if latest != snapshot:  # the institution's view follows its latest document
            index_sql.update_patient_record(self.sql, record_id, latest, self.now)
            known.demographics = latest
        self._fill_golden(person_id, d)
        if probe.global_ids or probe.invalid_ids or probe.conflict_ids:
            self._attach_identifiers(probe, person_id, record_id)
        return Resolution(person_id, record_id, _EXISTING, None)

    def _by_identifier(self, probe: Probe) -> tuple[int | None, int | None]:
        """Deterministic link: the first known global identifier, unless its person holds another resident ID.

        Returns (person, contested holder): a known resident ID whose own birth-date or sex digits
        contradict the record, held by a person whose name does not agree either, is someone else's
        ID (a typo giving another valid ID): no link, its holder goes to review.
        """
        contested = None
        for kind, root, value in probe.global_ids:
            holder = self.identifiers.get((root, value))
            if holder is None:
                continue
            person_id = self.current(holder)
            if kind == RESIDENT_ID:
                if contradicts_its_id(probe.demographics) and not names_agree(
                        probe.demographics, Demographics(*self.persons[person_id].values)):
                    contested = person_id
                    continue
                return person_id, None
            if probe.demographics.resident_id is None:
                return person_id, contested
            held = self.resident_ids([person_id]).get(person_id)
            if not held or probe.demographics.resident_id in held:
                return person_id, contested
        return None, contested

    def _candidates(self, probe: Probe):
        d = probe.demographics
        birth_dates = [d.birth_date] + [s for s in (swapped_birth_date(d.birth_date),) if s] if d.birth_date else []
        records = [(record.person_id, record.demographics)
                   for record in index_sql.blocking_candidates(self.sql, d, birth_dates)]
        near = near_miss_holders(self, probe)
        if not records:
            return with_near_misses(d, [], near)
        meant = None
        if (probe.invalid_ids or probe.conflict_ids) and not d.resident_id:  # the valid IDs the clerk may have meant
            meant = frozenset(value for typed in probe.invalid_ids for value in near_misses(typed))
            meant = meant.union(probe.conflict_ids)
        held = self.resident_ids([p for p, _ in records]) if d.resident_id or meant is not None else {}
        ranked = with_near_misses(d, rank(d, records, held, meant=meant), near)
        return bar_meant(self, d, ranked) if d.resident_id else ranked

    def meant_rows(self, value: str) -> list[index_sql.MeantRow]:
        """The records whose untrusted ID may mean ``value`` (read once per resolve)."""
        rows = self._meant.get(value)
        if rows is None:
            rows = self._meant[value] = index_sql.meant_by(self.sql, value)
        return rows


def resolve_many(session: Session, *, items: list[tuple[str, PatientTraits]], now: datetime) -> list[Resolution]:
    """Resolve (institution, traits) pairs in order; same result as ``resolve`` on each in turn.

    Raises ``RecordError`` for the first unusable patient before writing anything.
    """
    probes = [(institution, probe_of(traits)) for institution, traits in items]
    resolver = Resolver(session, now)
    share_index(resolver.sql)  # an operator's merge waits for this transaction (hub.mpi.locks)
    resolver.prefetch(probes)
    return [resolver.resolve(institution, probe) for institution, probe in probes]


def resolve(session: Session, *, institution: str, traits: PatientTraits, now: datetime) -> Resolution:
    """Resolve one document's patient to a person (creating one if needed) in the caller's transaction."""
    return resolve_many(session, items=[(institution, traits)], now=now)[0]


__all__ = ["Resolver", "resolve", "resolve_many"]
