"""Second review of issue 23: the master patient index as a clinic queries it back."""
from __future__ import annotations

import pytest

from hub import mpi
from hub.store.db import transaction
from tests.mpi.conftest import ZHANG_ID, rid, sessions, traits, visit_table  # noqa: F401 - shared fixtures
from tests.mpi.test_resolve import resolve

RESIDENT_ROOT = "2.16.156.10011.1.3"


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


@pytest.mark.parametrize("typed", [pytest.param(_full_width(ZHANG_ID), id="full-width"),
                                   pytest.param(ZHANG_ID[:6] + " " + ZHANG_ID[6:], id="space")])
def test_a_resident_query_with_the_id_typed_as_documents_are_finds_nobody(sessions, typed):  # noqa: F811
    """USABILITY / missed history: a document with a full-width or spaced resident ID is normalized and linked,
    but the resident query (GET /api/records/residents, PDQ) only strips and upper-cases, so the same clinic
    typing the ID the same way finds nobody (seen live: [] for ３３０１０６… and '330106 1975…')."""
    resolve(sessions, "syn001", traits(rid(ZHANG_ID, root=RESIDENT_ROOT), name="张伟", born="1985-03-12"))
    with transaction(sessions) as session:
        found = mpi.find_persons(session, identifier=(RESIDENT_ROOT, typed))
    assert len(found) == 1
