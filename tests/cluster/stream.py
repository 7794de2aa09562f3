"""The tier's synthetic stream: about 50 persons, each seen at a home clinic, some at a second one too.

Every person is made up here (generated resident IDs with valid check characters, names from a few
characters, phones with the non-existent prefix 100, invented addresses). Each member's documents are
ordered by person, so the three members reach a person shared by two of them at about the same
moment: the MPI sees the same new person from two clinics through two processors at once. Some of the
shared persons come without a resident ID (matched on their demographics, which no unique key of the
identifier table protects).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from lxml import etree

from hub.mpi.resident_id import make_resident_id
from tests.support.documents import document

CLINICS = ("CLINIC01", "CLINIC02", "HOSP01")


@dataclass(frozen=True)
class Sent:
    """One message of the stream: whose, under which MessageID, which person it is about."""

    member: str
    message_id: str
    person: int
    document: etree._Element


def persons(count: int, seed: int = 22, *, without_id: frozenset[int] = frozenset()) -> list[dict]:
    """``count`` synthetic patients; those whose index is in ``without_id`` have no resident ID."""
    rng = random.Random(seed)
    found = []
    for serial in range(count):
        born = f"{rng.randrange(1940, 2015)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
        found.append({"resident_id": None if serial in without_id else make_resident_id(f"330106{born}{serial:03d}"),
                      "name": "合成" + "".join(rng.choice("甲乙丙丁戊己庚辛壬癸") for _ in range(2)),
                      "sex": rng.choice("12"), "birth_date": f"{born[:4]}-{born[4:6]}-{born[6:]}",
                      "phone": f"100{serial:08d}", "division": "330106", "address": f"合成一路{serial + 1}号"})
    return found


def stream(*, persons_count: int = 50, per_person: int = 4, shared_every: int = 2, per_shared: int = 2,
           tag: str = "T") -> dict[str, list[Sent]]:
    """Each member's messages in sending order: ``per_person`` documents of each person at its home
    clinic, ``per_shared`` more at the next clinic for every ``shared_every``-th person (every third of
    those without a resident ID)."""
    people = persons(persons_count, without_id=frozenset(range(shared_every, persons_count, 3 * shared_every)))
    by_member: dict[str, list[Sent]] = {member: [] for member in CLINICS}
    for index, patient in enumerate(people):
        home = CLINICS[index % len(CLINICS)]
        visits = [(home, per_person)]
        if index % shared_every == 0:
            visits.append((CLINICS[(index + 1) % len(CLINICS)], per_shared))
        for member, count in visits:
            for n in range(count):
                document_id = f"{tag}-{member}-{index:03d}-{n}"
                by_member[member].append(Sent(member, f"urn:hie:{document_id}", index, document(
                    "OutpatientVisit", institution=member, document_id=document_id, patient=patient)))
    return by_member


__all__ = ["CLINICS", "Sent", "persons", "stream"]
