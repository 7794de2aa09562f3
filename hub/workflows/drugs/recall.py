"""Recall: the bureau flags a batch; each affected institution is told, with its own patients only.

``flag`` lists the affected institutions from the batch's ledger (every member the batch reached:
received it, or dispensed it) and queues one ``recall`` reply per institution (``wf:Notification``,
kind ``drug.recall``), naming the patients of **that** institution's dispenses (its own patient key,
its dispense document, day and quantity), never another's. Subscribers of the ``recall`` topic get
``published``: no patient count. An institution **confirms** by acknowledging that reply (``AckReplies``:
the clinic agent does it once the notice is written into the clinic's database), so no new operation
is needed; ``sync`` reads the acknowledgements, marks the notices confirmed (closing the notice's
``drug.recall.overdue`` alert, if it had one), completes the recall when every notice is, and raises
``drug.recall.overdue`` for a notice unconfirmed past its deadline (``notice_due``).

A recalled batch that reaches a new holder after the recall (a late receipt, a dispense) is not
forgotten: ``reach`` sends that institution its own notice, once, tracked like the others, with the
recall's confirmation time counted from its own notice; the recall is incomplete again until it
confirms. The drug handler reaches the recalls of the batches its documents touch, ``sync`` the
incomplete recalls, and flagging the batch again (``flag``) its recall.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.ns import WORKFLOW, q
from protocol.timestamps import format_utc

from ... import audit
from ...exchange import replies
from ...exchange.models import Reply
from ...registry.models import Institution
from .. import alerts, notify
from ..errors import WorkflowError
from ..models import Alert, AlertState
from . import sql
from .ledger import ZERO, BatchLedger, ledger
from .models import NoticeState, Recall, RecallNotice

KIND = "drug.recall"
OVERDUE = "drug.recall.overdue"
TOPIC = "recall"
CONFIRM_WITHIN = timedelta(hours=48)  # a notice not acknowledged this long after the recall is overdue
MAX_REASON = 500
SEVERITY = "warning"
TITLE = "a drug batch is recalled: stop dispensing it, return the stock and contact the patients listed"
TITLE_ZH = "药品批次召回：停止发放、退回库存并联系所列患者"


def _figure(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


@dataclass(frozen=True)
class Affected:
    """One institution the batch reached: what it received and dispensed, and its own patients' dispenses."""

    institution: str
    received: Decimal
    dispensed: Decimal
    dispenses: tuple  # rows of sql.dispensed_patients for this institution only


def affected(session: Session, book: BatchLedger) -> list[Affected]:
    """Every registered member the batch reached (received or dispensed it); the batch's source is not one."""
    members = set(session.scalars(select(Institution.code).where(Institution.code.in_(sorted(book.holders)))))
    rows = sql.dispensed_patients(session, drug=book.drug, batch=book.batch)
    found = []
    for code, holding in sorted(book.holders.items()):
        if code not in members or (holding.received == ZERO and holding.dispensed == ZERO):
            continue
        own = tuple(row for row in rows if row.institution == code)
        found.append(Affected(code, holding.received, holding.dispensed, own))
    return found


def _notification(recall: Recall, *, state: str, institution: str | None, facts: dict,
                  count: int | None, now: datetime, note: str | None = None) -> notify.Notification:
    return notify.Notification(kind=KIND, topic=TOPIC, subjects=(("recall", str(recall.id)),), state=state, time=now,
                               severity=SEVERITY, title=TITLE, title_zh=TITLE_ZH,
                               institution=institution, count=count, note=note,
                               facts=tuple((code, str(value)) for code, value in sorted(facts.items())))


def published(recall: Recall, *, institutions: int, now: datetime) -> notify.Notification:
    """What the ``recall`` topic's subscribers are told: batch, drug, reason, deadline and how many institutions
    are concerned (``Count``), never a patient count (a subscriber may never have had the batch)."""
    facts = {"drug": recall.drug_code, "batch": recall.batch_number, "institutions": institutions,
             "confirm_by": format_utc(recall.confirm_by)}
    return _notification(recall, state="open", institution=None, facts=facts, count=institutions, now=now,
                         note=recall.reason)


def notice_xml(recall: Recall, target: Affected, now: datetime) -> bytes:
    """The notice for one institution: the recall, its figures, the reason, and its own patients only."""
    facts = {"drug": recall.drug_code, "batch": recall.batch_number, "received": _figure(target.received),
             "dispensed": _figure(target.dispensed)}
    patients = len({row.person_id for row in target.dispenses})
    root = etree.fromstring(_notification(recall, state="open", institution=target.institution, facts=facts,
                                          count=patients, now=now).to_xml())
    etree.SubElement(root, q(WORKFLOW, "Note")).text = recall.reason
    for row in target.dispenses:
        etree.SubElement(root, q(WORKFLOW, "Patient"), key=row.local_key, document=row.document_id,
                         date=row.at.date().isoformat(), quantity=_figure(row.quantity))
    if not notify.schema().validate(root):
        raise ValueError("recall notice does not conform to Notification.xsd")
    return etree.tostring(root, encoding="utf-8")


# bidirectional embedding, override and isolate controls: they make a reason read otherwise than it is
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def checked_reason(reason: str | None) -> str:
    """The bureau's reason, trimmed (line breaks as ``\\n``); ``workflow.recall.invalid`` (field ``reason``)
    when empty, over ``MAX_REASON`` characters, or holding a control character (a line break or tab aside)."""
    text = (reason or "").replace("\r\n", "\n").strip()
    if not text or len(text) > MAX_REASON:
        raise WorkflowError("workflow.recall.invalid", "a reason of at most 500 characters", field="reason")
    for char in text:
        if char in _BIDI or char in "\ufffe\uffff" or (
                unicodedata.category(char) in ("Cc", "Cs") and char not in "\n\t"):
            raise WorkflowError("workflow.recall.invalid", "the reason holds a control character", field="reason")
    return text


def get_or_raise(session: Session, *, recall_id: int) -> Recall:
    recall = session.get(Recall, recall_id)
    if recall is None:
        raise WorkflowError("workflow.recall.not_found", "no such recall")
    return recall


def flag(session: Session, *, batch: str, drug: str | None, reason: str, actor: str, now: datetime,
         confirm_within: timedelta = CONFIRM_WITHIN, client_address: str | None = None,
         refuse_duplicate: bool = False) -> Recall:
    """Recall ``batch`` (of ``drug``; needed only when the number is known under several drugs) and notify
    every affected institution; flagging a recalled batch again returns its recall, after telling the
    institutions the batch reached since (``workflow.recall.duplicate`` with ``refuse_duplicate``, as the
    console asks). A batch that reached no registered institution has no one to notify:
    ``workflow.recall.unreached``."""
    reason = checked_reason(reason)
    drugs = [drug] if drug else sql.drugs_of(session, batch=batch)
    if len(drugs) != 1:
        raise WorkflowError("workflow.recall.invalid", "no such batch, or one known under several drugs: name the drug",
                            field="drug" if drugs else "batch")
    book = ledger(drugs[0], batch, sql.movement_lines(session, batch=batch, drug=drugs[0]),
                  sql.dispense_lines(session, batch=batch, drug=drugs[0]))
    if not book.legs and not book.dispenses:
        raise WorkflowError("workflow.recall.invalid", "no movement or dispense names this batch", field="batch")
    found = session.scalars(select(Recall).where(Recall.drug_code == book.drug,
                                                 Recall.batch_number == batch)).one_or_none()
    if found is not None:
        if refuse_duplicate:
            raise WorkflowError("workflow.recall.duplicate", "the batch already has a recall", field="batch",
                                recall=found.id)
        _reach_one(session, found, book, now=now)
        return found
    targets = affected(session, book)
    if not targets:
        raise WorkflowError("workflow.recall.unreached", "no registered institution received or dispensed the batch",
                            field="batch")
    recall = Recall(drug_code=book.drug, batch_number=batch, reason=reason, raised_by=actor, raised_at=now,
                    confirm_by=now + confirm_within)
    session.add(recall)
    session.flush()
    for target in targets:
        _send(session, recall, target, now=now)
    audit.record(session, "recall.create", member=actor, client_address=client_address,
                 detail=f"workflow_recall:{recall.id} {book.drug}:{batch} {len(targets)} institution(s)"[:200])
    notify.publish(session, topic=TOPIC, notification=published(recall, institutions=len(targets), now=now),
                   now=now)
    return recall


def _send(session: Session, recall: Recall, target: Affected, *, now: datetime) -> None:
    """Queue ``target``'s notice (a ``recall`` reply) and track it."""
    row = replies.reply_row(member=target.institution, kind=TOPIC, content=notice_xml(recall, target, now), now=now)
    replies.queue_many(session, [row])
    session.add(RecallNotice(recall_id=recall.id, institution=target.institution, reply_id=row["reply_id"],
                             received=_figure(target.received), dispensed=_figure(target.dispensed),
                             patients=len({r.person_id for r in target.dispenses}),
                             state=NoticeState.SENT.value, sent_at=now))


def _reach_one(session: Session, recall: Recall, book: BatchLedger | None = None, *, now: datetime) -> int:
    """Tell each institution the batch reached since ``recall`` was flagged (once each); how many were told."""
    if book is None:
        book = ledger(recall.drug_code, recall.batch_number,
                      sql.movement_lines(session, batch=recall.batch_number, drug=recall.drug_code),
                      sql.dispense_lines(session, batch=recall.batch_number, drug=recall.drug_code))
    # the recall's row first: two passes (or a pass and a read) never tell the same holder twice (PostgreSQL)
    session.execute(select(Recall.id).where(Recall.id == recall.id).with_for_update())
    told = set(session.scalars(select(RecallNotice.institution).where(RecallNotice.recall_id == recall.id)))
    if all(code in told or (h.received == ZERO and h.dispensed == ZERO) for code, h in book.holders.items()):
        return 0  # no one new (the usual case): the patients' query is not needed
    new = [target for target in affected(session, book) if target.institution not in told]
    for target in new:
        _send(session, recall, target, now=now)
        audit.record(session, "recall.extend", member=alerts.HUB_ACTOR,
                     detail=f"workflow_recall:{recall.id} {target.institution}"[:200])
    if new:
        recall.completed_at = None  # complete again once the new holders confirm
        session.flush()
    return len(new)


def reach(session: Session, *, batches: set[tuple[str, str]], now: datetime) -> int:
    """Tell the new holders of the recalled ones of ``batches`` ((drug, batch) pairs); how many were told."""
    numbers = sorted({batch for _, batch in batches})
    told = 0
    for start in range(0, len(numbers), 500):
        for found in session.scalars(select(Recall).where(Recall.batch_number.in_(numbers[start:start + 500]))):
            if (found.drug_code, found.batch_number) in batches:
                told += _reach_one(session, found, now=now)
    return told


def notice_due(recall: Recall, notice: RecallNotice) -> datetime:
    """When ``notice`` is overdue: the recall's ``confirm_by``, or as long after a later notice was sent."""
    return max(recall.confirm_by, notice.sent_at + (recall.confirm_by - recall.raised_at))


def _close_overdue(session: Session, recall: Recall, notice: RecallNotice, *, now: datetime) -> None:
    """The institution confirmed: its overdue alert for this recall, if any, is closed (with its event)."""
    late = session.scalars(select(Alert).where(Alert.kind == OVERDUE, Alert.key == f"{recall.id}:{notice.institution}",
                                               Alert.state != AlertState.CLOSED.value)).one_or_none()
    if late is not None:
        alerts.close(session, alert_id=late.id, actor=alerts.HUB_ACTOR, now=now,
                     note="the institution confirmed the recall")


def _district(session: Session, institution: str) -> str | None:
    return session.scalar(select(Institution.division_code).where(Institution.code == institution))


def sync(session: Session, *, now: datetime) -> int:
    """Bring the incomplete recalls up to date: new holders told, confirmations from the replies'
    acknowledgements (closing their overdue alerts), completion, overdue alerts; how many notices changed."""
    changed = 0
    open_recalls = list(session.scalars(select(Recall).where(Recall.completed_at.is_(None))))
    for recall in open_recalls:
        changed += _reach_one(session, recall, now=now)
        notices = list(session.scalars(select(RecallNotice).where(RecallNotice.recall_id == recall.id)))
        acked = dict(session.execute(select(Reply.reply_id, Reply.acked_at).where(
            Reply.reply_id.in_([n.reply_id for n in notices]), Reply.acked_at.is_not(None))).all())
        for notice in notices:
            if notice.state != NoticeState.CONFIRMED.value and notice.reply_id in acked:
                notice.state, notice.confirmed_at = NoticeState.CONFIRMED.value, acked[notice.reply_id]
                audit.record(session, "recall.confirm", member=notice.institution,
                             detail=f"workflow_recall:{recall.id} {notice.institution}"[:200])
                _close_overdue(session, recall, notice, now=now)
                changed += 1
            elif notice.state == NoticeState.SENT.value and now > notice_due(recall, notice):
                alerts.raise_alert(session, kind=OVERDUE, key=f"{recall.id}:{notice.institution}", now=now,
                                   facts={"recall": recall.id, "drug": recall.drug_code, "batch": recall.batch_number},
                                   owner="bureau", district=_district(session, notice.institution),
                                   institution=notice.institution, occurrence=f"workflow_recall_notice:{notice.id}")
        if all(n.state == NoticeState.CONFIRMED.value for n in notices):
            recall.completed_at = max((n.confirmed_at for n in notices), default=now)
            audit.record(session, "recall.complete", member=alerts.HUB_ACTOR, detail=f"workflow_recall:{recall.id}")
    return changed


def as_dict(session: Session, recall: Recall) -> dict:
    """A recall with each institution's notice (figures and confirmation; no patient)."""
    notices = session.scalars(select(RecallNotice).where(RecallNotice.recall_id == recall.id)
                              .order_by(RecallNotice.institution))
    return {"id": recall.id, "drug": recall.drug_code, "batch": recall.batch_number, "reason": recall.reason,
            "raised_by": recall.raised_by, "raised_at": recall.raised_at.isoformat(),
            "confirm_by": recall.confirm_by.isoformat(), "complete": recall.completed_at is not None,
            "completed_at": recall.completed_at.isoformat() if recall.completed_at else None,
            "institutions": [{"institution": n.institution, "received": n.received, "dispensed": n.dispensed,
                              "patients": n.patients, "state": n.state, "sent_at": n.sent_at.isoformat(),
                              "confirm_by": notice_due(recall, n).isoformat(),
                              "confirmed_at": n.confirmed_at.isoformat() if n.confirmed_at else None}
                             for n in notices]}


def list_recalls(session: Session, *, institution: str | None = None) -> list[Recall]:
    """Recalls newest first (those that notified ``institution``, if given)."""
    query = select(Recall).order_by(Recall.raised_at.desc(), Recall.id.desc())
    if institution is not None:
        query = query.join(RecallNotice, RecallNotice.recall_id == Recall.id).where(
            RecallNotice.institution == institution)
    return list(session.scalars(query))


__all__ = ["KIND", "OVERDUE", "TOPIC", "CONFIRM_WITHIN", "MAX_REASON", "Affected", "affected", "published",
           "notice_xml", "checked_reason", "get_or_raise", "flag", "reach", "notice_due", "sync", "as_dict", "list_recalls"]
