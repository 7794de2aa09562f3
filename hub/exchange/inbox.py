"""The durable inbox: documents are committed (with their raw signed envelope) before any receipt.

A resend of the same (member, MessageID) with the same document gets its original receipt back
and stores nothing; the same MessageID with a different document is refused.

Writes go through the group commit (``writer.InboxWriter``): this module decides what a group
stores and what each document of it is answered. Receipts are signed before the transaction,
outside the lock.
"""
from __future__ import annotations

import enum
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from protocol.credentials import Credentials
from protocol.errors import HubError
from protocol.receipts import build_receipt
from protocol.status import MessageStatus, ReceiptStatus

from .. import audit
from ..store.rawsql import RawSql
from . import sql as statements
from .gate import VerifiedRequest
from .models import Message


@dataclass(frozen=True)
class SubmittedMessage:
    """One message of a request (its MessageID and document), as the gate returned it."""

    message_id: str
    document: etree._Element

    @property
    def canonical(self) -> bytes:
        return etree.tostring(self.document, method="c14n", exclusive=True, with_comments=False)


class Intake(str, enum.Enum):
    """What the inbox did with one submitted document."""

    ACCEPTED = "accepted"    # stored now (its accepted receipt was signed in advance)
    DUPLICATE = "duplicate"  # a resend of a stored document: answered with the original receipt
    REJECTED = "rejected"    # not stored: a rejected receipt with the code


@dataclass(frozen=True)
class ItemOutcome:
    message_id: str
    receipt: bytes
    status: Intake
    code: str = ""


@dataclass
class _PreparedMessage:
    message_id: str
    document_type: str
    canonical: bytes
    digest: str
    receipt: bytes  # the accepted receipt, signed in advance (unused if the item is a resend)
    code: str = ""  # refused before the transaction (not canonicalizable): stored never, audited, answered


@dataclass
class Submission:
    """One request's documents on their way through the group commit."""

    verified: VerifiedRequest
    items: list[_PreparedMessage]
    client_address: str | None
    done: threading.Event = field(default_factory=threading.Event)
    outcomes: list | None = None
    error: HubError | None = None
    on_done: Callable[[], None] | None = None


def prepare(*, verified: VerifiedRequest, items: list[SubmittedMessage], signer: Credentials,
            client_address: str | None) -> Submission:
    """A submission ready to commit: canonical documents, digests and signed receipts."""
    prepared = []
    for item in items:
        try:
            canonical = item.canonical
        except etree.C14NError:  # e.g. a relative namespace URI: refused alone, the batch goes on
            prepared.append(_PreparedMessage(item.message_id, "", b"", "", b"", code="exchange.document.invalid"))
            continue
        digest = hashlib.sha256(canonical).hexdigest()
        receipt = build_receipt(signer=signer, message_id=item.message_id, member=verified.member,
                                message_sha256=verified.envelope_sha256, document_sha256=digest,
                                received_at=verified.received_at, status=ReceiptStatus.ACCEPTED)
        prepared.append(_PreparedMessage(item.message_id, etree.QName(item.document).localname, canonical, digest, receipt))
    return Submission(verified, prepared, client_address)


def _known(sql: RawSql, jobs: list[Submission]) -> dict[tuple[str, str], tuple[str, bytes]]:
    """(member, message_id) → (document digest, receipt) of the group's keys already stored."""
    wanted: dict[str, set[str]] = {}
    for job in jobs:
        wanted.setdefault(job.verified.member, set()).update(item.message_id for item in job.items)
    known = {}
    for member, ids in wanted.items():
        ids = sorted(ids)
        for message_id, digest, receipt in sql.rows(statements.known_messages(len(ids)), (member, *ids)):
            known[(member, message_id)] = (digest, bytes(receipt))
    return known


def write(sql: RawSql, jobs: list[Submission]) -> None:
    """Store every job's new documents in the current transaction; fill in their outcomes."""
    known = _known(sql, jobs)
    messages, events = [], []
    for job in jobs:
        verified, outcomes, envelope_id = job.verified, [], None
        received = sql.time(verified.received_at)
        for index, item in enumerate(job.items):
            if item.code:
                outcomes.append(ItemOutcome(item.message_id, b"", Intake.REJECTED, item.code))
                events.append(("message.reject", job, item.message_id, item.code))
                continue
            key = (verified.member, item.message_id)
            if key in known:
                digest, receipt = known[key]
                if digest == item.digest:
                    outcomes.append(ItemOutcome(item.message_id, receipt, Intake.DUPLICATE))
                    events.append(("message.duplicate", job, item.message_id, None))
                else:
                    outcomes.append(ItemOutcome(item.message_id, b"", Intake.REJECTED, "exchange.message_id.reused"))
                    events.append(("message.reject", job, item.message_id, "exchange.message_id.reused"))
                continue
            if envelope_id is None:
                envelope_id = sql.insert_id(statements.INSERT_ENVELOPE, (
                    verified.envelope_sha256, verified.member, verified.request.identity.serial_hex,
                    verified.request.message_id, verified.request.action, received, job.client_address, verified.raw))
            messages.append((verified.member, item.message_id, envelope_id, index, item.document_type, item.digest,
                             item.canonical, MessageStatus.ACCEPTED.value, received, received, item.receipt))
            known[key] = (item.digest, item.receipt)
            outcomes.append(ItemOutcome(item.message_id, item.receipt, Intake.ACCEPTED))
            events.append(("message.accept", job, item.message_id, None))
        job.outcomes = outcomes
    sql.many(statements.INSERT_MESSAGE, messages)
    audit.insert_raw(sql, [audit.event(kind, verified=job.verified, message_id=message_id, code=code,
                                       client_address=job.client_address)
                           for kind, job, message_id, code in events])


def outcomes(job: Submission, signer: Credentials) -> list[ItemOutcome]:
    """A settled submission's receipt per item; raises its error when the commit failed."""
    if job.error is not None:
        raise job.error
    return [outcome if outcome.status is not Intake.REJECTED else _rejected(outcome, job.verified, item, signer)
            for outcome, item in zip(job.outcomes, job.items)]


def _rejected(outcome: ItemOutcome, verified: VerifiedRequest, item: _PreparedMessage, signer: Credentials) -> ItemOutcome:
    receipt = build_receipt(signer=signer, message_id=item.message_id, member=verified.member,
                            message_sha256=verified.envelope_sha256, document_sha256=item.digest,
                            received_at=verified.received_at, status=ReceiptStatus.REJECTED, code=outcome.code)
    return ItemOutcome(outcome.message_id, receipt, outcome.status, outcome.code)


def status_of(sessions: sessionmaker[Session], *, member: str, message_id: str) -> Message | None:
    """The member's own message by MessageID (None if unknown)."""
    with sessions() as session:
        return session.scalars(select(Message).where(Message.member == member,
                                                     Message.message_id == message_id)).first()


__all__ = ["SubmittedMessage", "Intake", "ItemOutcome", "Submission", "prepare", "write", "outcomes", "status_of"]
