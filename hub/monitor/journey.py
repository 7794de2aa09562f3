"""A message's journey by MessageID: received → gate → stored → processed or rejected → replies.

Only times, statuses, codes, ids and digests: never the document, the envelope or the reply's
content. A MessageID is unique per member, so the answer is one journey per member that used it
(within the caller's scope). A stored message is found whenever it arrived, by its unique
(member, MessageID) key; refusals (which store nothing) are looked up in the audit trail within
[since, until), through its partial index of refusals.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.status import MessageStatus

from ..exchange.models import Envelope, Message, Reply
from .periods import check_period, iso
from .rejections import AUDIT, meaning, refused_before_storing, stage_of
from .scope import MemberScope, inbox_members

REPLY_WINDOW = (timedelta(seconds=-1), timedelta(minutes=15))  # of an ack's id around its message's processing


def _reply_id_range(processed_at: datetime) -> tuple[str, str]:
    """Reply ids (``reply-`` + a UUIDv7, whose first 12 hex digits are its creation's Unix time in ms:
    ``hub.exchange.replies.reply_row``) created around ``processed_at``, as a range of the unique index."""
    low, high = (int((processed_at + edge).timestamp() * 1000) for edge in REPLY_WINDOW)
    return f"reply-{low:012x}", f"reply-{high:012x}g"  # 'g' sorts after every hex digit


def _replies(session: Session, message, message_id: str) -> list:
    """The replies to a message: its ack is queued when it is processed (``updated_at``), so it is
    looked for in the reply ids of that moment first, and among all the member's replies only if
    not there (replies older than UUIDv7 ids)."""
    if message.status == MessageStatus.ACCEPTED.value:
        return []  # nothing is sent before processing
    columns = (Reply.reply_id, Reply.kind, Reply.created_at, Reply.fetched_at, Reply.acked_at)
    low, high = _reply_id_range(message.updated_at)
    # every reply of those minutes, sifted here: given the member too, SQLite's planner would walk
    # all of the member's replies by their (member, acked_at) index instead of this short range
    near = [row for row in session.execute(select(*columns, Reply.member, Reply.in_reply_to)
                                           .where(Reply.reply_id >= low, Reply.reply_id < high).order_by(Reply.id))
            if row.member == message.member and row.in_reply_to == message_id]
    if near:
        return near
    return session.execute(select(*columns).where(Reply.member == message.member, Reply.in_reply_to == message_id)
                           .order_by(Reply.id)).all()


def _candidates(session: Session, scope: MemberScope, member: str | None) -> list[str]:
    if member is not None:
        return [member] if scope is None or member in scope else []
    return sorted(scope) if scope is not None else inbox_members(session)


def _stored_steps(message, envelope, replies) -> list[dict]:
    steps = [{"step": "received", "at": iso(envelope.received_at), "envelope_sha256": envelope.sha256,
              "request_message_id": envelope.wsa_message_id, "action": envelope.action,
              "cert_serial": envelope.cert_serial, "item_index": message.item_index},
             {"step": "gate", "verdict": "passed", "at": iso(message.received_at)},
             {"step": "stored", "at": iso(message.received_at), "message_row_id": message.id,
              "document_type": message.document_type, "document_sha256": message.document_sha256}]
    if message.status == MessageStatus.ACCEPTED.value:
        steps.append({"step": "pending", "at": None})
    else:
        outcome = {"step": message.status, "at": iso(message.updated_at)}
        if message.status == MessageStatus.REJECTED.value:
            outcome.update(code=message.error_code, field=message.error_field, **meaning(message.error_code))
        steps.append(outcome)
    steps += [{"step": "reply", "kind": reply.kind, "reply_id": reply.reply_id, "created_at": iso(reply.created_at),
               "fetched_at": iso(reply.fetched_at), "acked_at": iso(reply.acked_at)} for reply in replies]
    return steps


def journey(session: Session, *, message_id: str, scope: MemberScope, since: datetime, until: datetime,
            member: str | None = None) -> list[dict]:
    """The journeys of ``message_id`` (of ``member`` if given) visible in ``scope``; [] if none."""
    since, until = check_period(since, until)
    candidates = _candidates(session, scope, member)
    found: dict[str | None, list[dict]] = {}
    if candidates:
        stored = session.execute(
            select(Message.id, Message.member, Message.envelope_id, Message.item_index, Message.document_type,
                   Message.document_sha256, Message.status, Message.error_code, Message.error_field,
                   Message.received_at, Message.updated_at)
            .where(Message.message_id == message_id, Message.member.in_(candidates))).all()
        for message in stored:
            envelope = session.execute(
                select(Envelope.sha256, Envelope.wsa_message_id, Envelope.action, Envelope.cert_serial,
                       Envelope.received_at).where(Envelope.id == message.envelope_id)).one()
            found[message.member] = _stored_steps(message, envelope, _replies(session, message, message_id))
    refusals = (select(AUDIT.c.member, AUDIT.c.event_type, AUDIT.c.code, AUDIT.c.at, AUDIT.c.envelope_sha256)
                .where(AUDIT.c.at >= since, AUDIT.c.at < until, AUDIT.c.message_id == message_id,
                       refused_before_storing()))  # sorted here: an ORDER BY would steer SQLite off the partial index
    if member is not None or scope is not None:
        refusals = refusals.where(AUDIT.c.member.in_(candidates))
    refused: dict[str | None, list[dict]] = {}
    for row in sorted(session.execute(refusals), key=lambda row: row.at):
        refused.setdefault(row.member, []).append(
            {"step": "refused", "stage": stage_of(row.event_type), "at": iso(row.at), "code": row.code,
             **meaning(row.code), "envelope_sha256": row.envelope_sha256})
    members = sorted(set(found) | set(refused), key=lambda code: code or "")
    return [{"member": code, "message_id": message_id, "stored": code in found,
             "steps": refused.get(code, []) + found.get(code, [])} for code in members]


__all__ = ["journey"]
