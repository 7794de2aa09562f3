"""find_persons by identifier, as a clinic types the ID back into a resident query (GET /api/records/residents,
the SOAP resident query): spelled as intake spells it, so the person the documents were linked to is found."""
from __future__ import annotations

import pytest

from hub import mpi
from hub.store.db import transaction

from .conftest import RESIDENT_ROOT, ZHANG_ID, rid, traits
from .test_resolve import resolve


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


@pytest.mark.parametrize("typed", [pytest.param(_full_width(ZHANG_ID), id="full-width"),
                                   pytest.param(ZHANG_ID[:6] + " " + ZHANG_ID[6:], id="space"),
                                   pytest.param(f"{ZHANG_ID[:6]}-{ZHANG_ID[6:14]}-{ZHANG_ID[14:]}", id="hyphens"),
                                   pytest.param(f"{ZHANG_ID[:6]}／{ZHANG_ID[6:]}", id="full-width-slash")])
def test_a_resident_query_with_the_id_typed_as_documents_are_finds_the_person(sessions, typed):
    resolve(sessions, "syn001", traits(rid(ZHANG_ID, root=RESIDENT_ROOT), name="张伟", born="1985-03-12"))
    with transaction(sessions) as session:
        found = mpi.find_persons(session, identifier=(RESIDENT_ROOT, typed))
    assert [person.name for person in found] == ["张伟"]


def test_an_invalid_id_kept_is_not_found_however_it_is_typed(sessions):
    bad = ZHANG_ID[:-1] + "5"
    resolve(sessions, "syn001", traits(rid(bad), name="张伟", born="1985-03-12"))
    with transaction(sessions) as session:
        assert mpi.find_persons(session, identifier=(RESIDENT_ROOT, f"{bad[:6]}-{bad[6:]}")) == []
