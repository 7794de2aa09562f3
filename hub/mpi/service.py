"""Resolve a document's patient to a person: known record, known identifier, score, or new person.

``resolve_many`` prefetches in a few statements what a batch needs (its patient records, its
identifiers, their persons), then settles the items in order, writing as it goes, so a later
item sees what an earlier one created: the result is the same as calling ``resolve`` in order.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from ..store.rawsql import RawSql, chunks, iso_date
from .matching import Demographics, decide, rank
from .models import LinkDecision, PersonStatus, ReviewStatus
from .traits import RESIDENT_ID, PatientTraits, Probe, Resolution, probe_of

_DEMOGRAPHIC = ("name", "name_pinyin", "sex", "birth_date", "phone", "division", "address")
_RECORD_COLUMNS = "id, person_id, " + ", ".join(_DEMOGRAPHIC) + ", resident_id"
_PERSON_COLUMNS = "id, status, merged_into_id, " + ", ".join(_DEMOGRAPHIC)
_IDENTIFIER, _AUTO, _REVIEW, _NEW, _EXISTING = (LinkDecision.IDENTIFIER.value, LinkDecision.AUTO.value,
                                               LinkDecision.REVIEW.value, LinkDecision.NEW.value, "existing")
_ACTIVE, _MERGED, _OPEN = PersonStatus.ACTIVE.value, PersonStatus.MERGED.value, ReviewStatus.OPEN.value
_BLOCK_LIMIT = 100  # rows per blocking key: a front-desk phone shared by hundreds must not scan


def _values(d: Demographics) -> list:
    return [d.name, d.pinyin, d.sex, d.birth_date, d.phone, d.division, d.address]


def _demographics(row) -> Demographics:
    """Demographics from a (… name, pinyin, sex, birth_date, phone, division, address[, resident_id]) row tail."""
    return Demographics(row[0], row[1], row[2], iso_date(row[3]), row[4], row[5], row[6],
                        row[7] if len(row) > 7 else None)


def _swapped(iso: str) -> str | None:
    month, day = int(iso[5:7]), int(iso[8:10])
    if month == day or day > 12:
        return None
    try:
        return date(int(iso[:4]), day, month).isoformat()
    except ValueError:
        return None


class Resolver:
    """Settles patient traits against the index inside the caller's transaction."""

    def __init__(self, session: Session, now: datetime):
        self.sql = RawSql(session, flush=True)  # pending ORM writes must be visible
        self.now = self.sql.time(now)
        self.records: dict[tuple[str, str], list] = {}    # (institution, local key) → [id, person id, Demographics]
        self.identifiers: dict[tuple[str, str], int] = {}  # (root, value) → person id
        self.persons: dict[int, list] = {}                  # id → [status, merged_into, *demographics]

    # -- prefetch ---------------------------------------------------------------------------
    def prefetch(self, items: list[tuple[str, Probe]]) -> None:
        keys: dict[str, list[str]] = {}
        roots: dict[str, list[str]] = {}
        for institution, probe in items:
            keys.setdefault(institution, []).append(probe.local_key)
            for _kind, root, value in probe.global_ids:
                roots.setdefault(root, []).append(value)
        person_ids: set[int] = set()
        pairs = sorted({(institution, key) for institution, keys_ in keys.items() for key in keys_})
        for part in chunks(pairs, 100):  # OR of (institution, local_key) pairs: one unique-index probe each
            condition = " OR ".join(["(institution = ? AND local_key = ?)"] * len(part))
            for row in self.sql.rows(f"SELECT institution, local_key, {_RECORD_COLUMNS} FROM mpi_patient_record "
                                     f"WHERE {condition}", [v for pair in part for v in pair]):
                self.records[(row[0], row[1])] = [row[2], row[3], _demographics(row[4:])]
                person_ids.add(row[3])
        for root, values in roots.items():
            for part in chunks(sorted(set(values))):
                condition, params = self.sql.in_list("value", part)
                for value, person_id in self.sql.rows(
                        f"SELECT value, person_id FROM mpi_identifier WHERE root = ? AND {condition}", [root, *params]):
                    self.identifiers[(root, value)] = person_id
                    person_ids.add(person_id)
        self._load_persons(person_ids)

    def _load_persons(self, ids) -> None:
        missing = sorted(i for i in ids if i not in self.persons)
        for part in chunks(missing):
            condition, params = self.sql.in_list("id", part)
            for row in self.sql.rows(f"SELECT {_PERSON_COLUMNS} FROM mpi_person WHERE {condition}", params):
                self.persons[row[0]] = [row[1], row[2], *row[3:6], iso_date(row[6]), *row[7:]]

    def current(self, person_id: int) -> int:
        """Follow merged_into to the active person."""
        seen = 0
        while True:
            if person_id not in self.persons:
                self._load_persons([person_id])
            status, merged_into = self.persons[person_id][:2]
            if status != _MERGED or merged_into is None or seen > 100:
                return person_id
            person_id, seen = merged_into, seen + 1

    # -- writes -----------------------------------------------------------------------------
    def _new_person(self, d: Demographics) -> int:
        person_id = self.sql.insert_id(
            "INSERT INTO mpi_person (status, merged_into_id, " + ", ".join(_DEMOGRAPHIC) + ", created_at, updated_at) "
            "VALUES ('active', NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (d.name, d.pinyin, d.sex, self.sql.date(d.birth_date), d.phone, d.division, d.address, self.now, self.now))
        self.persons[person_id] = [_ACTIVE, None, *_values(d)]
        return person_id

    def _new_record(self, institution: str, probe: Probe, person_id: int, decision: str, score: float | None) -> int:
        d = probe.demographics
        record_id = self.sql.insert_id(
            "INSERT INTO mpi_patient_record (institution, local_key, person_id, decision, score, "
            + ", ".join(_DEMOGRAPHIC) + ", resident_id, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (institution, probe.local_key, person_id, decision, score, d.name, d.pinyin, d.sex,
             self.sql.date(d.birth_date), d.phone, d.division, d.address, d.resident_id, self.now, self.now))
        self.records[(institution, probe.local_key)] = [record_id, person_id, d]
        return record_id

    def _fill_golden(self, person_id: int, d: Demographics) -> None:
        """Golden record rule: a field still empty takes the first later record's value; none is overwritten."""
        if person_id not in self.persons:
            self._load_persons([person_id])
        person = self.persons[person_id]
        changes = [(column, value) for column, value, held in zip(_DEMOGRAPHIC, _values(d), person[2:])
                   if value is not None and held is None]
        if not changes:
            return
        for column, value in changes:
            person[2 + _DEMOGRAPHIC.index(column)] = value
        sets = ", ".join(f"{column} = ?" for column, _ in changes)
        params = [self.sql.date(v) if c == "birth_date" else v for c, v in changes]
        self.sql.execute(f"UPDATE mpi_person SET {sets}, updated_at = ? WHERE id = ?", (*params, self.now, person_id))

    def _attach_identifiers(self, probe: Probe, person_id: int, record_id: int, *, fresh: bool = False) -> None:
        """Store the probe's global identifiers for the person; one held by another person opens a review."""
        for kind, root, value in probe.global_ids:
            holder = self.identifiers.get((root, value))
            if holder is None:
                if kind == RESIDENT_ID and not fresh and self._resident_ids([person_id]).get(person_id):
                    continue  # the person already has another resident ID: never two
                self.sql.execute("INSERT INTO mpi_identifier (person_id, kind, root, value) VALUES (?, ?, ?, ?)",
                                 (person_id, kind, root, value))
                self.identifiers[(root, value)] = person_id
            elif self.current(holder) != person_id and not self._review_open(record_id, self.current(holder)):
                self._open_review(record_id, self.current(holder), None)

    def _open_review(self, record_id: int, candidate_id: int, score: float | None) -> None:
        self.sql.execute(
            "INSERT INTO mpi_review (patient_record_id, candidate_person_id, score, status, actor, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, NULL, ?, ?)",
            (record_id, candidate_id, score, _OPEN, self.now, self.now))

    def _review_open(self, record_id: int, candidate_id: int) -> bool:
        return bool(self.sql.rows("SELECT 1 FROM mpi_review WHERE patient_record_id = ? AND candidate_person_id = ? "
                                  "AND status = 'open'", (record_id, candidate_id)))

    def _resident_ids(self, person_ids: list[int]) -> dict[int, set[str]]:
        held: dict[int, set[str]] = {}
        for part in chunks(sorted(set(person_ids))):
            condition, params = self.sql.in_list("person_id", part)
            for person_id, value in self.sql.rows(
                    f"SELECT person_id, value FROM mpi_identifier WHERE kind = 'resident_id' AND {condition}", params):
                held.setdefault(person_id, set()).add(value)
        return held

    # -- the decision -------------------------------------------------------------------------
    def resolve(self, institution: str, probe: Probe) -> Resolution:
        known = self.records.get((institution, probe.local_key))
        if known is not None:
            return self._existing(institution, probe, known)
        person_id = self._by_identifier(probe)
        if person_id is not None:
            record_id = self._new_record(institution, probe, person_id, _IDENTIFIER, None)
            self._fill_golden(person_id, probe.demographics)
            self._attach_identifiers(probe, person_id, record_id)
            return Resolution(person_id, record_id, _IDENTIFIER, None)
        candidates = self._candidates(probe)
        verdict = decide(candidates)
        if verdict.person_id is not None:
            record_id = self._new_record(institution, probe, verdict.person_id, _AUTO, verdict.score)
            self._fill_golden(verdict.person_id, probe.demographics)
            self._attach_identifiers(probe, verdict.person_id, record_id)
            return Resolution(verdict.person_id, record_id, _AUTO, verdict.score)
        decision = _REVIEW if verdict.review else _NEW
        person_id = self._new_person(probe.demographics)
        record_id = self._new_record(institution, probe, person_id, decision, verdict.score)
        self._attach_identifiers(probe, person_id, record_id, fresh=True)
        for candidate in verdict.review:
            self._open_review(record_id, candidate.person_id, candidate.score)
        return Resolution(person_id, record_id, decision, verdict.score)

    def _existing(self, institution: str, probe: Probe, known: list) -> Resolution:
        record_id, person_id, snapshot = known
        person_id = self.current(person_id)
        d = probe.demographics
        latest = Demographics(*(new if new is not None else old for new, old in zip(
            (*_values(d), d.resident_id), (*_values(snapshot), snapshot.resident_id))))
        if latest != snapshot:  # the institution's view follows its latest document
            self.sql.execute(
                "UPDATE mpi_patient_record SET " + ", ".join(f"{c} = ?" for c in _DEMOGRAPHIC)
                + ", resident_id = ?, updated_at = ? WHERE id = ?",
                (latest.name, latest.pinyin, latest.sex, self.sql.date(latest.birth_date), latest.phone,
                 latest.division, latest.address, latest.resident_id, self.now, record_id))
            known[2] = latest
        self._fill_golden(person_id, d)
        if probe.global_ids:
            self._attach_identifiers(probe, person_id, record_id)
        return Resolution(person_id, record_id, _EXISTING, None)

    def _by_identifier(self, probe: Probe) -> int | None:
        """Deterministic link: the first known global identifier, unless its person holds another resident ID."""
        for kind, root, value in probe.global_ids:
            holder = self.identifiers.get((root, value))
            if holder is None:
                continue
            person_id = self.current(holder)
            if kind == RESIDENT_ID or probe.demographics.resident_id is None:
                return person_id
            held = self._resident_ids([person_id]).get(person_id)
            if not held or probe.demographics.resident_id in held:
                return person_id
        return None

    def _candidates(self, probe: Probe):
        d = probe.demographics
        branches, params = [], []
        select = f"SELECT * FROM (SELECT {_RECORD_COLUMNS} FROM mpi_patient_record WHERE "
        if d.birth_date:
            dates = [d.birth_date] + [s for s in (_swapped(d.birth_date),) if s]
            condition, values = self.sql.in_list("birth_date", [self.sql.date(x) for x in dates])
            branches.append(select + condition + f" LIMIT {_BLOCK_LIMIT}) b1")
            params += values
            if d.pinyin:
                year = d.birth_date[:4]
                branches.append(select + f"name_pinyin = ? AND birth_date BETWEEN ? AND ? LIMIT {_BLOCK_LIMIT}) b2")
                params += [d.pinyin, self.sql.date(f"{year}-01-01"), self.sql.date(f"{year}-12-31")]
        if d.phone:
            branches.append(select + f"phone = ? LIMIT {_BLOCK_LIMIT}) b3")
            params.append(d.phone)
        if not branches:
            return []
        seen, records = set(), []
        for row in self.sql.rows(" UNION ALL ".join(branches), params):
            if row[0] not in seen:
                seen.add(row[0])
                records.append((row[1], _demographics(row[2:])))
        if not records:
            return []
        held = self._resident_ids([p for p, _ in records]) if d.resident_id else {}
        return rank(d, records, held)


def resolve_many(session: Session, *, items: list[tuple[str, PatientTraits]], now: datetime) -> list[Resolution]:
    """Resolve (institution, traits) pairs in order; same result as ``resolve`` on each in turn.

    Raises ``RecordError`` for the first unusable patient before writing anything.
    """
    probes = [(institution, probe_of(traits)) for institution, traits in items]
    resolver = Resolver(session, now)
    resolver.prefetch(probes)
    return [resolver.resolve(institution, probe) for institution, probe in probes]


def resolve(session: Session, *, institution: str, traits: PatientTraits, now: datetime) -> Resolution:
    """Resolve one document's patient to a person (creating one if needed) in the caller's transaction."""
    return resolve_many(session, items=[(institution, traits)], now=now)[0]


__all__ = ["Resolver", "resolve", "resolve_many"]
