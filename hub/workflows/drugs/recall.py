"""Recall: the bureau flags a batch; each affected institution is told, with its own patients only.

``flag`` lists the affected institutions from the batch's ledger (every member the batch reached:
received it, or dispensed it) and queues one ``recall`` reply per institution (``wf:Notification``,
kind ``drug.recall``), naming the patients of **that** institution's dispenses (its own patient key,
its dispense document, day and quantity), never another's. Subscribers of the ``recall`` topic get
``published``: no patient count. An institution **confirms** by acknowledging that reply (``AckReplies``:
the clinic agent does it once the notice is written into the clinic's database), so no new operation
is needed; ``sync`` reads the acknowledgements, marks the notices confirmed, completes the recall
when every notice is, and raises ``drug.recall.overdue`` for a notice unconfirmed past ``confirm_by``.
"""
from __future__ import annotations

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


def get_or_raise(session: Session, *, recall_id: int) -> Recall:
    recall = session.get(Recall, recall_id)
    if recall is None:
        raise WorkflowError("workflow.recall.not_found", "no such recall")
    return recall


def flag(session: Session, *, batch: str, drug: str | None, reason: str, actor: str, now: datetime,
         confirm_within: timedelta = CONFIRM_WITHIN, client_address: str | None = None,
         refuse_duplicate: bool = False) -> Recall:
    """Recall ``batch`` (of ``drug``; needed only when the number is known under several drugs) and notify
    every affected institution; flagging a recalled batch again returns its recall (``workflow.recall.duplicate``
    with ``refuse_duplicate``, as the console asks). A batch that reached no registered institution has no
    one to notify: ``workflow.recall.unreached``."""
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise WorkflowError("workflow.recall.invalid", "a reason of at most 500 characters", field="reason")
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
        row = replies.reply_row(member=target.institution, kind=TOPIC, content=notice_xml(recall, target, now), now=now)
        replies.queue_many(session, [row])
        session.add(RecallNotice(recall_id=recall.id, institution=target.institution, reply_id=row["reply_id"],
                                 received=_figure(target.received), dispensed=_figure(target.dispensed),
                                 patients=len({r.person_id for r in target.dispenses}),
                                 state=NoticeState.SENT.value, sent_at=now))
    audit.record(session, "recall.create", member=actor, client_address=client_address,
                 detail=f"workflow_recall:{recall.id} {book.drug}:{batch} {len(targets)} institution(s)"[:200])
    notify.publish(session, topic=TOPIC, notification=published(recall, institutions=len(targets), now=now),
                   now=now)
    return recall


def _district(session: Session, institution: str) -> str | None:
    return session.scalar(select(Institution.division_code).where(Institution.code == institution))


def sync(session: Session, *, now: datetime) -> int:
    """Bring the incomplete recalls up to date: confirmations from the replies' acknowledgements, completion,
    overdue alerts; how many notices changed."""
    changed = 0
    open_recalls = list(session.scalars(select(Recall).where(Recall.completed_at.is_(None))))
    for recall in open_recalls:
        notices = list(session.scalars(select(RecallNotice).where(RecallNotice.recall_id == recall.id)))
        acked = dict(session.execute(select(Reply.reply_id, Reply.acked_at).where(
            Reply.reply_id.in_([n.reply_id for n in notices]), Reply.acked_at.is_not(None))).all())
        for notice in notices:
            if notice.state != NoticeState.CONFIRMED.value and notice.reply_id in acked:
                notice.state, notice.confirmed_at = NoticeState.CONFIRMED.value, acked[notice.reply_id]
                audit.record(session, "recall.confirm", member=notice.institution,
                             detail=f"workflow_recall:{recall.id} {notice.institution}"[:200])
                changed += 1
            elif notice.state == NoticeState.SENT.value and now > recall.confirm_by:
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
                              "confirmed_at": n.confirmed_at.isoformat() if n.confirmed_at else None}
                             for n in notices]}


def list_recalls(session: Session, *, institution: str | None = None) -> list[Recall]:
    """Recalls newest first (those that notified ``institution``, if given)."""
    query = select(Recall).order_by(Recall.raised_at.desc(), Recall.id.desc())
    if institution is not None:
        query = query.join(RecallNotice, RecallNotice.recall_id == Recall.id).where(
            RecallNotice.institution == institution)
    return list(session.scalars(query))


__all__ = ["KIND", "OVERDUE", "TOPIC", "CONFIRM_WITHIN", "Affected", "affected", "published", "notice_xml",
           "get_or_raise", "flag", "sync", "as_dict", "list_recalls"]
