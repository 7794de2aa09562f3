"""The MPI under several processors on one PostgreSQL (hub.mpi.locks): the same new person sent by two
clinics through two processors at the same moment is one person; a shuffled stream through three
processors gives the persons a single processor would, without a deadlock; a merge by hand waits for
the resolutions in progress. Every person here is synthetic."""
from __future__ import annotations

import logging
import random
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from hub import mpi
from hub.errors import MpiError
from hub.mpi.resident_id import make_resident_id
from hub.pipeline import Stage
from hub.records.stage import RecordsStage
from hub.store.db import transaction
from protocol.status import MessageStatus
from protocol.timestamps import utcnow
from tests.cluster_units.processors import (Hold, Worker, acknowledgements, blocked_or_done, holding,
                                            on_postgres, second_processor_beside, statuses,
                                            store)  # noqa: F401 (fixture)
from tests.support.documents import document


SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许"
GIVEN = ["子涵", "雨桐", "浩然", "梓萱", "宇轩", "欣怡", "俊杰", "思远", "嘉怡", "明轩"]
CLINICS = ("CLINIC01", "CLINIC02", "HOSP01")


def person(index: int, rng: random.Random) -> dict:
    """A synthetic resident: a name of its own, a birth date, an ID that agrees with it, a phone."""
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 70))
    first17 = f"330106{born:%Y%m%d}{index:03d}"
    return {"resident_id": make_resident_id(first17), "name": SURNAMES[index % 20] + GIVEN[index // 20 % 10]
            + GIVEN[index % 10][1], "sex": "1" if index % 2 else "2", "birth_date": born.isoformat(),
            "phone": f"100{index:08d}", "division": "330106"}


def visit(clinic: str, document_id: str, patient: dict):
    return document("OutpatientVisit", institution=clinic, document_id=document_id, patient=patient)


def persons_and_records(store) -> tuple[set[int], dict[int, int]]:
    """The active persons, and the person of each patient record."""
    with store.sessions() as session:
        active = set(session.scalars(select(mpi.Person.id).where(mpi.Person.status == mpi.PersonStatus.ACTIVE.value)))
        links = dict(session.execute(select(mpi.PatientRecord.id, mpi.PatientRecord.person_id)).all())
    return active, links


def keys(patient: dict, institution: str = "CLINIC01") -> set[str]:
    return mpi.lock_keys([(institution, traits(patient))])


def traits(patient: dict) -> mpi.PatientTraits:
    ids = tuple(("resident_id", "2.16.156.10011.1.3", patient[kind]) for kind in ("resident_id",) if kind in patient)
    born = patient.get("birth_date")
    return mpi.PatientTraits(ids, name=patient.get("name"), sex=patient.get("sex"),
                             birth_date=date.fromisoformat(born) if born else None, phone=patient.get("phone"))


def test_probes_that_could_find_each_other_share_a_key():
    """Whatever ``blocking_candidates`` or an identifier look-up could find, the keys of the two sides meet."""
    base = {"name": "赵子涵", "sex": "1", "birth_date": "1985-03-07", "phone": "10000000001"}
    swapped = {**base, "birth_date": "1985-07-03", "phone": None}  # day and month swapped: one key for both
    assert keys(base) & keys(swapped)
    same_year = {"name": "赵子涵", "birth_date": "1985-11-30"}  # the pinyin within the birth year
    assert keys(base) & keys(same_year)
    by_phone = {"name": "钱雨桐", "birth_date": "1990-01-31", "phone": "10000000001"}
    assert keys(base) & keys(by_phone)
    holder = {"resident_id": make_resident_id("33010619850307001"), "name": "孙浩然"}
    typo = dict(holder, resident_id=holder["resident_id"][:5] + "9" + holder["resident_id"][6:])
    assert not mpi.is_valid_resident_id(typo["resident_id"])
    assert keys(holder, "CLINIC01") & keys(typo, "HOSP01"), "an invalid ID locks the valid IDs it may mean"
    assert not keys(base) & keys({"name": "李梓萱", "birth_date": "1985-03-08", "phone": "10000000002"})


@on_postgres
@pytest.mark.parametrize("with_id", [True, False], ids=["resident-id", "demographics-only"])
def test_the_same_new_person_from_two_clinics_through_two_processors_is_one_person(store, with_id):
    patient = person(7, random.Random(7))
    if not with_id:
        del patient["resident_id"]
    store.deliver(visit("CLINIC01", "OV-A", patient), member="CLINIC01")
    # held after the records stage: the first processor has created the person, not committed it
    first, hold = holding(store, [RecordsStage()], limit=1)
    store.deliver(visit("CLINIC02", "OV-B", patient), member="CLINIC02")
    second_processor_beside(store, first, hold)
    active, links = persons_and_records(store)
    assert len(active) == 1, "two processors made two persons of one"
    assert len(links) == 2 and set(links.values()) == active


@on_postgres
def test_a_shuffled_stream_through_three_processors_gives_each_person_once(store, caplog):
    rng = random.Random(22)
    people = [person(index, rng) for index in range(50)]
    documents = []
    for index, patient in enumerate(people):
        for number in range(rng.randint(4, 8)):
            clinic = rng.choice(CLINICS)
            shown = dict(patient)
            if rng.random() < 0.4:  # no ID number: matched on the demographics
                del shown["resident_id"]
            if rng.random() < 0.3:
                del shown["phone"]
            documents.append((clinic, visit(clinic, f"P{index}-{number}", shown)))
    rng.shuffle(documents)
    for clinic, doc in documents:
        store.deliver(doc, member=clinic)
    caplog.set_level(logging.ERROR)
    workers = [Worker(store, [RecordsStage()], drain=True, limit=40, commit_every=rng.randint(3, 12))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert all(worker.error is None for worker in workers)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "a stage failed (a deadlock?)"
    assert statuses(store) == {MessageStatus.PROCESSED.value: len(documents)}
    acks = acknowledgements(store)
    assert len(acks) == len(documents) and set(acks.values()) == {1}
    assert sum(worker.finished for worker in workers) == len(documents)
    active, links = persons_and_records(store)
    assert len(active) == len(people), "a person was made twice (or two were made one)"
    assert set(links.values()) == active


class LinksToSurvivor(Stage):
    """Stands for a later message of the same chunk linked to ``person_id``: a row referring to the person
    (what inserting its patient record or document does: a key-share lock on the person's row)."""

    def __init__(self, person_id: int):
        self.person_id = person_id

    def apply(self, session, messages, now, prepared):
        session.execute(text("SELECT id FROM mpi_person WHERE id = :id FOR KEY SHARE"), {"id": self.person_id})
        return {}


@on_postgres
def test_a_merge_by_hand_waits_for_the_resolutions_in_progress_without_deadlock(store, caplog):
    """A merge locks its two persons; a chunk resolving at the same time refers to them too, in its own
    order. The merge holds the index exclusively first: it waits for the chunk, then moves what the chunk
    linked as well, and neither is chosen as a deadlock's victim."""
    rng = random.Random(3)
    one = {key: value for key, value in person(1, rng).items() if key != "resident_id"}  # mergeable: one ID
    store.deliver(visit("CLINIC01", "M-1", one), visit("CLINIC01", "M-2", other := person(2, rng)),
                  member="CLINIC01")
    assert store.process() == 2
    survivor, retired = sorted(persons_and_records(store)[0])
    store.deliver(visit("CLINIC02", "M-3", other), member="CLINIC02")  # links to ``retired`` by its ID
    caplog.set_level(logging.ERROR)
    worker, hold = holding(store, [RecordsStage()], [LinksToSurvivor(survivor)])
    operator, merged = merging_by_hand(store, survivor=survivor, retired=retired, reason="test")
    try:
        assert blocked_or_done(store, operator), "the merge did not wait for the chunk in progress"
    finally:
        hold.release.set()
        worker.join(20)
        operator.join(20)
    assert worker.error is None and worker.finished == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "the chunk failed (a deadlock?)"
    assert len(merged) == 1 and isinstance(merged[0], int), merged
    assert set(persons_and_records(store)[1].values()) == {survivor}, "a record was left on the retired person"


# A processor paused while it holds a chunk (SIGSTOP, a stalled machine, a partition that leaves its
# connection open) is, to PostgreSQL, idle in transaction with its rows and keys held; here it is a thread
# held inside its chunk (``Hold``). From the outside review of issue 22 (tests/review, moved here).
GO_ON_WITHIN_S = 20.0  # a paused processor may delay the others this long, not as long as it stays paused


def _paused_processor(store, patient: dict, document_id: str, **options) -> tuple[Worker, Hold]:
    """A processor that has resolved ``patient`` in its chunk and then stops, its transaction open."""
    store.deliver(visit("CLINIC01", document_id, patient), member="CLINIC01")
    return holding(store, [RecordsStage()], limit=1, **options)


def merging_by_hand(store, *, survivor: int, retired: int, reason: str) -> tuple[Worker, list]:
    """A merge by hand started in a thread; its outcome (the survivor's id, or the exception: a deadlock's
    victim, ``mpi.busy``) appended to the list returned, checked by the test."""
    outcome: list = []

    def merge_by_hand():
        try:
            with transaction(store.sessions) as session:
                outcome.append(mpi.merge(session, survivor_id=survivor, retired_id=retired, actor="op",
                                         reason=reason, now=utcnow()).id)
        except Exception as exc:  # noqa: BLE001 - the answer is checked by the test
            outcome.append(exc)

    operator = Worker(store, [])
    operator.run = merge_by_hand
    operator.start()
    return operator, outcome


@on_postgres
def test_a_paused_processor_is_cut_off_and_its_chunk_processed_once_later(store, caplog):
    """The paused chunk holds ``mpi.birth:<date>``, shared by every resident born that day: the server ends
    it after the processing transaction's idle limit (HIE_PROCESSING_TX_TIMEOUT_S, 2 s here), the other
    processor's chunk about another person born the same day goes on, the paused chunk's message is
    pending again and is processed once later."""
    rng = random.Random(11)
    first, second = person(1, rng), person(2, rng)
    second["birth_date"] = first["birth_date"]  # another resident, the same birthday (≈1 in 25,000 of a province)
    second.pop("resident_id")
    paused, hold = _paused_processor(store, first, "P-1", tx_timeout_s=2.0)
    store.deliver(visit("CLINIC02", "P-2", second), member="CLINIC02")
    other = Worker(store, [RecordsStage()])
    other.start()
    caplog.set_level(logging.ERROR)
    try:
        other.join(GO_ON_WITHIN_S)
        assert not other.is_alive(), "the other processor waits for as long as the paused one stays paused"
        assert other.error is None and other.finished in (1, 2)  # P-1 too, if pending again in time
    finally:
        hold.release.set()
        paused.join(30)
        other.join(30)
    assert paused.error is not None and paused.finished == 0, "the paused chunk was not cut off"
    assert store.process() == 2 - other.finished  # what the cut-off chunk held, pending again
    assert statuses(store) == {MessageStatus.PROCESSED.value: 2}
    assert set(acknowledgements(store).values()) == {1}
    assert len(persons_and_records(store)[0]) == 2


@on_postgres
def test_a_merge_by_hand_behind_a_paused_processor_gives_up_instead_of_stopping_every_resolution(store):
    """Resolutions hold ``mpi.index`` shared, a merge by hand waits for it exclusively, and PostgreSQL queues
    later shared requests behind the waiting merge: the merge waits ``MERGE_WAIT_S`` at most and answers
    ``mpi.busy`` (retryable), so an unrelated resolution goes on; the merge succeeds once retried."""
    rng = random.Random(5)
    one = {key: value for key, value in person(1, rng).items() if key != "resident_id"}
    store.deliver(visit("CLINIC01", "M-1", one), visit("CLINIC01", "M-2", person(2, rng)), member="CLINIC01")
    assert store.process() == 2
    survivor, retired = sorted(persons_and_records(store)[0])
    paused, hold = _paused_processor(store, person(3, rng), "M-3")  # the default idle limit: not cut off here
    operator, outcome = merging_by_hand(store, survivor=survivor, retired=retired, reason="review")
    assert blocked_or_done(store, operator)  # the merge waits for the paused chunk: expected
    store.deliver(visit("CLINIC02", "M-4", person(4, rng)), member="CLINIC02")  # shares no key with anyone
    other = Worker(store, [RecordsStage()])
    other.start()
    try:
        other.join(GO_ON_WITHIN_S)
        assert not other.is_alive(), "an unrelated resolution waits behind the merge behind the paused processor"
        assert other.error is None and other.finished == 1
        operator.join(GO_ON_WITHIN_S)
        [answer] = outcome
        assert isinstance(answer, MpiError) and answer.code == "mpi.busy", answer
    finally:
        hold.release.set()
        paused.join(30)
        operator.join(30)
        other.join(30)
    assert paused.error is None and paused.finished == 1
    with transaction(store.sessions) as session:  # the operator retries
        mpi.merge(session, survivor_id=survivor, retired_id=retired, actor="op", reason="review", now=utcnow())
    assert set(persons_and_records(store)[1].values()) == {survivor, *persons_and_records(store)[0]} - {retired}
