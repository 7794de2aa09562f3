"""The access table of docs/records.md, every cell: each registry kind × status × grant × own or another's
patient × every purpose, decided by ``hub.records.access`` on a real store; then through both doors
(SOAP's and JSON's) for the members the table shuts out."""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.audit import AuditEvent
from hub.auth import issue
from hub.records import access
from hub.registry.models import KINDS
from hub.store.db import transaction
from hub.web.records import router
from protocol.errors import HubError
from protocol.timestamps import utcnow

DOC = Path(__file__).resolve().parents[2] / "docs" / "records.md"
OUTCOMES = {"read": None, "purpose required": "access.purpose.required", "denied": "access.denied"}


def _table() -> list[dict]:
    text = DOC.read_text(encoding="utf-8")
    block = text[text.index("<!-- access-table"):].split("\n\n")[0]
    lines = [line for line in block.splitlines() if line.startswith("|") and not line.startswith("|---")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")))) for line in lines[1:]]


def _requesters(who: str) -> list[access.Requester]:
    """The requesters a row of the table describes (every kind it names, on CLINIC01's seat)."""
    if who == "not registered":
        return [access.Requester(member="CLINIC01")]
    kinds_text, _, state = who.partition(" — ")
    kinds = sorted(KINDS) if kinds_text == "any kind" else [k.strip() for k in kinds_text.split(",")]
    active = state.startswith("active")
    grant = "with an identified grant" in state
    return [access.Requester(member="CLINIC01", kind=kind, active=active, identified_grant=grant) for kind in kinds]


ROWS = _table()
CELLS = [(row, requester, column, purpose)
         for row in ROWS for requester in _requesters(row[next(iter(row))])
         for column, purposes in (("its own patient, no purpose", [None]), ("another's patient, no purpose", [None]),
                                  ("treatment, emergency, referral", ["treatment", "emergency", "referral"]),
                                  ("public_health, quality_review", ["public_health", "quality_review"]),
                                  ("any other purpose", ["curiosity", "marketing"]))
         for purpose in purposes]


def test_the_table_names_every_registry_kind_in_every_state():
    first = next(iter(ROWS[0]))
    active = {r.kind for row in ROWS if "— active" in row[first] for r in _requesters(row[first])}
    assert active == set(KINDS)  # a new kind must be placed in the table before it can read anything
    assert {row[first] for row in ROWS} >= {"any kind — inactive", "not registered"}
    # nine cells a requester: every kind active (bureau and cdc with and without a grant), inactive, unregistered
    assert len(CELLS) == 9 * (len(KINDS) + 2 + len(KINDS) + 1)


def test_every_cell_of_the_access_table(records):
    """One store, every cell (a store per cell would cost minutes): the outcome ``decide`` gives each."""
    wrong = []
    with records.sessions() as session:
        for row, requester, column, purpose in CELLS:
            own = column.startswith("its own")
            seat = requester if own else access.Requester(member="CLINIC02", kind=requester.kind,
                                                          active=requester.active,
                                                          identified_grant=requester.identified_grant)
            try:
                outcome = access.decide(session, requester=seat, person_id=records.person_id, purpose=purpose)
                got = "read" if outcome == purpose else f"read as {outcome}"
            except HubError as refused:
                got = {code: name for name, code in OUTCOMES.items()}.get(refused.code, refused.code)
            if got != row[column]:
                wrong.append(f"{requester.kind}/{'active' if requester.active else 'inactive'}"
                             f"/{'grant' if requester.identified_grant else 'no grant'} {column} {purpose}: "
                             f"{got}, the table says {row[column]}")
    assert wrong == []


@pytest.mark.parametrize("member", ["SUPPLIER01", "DISTRIB01", "GHOST01"])
def test_suppliers_distributors_and_strangers_read_nothing_through_either_door(records, member):
    """GHOST01 holds a valid token but is in no registry; the others are registered, of kinds that never
    read personal records. Each try is refused with access.denied and audited with the member."""
    with transaction(records.sessions) as session:
        token = issue(session, member=member, label="outsider", now=utcnow())
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=records.sessions, certificates=None)
    app.include_router(router)
    client = TestClient(app)
    headers = {"Authorization": f"Bearer {token}"}
    for path, params in ((f"/api/records/persons/{records.person_id}/record", {"purpose": "treatment"}),
                         (f"/api/records/persons/{records.person_id}/documents", {"purpose": "emergency"}),
                         ("/api/records/residents", {"name": "合成测试甲", "birth_date": "1980-01-01",
                                                     "purpose": "treatment"})):
        answer = client.get(path, params=params, headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (403, "access.denied"), path
    with records.sessions() as session:
        denials = session.execute(select(AuditEvent.event_type, AuditEvent.code).where(
            AuditEvent.outcome == "failure", AuditEvent.member == member)).all()
    # a token of a member the registry does not know is refused at the door, before any rule is asked
    expected = "api.reject.unregistered" if member == "GHOST01" else "record.access.deny"
    assert [tuple(row) for row in denials] == [(expected, "access.denied")] * 3
    assert re.fullmatch(r"[A-Z0-9]+", member)
