"""Notifications: what a workflow tells a member, through the reply channel.

Two ways: ``send`` to a party that must be told (the other side of a referral, an institution
affected by a recall), and ``publish`` to the subscribers of a topic (``hub.workflows.subscriptions``).
Both queue replies (``hub.exchange.replies``) in the caller's transaction: each is signed and
encrypted for its member when fetched (``FetchReplies``), and the clinic agent writes it into the
clinic's database by its kind like any other reply. Reply kinds: ``referral``, ``alert``, ``recall``.
The content is a ``wf:Notification`` (``schemas/workflow/Notification.xsd``, namespace
``urn:hie:workflow:v1``); every notification built here is checked against that schema.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from lxml import etree
from sqlalchemy.orm import Session

from protocol.ns import WORKFLOW, q
from protocol.timestamps import format_utc, utcnow

from ..exchange import replies
from .kinds import kind_of
from .models import Alert
from .subscriptions import TOPICS, subscribers

REPLY_KINDS = frozenset(kind for kind, _ in TOPICS.values())  # referral, alert, recall
XSD = Path(__file__).resolve().parents[2] / "schemas" / "workflow" / "Notification.xsd"


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


@dataclass(frozen=True)
class Notification:
    """One notification: its kind, the subjects it is about (type, id), their state, and what the recipient may see."""

    kind: str
    subjects: tuple[tuple[str, str], ...]
    state: str
    time: datetime
    topic: str | None = None
    severity: str | None = None
    title: str | None = None
    title_zh: str | None = None
    district: str | None = None
    institution: str | None = None
    count: int | None = None
    facts: tuple[tuple[str, str], ...] = ()
    referral: etree._Element | None = None  # a wf:Referral record summary (the receiving care provider's only)
    note: str | None = None  # a recall's reason (wf:Note)

    def to_xml(self) -> bytes:
        """The ``wf:Notification`` element, checked against its schema (``ValueError`` if it fails: a bug)."""
        root = etree.Element(q(WORKFLOW, "Notification"), nsmap={"wf": WORKFLOW})

        def add(name: str, value) -> etree._Element:
            element = etree.SubElement(root, q(WORKFLOW, name))
            if value is not None:
                element.text = str(value)
            return element

        add("Kind", self.kind)
        if self.topic:
            add("Topic", self.topic)
        for subject_type, subject_id in self.subjects:
            add("Subject", None).attrib.update({"type": subject_type, "id": str(subject_id)})
        add("State", self.state)
        add("Time", format_utc(self.time))
        for name, value in (("Severity", self.severity), ("Title", self.title), ("TitleZh", self.title_zh),
                            ("District", self.district), ("Institution", self.institution), ("Count", self.count)):
            if value is not None and value != "":
                add(name, value)
        for code, value in self.facts:
            add("Fact", None).attrib.update({"code": code, "value": str(value)})
        if self.referral is not None:
            root.append(copy.deepcopy(self.referral))
        if self.note is not None:
            add("Note", self.note)
        if not schema().validate(root):
            raise ValueError(f"notification {self.kind} does not conform to Notification.xsd")
        return etree.tostring(root, encoding="utf-8")


def _flat_facts(facts: dict) -> tuple[tuple[str, str], ...]:
    """An alert's facts (codes and counts) as Fact elements; nested values are not facts to send."""
    return tuple((str(code), str(value)) for code, value in sorted(facts.items())
                 if isinstance(value, (str, int)) and str(value) != "")


def for_alert(alert: Alert) -> Notification:
    """The notification of an alert's current state (its facts: codes and counts only)."""
    kind = kind_of(alert.kind)
    return Notification(kind=alert.kind, topic=kind.topic, subjects=(("alert", str(alert.id)),), state=alert.state,
                        time=alert.updated_at, severity=kind.severity.value, title=kind.title,
                        title_zh=kind.title_zh, district=alert.district, institution=alert.institution,
                        count=alert.count, facts=_flat_facts(json.loads(alert.facts)))


def send(session: Session, *, member: str, kind: str, notification: Notification, now: datetime | None = None,
         in_reply_to: str | None = None) -> None:
    """Queue ``notification`` for ``member`` as a reply of ``kind`` (referral, alert, recall)."""
    if kind not in REPLY_KINDS:
        raise ValueError(f"unknown notification reply kind {kind!r}")
    replies.queue(session, member=member, kind=kind, content=notification.to_xml(), in_reply_to=in_reply_to,
                  now=now or utcnow())


def publish(session: Session, *, topic: str, notification: Notification, district: str | None = None,
            now: datetime | None = None) -> list[str]:
    """Queue ``notification`` for every member subscribed to ``topic`` (matching ``district``); who they are."""
    kind = TOPICS[topic][0]
    members = subscribers(session, topic=topic, district=district)
    content, moment = notification.to_xml(), now or utcnow()
    replies.queue_many(session, [replies.reply_row(member=member, kind=kind, content=content, now=moment)
                                 for member in members])
    return members


__all__ = ["REPLY_KINDS", "XSD", "Notification", "schema", "for_alert", "send", "publish"]
