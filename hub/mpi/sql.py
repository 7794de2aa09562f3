"""The master patient index's hand-written SQL (the processor's hot path, through ``RawSql``).

Every read returns named rows; the resolver never indexes a row by position.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from ..store.rawsql import RawSql, chunks, iso_date
from .matching import Demographics

DEMOGRAPHIC = ("name", "name_pinyin", "sex", "birth_date", "phone", "division", "address")
_DEMOGRAPHIC_COLUMNS = ", ".join(DEMOGRAPHIC)
_RECORD_COLUMNS = f"id, person_id, {_DEMOGRAPHIC_COLUMNS}, resident_id"
BLOCK_LIMIT = 100  # rows per blocking key: a front-desk phone shared by hundreds must not scan


class PatientRecordRow(NamedTuple):
    """An institution's view of a patient (``mpi_patient_record``)."""

    id: int
    person_id: int
    demographics: Demographics


class PersonRow(NamedTuple):
    """A person of the index (``mpi_person``): the golden record."""

    id: int
    status: str
    merged_into_id: int | None
    demographics: Demographics


def _demographics(name, pinyin, sex, birth_date, phone, division, address, resident_id=None) -> Demographics:
    return Demographics(name, pinyin, sex, iso_date(birth_date), phone, division, address, resident_id)


def _record(row) -> PatientRecordRow:
    record_id, person_id, *demographics = row
    return PatientRecordRow(record_id, person_id, _demographics(*demographics))


def patient_records(sql: RawSql, pairs: list[tuple[str, str]]) -> Iterator[tuple[tuple[str, str], PatientRecordRow]]:
    """The records of these (institution, local key) pairs, each with its pair."""
    for part in chunks(pairs, 100):  # OR of (institution, local_key) pairs: one unique-index probe each
        condition = " OR ".join(["(institution = ? AND local_key = ?)"] * len(part))
        for institution, local_key, *record in sql.rows(
                f"SELECT institution, local_key, {_RECORD_COLUMNS} FROM mpi_patient_record WHERE {condition}",
                [v for pair in part for v in pair]):
            yield (institution, local_key), _record(record)


def identifier_holders(sql: RawSql, root: str, values: list[str]) -> Iterator[tuple[str, int]]:
    """(value, person id) of each known identifier among ``values`` under ``root``."""
    for part in chunks(sorted(set(values))):
        condition, params = sql.in_list("value", part)
        yield from sql.rows(f"SELECT value, person_id FROM mpi_identifier WHERE root = ? AND {condition}",
                            [root, *params])


def persons(sql: RawSql, ids: list[int]) -> Iterator[PersonRow]:
    for part in chunks(ids):
        condition, params = sql.in_list("id", part)
        for person_id, status, merged_into_id, *demographics in sql.rows(
                f"SELECT id, status, merged_into_id, {_DEMOGRAPHIC_COLUMNS} FROM mpi_person WHERE {condition}", params):
            yield PersonRow(person_id, status, merged_into_id, _demographics(*demographics))


def resident_ids(sql: RawSql, person_ids: list[int]) -> Iterator[tuple[int, str]]:
    """(person id, resident ID) of every resident ID these persons hold."""
    for part in chunks(sorted(set(person_ids))):
        condition, params = sql.in_list("person_id", part)
        yield from sql.rows(f"SELECT person_id, value FROM mpi_identifier WHERE kind = 'resident_id' AND {condition}",
                            params)


def review_open(sql: RawSql, record_id: int, candidate_id: int) -> bool:
    return bool(sql.rows("SELECT 1 FROM mpi_review WHERE patient_record_id = ? AND candidate_person_id = ? "
                         "AND status = 'open'", (record_id, candidate_id)))


def blocking_candidates(sql: RawSql, d: Demographics, birth_dates: list[str]) -> list[PatientRecordRow]:
    """Records sharing a blocking key with ``d`` (birth date or its day/month swap, pinyin within the
    birth year, phone), at most ``BLOCK_LIMIT`` per key, each once."""
    branches, params = [], []
    select = f"SELECT * FROM (SELECT {_RECORD_COLUMNS} FROM mpi_patient_record WHERE "
    if birth_dates:
        condition, values = sql.in_list("birth_date", [sql.date(x) for x in birth_dates])
        branches.append(select + condition + f" LIMIT {BLOCK_LIMIT}) b1")
        params += values
        if d.pinyin:
            year = d.birth_date[:4]
            branches.append(select + f"name_pinyin = ? AND birth_date BETWEEN ? AND ? LIMIT {BLOCK_LIMIT}) b2")
            params += [d.pinyin, sql.date(f"{year}-01-01"), sql.date(f"{year}-12-31")]
    if d.phone:
        branches.append(select + f"phone = ? LIMIT {BLOCK_LIMIT}) b3")
        params.append(d.phone)
    if not branches:
        return []
    seen, records = set(), []
    for row in sql.rows(" UNION ALL ".join(branches), params):
        record = _record(row)
        if record.id not in seen:
            seen.add(record.id)
            records.append(record)
    return records


def insert_person(sql: RawSql, d: Demographics, now) -> int:
    return sql.insert_id(
        f"INSERT INTO mpi_person (status, merged_into_id, {_DEMOGRAPHIC_COLUMNS}, created_at, updated_at) "
        "VALUES ('active', NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (d.name, d.pinyin, d.sex, sql.date(d.birth_date), d.phone, d.division, d.address, now, now))


def insert_patient_record(sql: RawSql, *, institution: str, local_key: str, person_id: int, decision: str,
                          score: float | None, d: Demographics, now) -> int:
    return sql.insert_id(
        f"INSERT INTO mpi_patient_record (institution, local_key, person_id, decision, score, {_DEMOGRAPHIC_COLUMNS}, "
        "resident_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (institution, local_key, person_id, decision, score, d.name, d.pinyin, d.sex, sql.date(d.birth_date), d.phone,
         d.division, d.address, d.resident_id, now, now))


def update_patient_record(sql: RawSql, record_id: int, d: Demographics, now) -> None:
    sql.execute(f"UPDATE mpi_patient_record SET {', '.join(f'{c} = ?' for c in DEMOGRAPHIC)}, resident_id = ?, "
                "updated_at = ? WHERE id = ?",
                (d.name, d.pinyin, d.sex, sql.date(d.birth_date), d.phone, d.division, d.address, d.resident_id, now,
                 record_id))


def update_person(sql: RawSql, person_id: int, changes: list[tuple[str, object]], now) -> None:
    """Set some demographic columns of a person (``changes``: column name, value)."""
    sets = ", ".join(f"{column} = ?" for column, _ in changes)
    params = [sql.date(value) if column == "birth_date" else value for column, value in changes]
    sql.execute(f"UPDATE mpi_person SET {sets}, updated_at = ? WHERE id = ?", (*params, now, person_id))


def insert_identifier(sql: RawSql, *, person_id: int, kind: str, root: str, value: str) -> None:
    sql.execute("INSERT INTO mpi_identifier (person_id, kind, root, value) VALUES (?, ?, ?, ?)",
                (person_id, kind, root, value))


def insert_review(sql: RawSql, *, record_id: int, candidate_id: int, score: float | None, status: str, reason: str,
                  now) -> None:
    sql.execute("INSERT INTO mpi_review (patient_record_id, candidate_person_id, score, status, reason, actor, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
                (record_id, candidate_id, score, status, reason, now, now))


class MeantRow(NamedTuple):
    """A patient record whose untrusted resident ID may mean a given valid one (``mpi_meant_id``)."""

    record_id: int
    person_id: int
    reason: str
    typed: str
    demographics: Demographics


def insert_meant(sql: RawSql, rows: list[tuple[int, str, str, str]]) -> None:
    """(patient record id, reason, typed value, meant valid ID) rows of ``mpi_meant_id``."""
    sql.many("INSERT INTO mpi_meant_id (patient_record_id, reason, typed, value) VALUES (?, ?, ?, ?)", rows)


def meant_by(sql: RawSql, value: str) -> list[MeantRow]:
    """The records whose untrusted resident ID may mean ``value`` (one look-up on its index)."""
    return [MeantRow(record_id, person_id, reason, typed, _demographics(*demographics))
            for record_id, person_id, reason, typed, *demographics in sql.rows(
                f"SELECT r.id, r.person_id, m.reason, m.typed, {', '.join('r.' + c for c in DEMOGRAPHIC)} "
                "FROM mpi_meant_id m JOIN mpi_patient_record r ON r.id = m.patient_record_id WHERE m.value = ?",
                (value,))]


def settle_reviews_between(sql: RawSql, person_id: int, other_id: int, *, actor: str, now) -> None:
    """Open review items pairing a record of ``person_id`` with ``person_id`` or ``other_id``: linked."""
    sql.execute("UPDATE mpi_review SET status = 'linked', actor = ?, updated_at = ? WHERE status = 'open' AND "
                "candidate_person_id IN (?, ?) AND patient_record_id IN "
                "(SELECT id FROM mpi_patient_record WHERE person_id = ?)", (actor, now, person_id, other_id, person_id))


__all__ = ["DEMOGRAPHIC", "BLOCK_LIMIT", "PatientRecordRow", "PersonRow", "patient_records", "identifier_holders",
           "persons", "resident_ids", "review_open", "blocking_candidates", "insert_person", "insert_patient_record",
           "update_patient_record", "update_person", "insert_identifier", "insert_review", "MeantRow", "insert_meant",
           "meant_by", "settle_reviews_between"]
