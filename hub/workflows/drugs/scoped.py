"""A batch's trace, anomalies and recalls as one viewer may see them: the holders of its districts or
its institution, and where the batch crossed into or out of them.

The bureau console (``hub/web/console/drug_trace.py``, ``recalls.py``) and the JSON API
(``hub/web/drugs.py``) read through these, so neither queries the tables itself and both cut alike.
A holder **in scope** (a registered institution of the viewer's districts, or the viewer's own
institution) is shown with its figures and its dispensed counts; a holder **outside** is named (code,
kind, registry name) only where a leg links it to a holder in scope — the batch's path to the
boundary — without its stock or its patients. Legs with neither end in scope are left out. Patients
are never named here: counts per institution only.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...registry.models import Institution
from .. import alerts
from ..models import Alert
from . import recall as recalls
from .ledger import EXCESS, EXPIRED, UNKNOWN, BatchLedger
from .models import NoticeState, Recall
from .trace import as_trace

BATCH_KINDS = (UNKNOWN, EXCESS, EXPIRED)  # keyed drug:batch:institution


@dataclass(frozen=True)
class TraceScope:
    """Which holders a viewer sees: ``None`` = no restriction on that axis; its own institutions when
    ``institutions`` is given, else the institutions registered in ``districts``."""

    districts: frozenset[str] | None = None
    institutions: frozenset[str] | None = None

    @property
    def whole(self) -> bool:
        return self.districts is None and self.institutions is None

    def sees(self, code: str, district: str | None) -> bool:
        if self.institutions is not None:
            return code in self.institutions
        if self.districts is not None:
            return district is not None and district in self.districts
        return True

    def alert_scope(self) -> alerts.AlertScope:
        return alerts.AlertScope(districts=self.districts, institutions=self.institutions)

    @classmethod
    def of(cls, scope) -> "TraceScope":
        """The holders of a cube scope (``olap.cubes.Scope``: a user's in the console, a member's in the API)."""
        return cls(districts=scope.districts, institutions=scope.institutions)


def _registered(session: Session, codes: set[str]) -> dict[str, Institution]:
    if not codes:
        return {}
    return {row.code: row for row in session.scalars(select(Institution).where(Institution.code.in_(sorted(codes))))}


def inside(session: Session, book: BatchLedger, scope: TraceScope) -> frozenset[str]:
    """The registered institutions of ``scope`` that have a stake in the batch (held, passed on or dispensed
    it); empty when the batch never touched the scope."""
    codes = set(book.holders) | {line.institution for line in book.dispenses}
    registry = _registered(session, codes)
    return frozenset(code for code in codes if code in registry and scope.sees(code, registry[code].division_code))


def trace(session: Session, book: BatchLedger, scope: TraceScope) -> dict | None:
    """``trace.as_trace`` of ``book`` cut to ``scope`` (see the module docstring); None when the batch never
    touched it. Each holder says whether it is ``in_scope``; the batch's recall, if any, is named."""
    shown = inside(session, book, scope)
    if not shown:
        return None
    full = as_trace(book)
    legs = [leg for leg in full["legs"] if leg["from"] in shown or leg["to"] in shown]
    named = shown | {leg["from"] for leg in legs} | {leg["to"] for leg in legs}
    registry = _registered(session, set(named))
    holders = []
    for holder in full["holders"]:
        if holder["code"] not in named:
            continue
        entry = registry.get(holder["code"])
        about = {"name": entry.name if entry else None, "district": entry.division_code if entry else None}
        if holder["code"] in shown:
            holders.append({**holder, **about, "in_scope": True})
        else:  # named at the boundary: no figures of a holder outside the viewer's scope
            holders.append({"code": holder["code"], "kind": holder["kind"], **about, "in_scope": False})
    found = session.scalars(select(Recall).where(Recall.drug_code == book.drug,
                                                 Recall.batch_number == book.batch)).one_or_none()
    return {**{key: full[key] for key in ("drug", "batch", "known", "expiry_date")},
            "whole": scope.whole, "legs": legs, "holders": holders,
            "dispensed": [d for d in full["dispensed"] if d["institution"] in shown],
            "recall": None if found is None else {"id": found.id, "raised_at": found.raised_at.isoformat(),
                                                  "complete": found.completed_at is not None}}


def anomalies(session: Session, book: BatchLedger, scope: TraceScope) -> list[dict]:
    """The batch's drug alerts within ``scope`` (``alerts.as_dict``: codes and counts), newest first: its
    anomalies, and its recall's overdue notices."""
    found = list(session.scalars(select(Alert).where(
        Alert.kind.in_(BATCH_KINDS), Alert.key.startswith(f"{book.drug}:{book.batch}:", autoescape=True))))
    recall_id = session.scalar(select(Recall.id).where(Recall.drug_code == book.drug,
                                                       Recall.batch_number == book.batch))
    if recall_id is not None:
        found += session.scalars(select(Alert).where(Alert.kind == recalls.OVERDUE,
                                                     Alert.key.startswith(f"{recall_id}:", autoescape=True)))
    visible = scope.alert_scope()
    return [alerts.as_dict(alert) for alert in sorted(found, key=lambda a: (a.updated_at, a.id), reverse=True)
            if visible.sees(alert)]


def _cut(answer: dict, registry: dict[str, Institution], scope: TraceScope, now: datetime) -> dict | None:
    """``answer`` (``recall.as_dict``) with the lines of ``scope`` only, each ``overdue`` or not, and the progress
    over them; None when it notified none of them (never for the whole region)."""
    lines = [line for line in answer["institutions"] if scope.whole or scope.sees(
        line["institution"], registry[line["institution"]].division_code if line["institution"] in registry
        else None)]
    if not lines and not scope.whole:
        return None
    due = datetime.fromisoformat(answer["confirm_by"])
    for line in lines:
        line["overdue"] = line["state"] == NoticeState.SENT.value and now > due
    answer["institutions"] = lines
    answer["progress"] = {"confirmed": sum(line["state"] == NoticeState.CONFIRMED.value for line in lines),
                          "notified": len(lines)}
    return answer


def recall_view(session: Session, found: Recall, scope: TraceScope, *, now: datetime,
                empty: bool = False) -> dict | None:
    """One recall as ``recall_list`` shows it within ``scope``; None when it notified no one there (unless
    ``empty``: then with no line, as for the bureau that has just flagged it)."""
    answer = recalls.as_dict(session, found)
    registry = _registered(session, {line["institution"] for line in answer["institutions"]})
    shown = _cut(answer, registry, scope, now)
    if shown is None and empty:
        shown = _cut({**answer, "institutions": []}, registry, TraceScope(), now)
    return shown


def recall_list(session: Session, scope: TraceScope, *, now: datetime) -> list[dict]:
    """Recalls newest first with each notified institution's line (``recall.as_dict``) within ``scope`` —
    a recall that notified none of them is left out — each line ``overdue`` when still unconfirmed after
    the recall's deadline, and the progress over the lines shown (``confirmed`` of ``notified``)."""
    mine = sorted(scope.institutions)[0] if scope.institutions is not None and len(scope.institutions) == 1 else None
    answers = [recalls.as_dict(session, found) for found in recalls.list_recalls(session, institution=mine)]
    registry = _registered(session, {line["institution"] for answer in answers for line in answer["institutions"]})
    cut = (_cut(answer, registry, scope, now) for answer in answers)
    return [answer for answer in cut if answer is not None]


__all__ = ["BATCH_KINDS", "TraceScope", "inside", "trace", "anomalies", "recall_view", "recall_list"]
