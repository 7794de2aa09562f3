"""The class 甲 disease alert: the first case of a class A disease, or one managed as class A, alerts at once.

An ``InfectiousDiseaseReport`` whose disease is of class A (甲类: plague, cholera) or on the list of
diseases managed as class A (``MANAGED_AS_CLASS_A``, from the PRC Law on the Prevention and
Treatment of Infectious Diseases, art. 4: SARS and pulmonary anthrax) raises the alert
``disease.class_a`` for its disease and district (the report's current-address division). More
cases update the same alert (its count); every change is published to the members subscribed to
``alert.disease`` for that district (or for every district). A cancelled report, or a new version
that is no longer such a case or names another district, is counted out of the incident it was in.
The alert carries codes and counts only.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records.models import DiseaseReport
from . import alerts, notify
from .runner import DocumentChange, on_documents

KIND = "disease.class_a"
TOPIC = "alert.disease"
CLASS_A = "A"
# Notifiable-disease codes (schemas/codes/notifiable-diseases.csv) managed as class A although listed
# in class B. The hub's list has no code of its own for pulmonary anthrax: every anthrax card alerts
# (better one alert too many); a deployment whose list separates the forms puts that code here instead.
MANAGED_AS_CLASS_A = {
    "201": "传染性非典型肺炎 (SARS)",
    "211": "炭疽 (肺炭疽)",
}


def is_class_a(disease_code: str, disease_class: str) -> bool:
    return disease_class == CLASS_A or disease_code in MANAGED_AS_CLASS_A


def _reports(session: Session, document_rows: list[int]) -> dict[int, DiseaseReport]:
    if not document_rows:
        return {}
    return {row.document_ref: row for row in session.scalars(
        select(DiseaseReport).where(DiseaseReport.document_ref.in_(document_rows)))}


def _facts(report: DiseaseReport) -> dict:
    return {"disease": report.disease_code, "disease_class": report.disease_class,
            "managed_as": CLASS_A if report.disease_code in MANAGED_AS_CLASS_A else report.disease_class}


def _publish(session: Session, alert, now: datetime) -> None:
    notify.publish(session, topic=TOPIC, notification=notify.for_alert(alert), district=alert.district, now=now)


@on_documents("InfectiousDiseaseReport", name=KIND)
def class_a_reports(session: Session, changes: list[DocumentChange], now: datetime) -> None:
    """Raise, update or count out the class A alert of each changed report."""
    reports = _reports(session, [c.document_row_id for c in changes if not c.cancelled])
    for change in changes:
        report = None if change.cancelled else reports.get(change.document_row_id)
        wanted = (f"{report.disease_code}:{report.division}"
                  if report is not None and is_class_a(report.disease_code, report.disease_class) else None)
        counted = alerts.counted_under(session, kind=KIND, occurrence=change.occurrence)
        if counted is not None and counted != wanted:  # cancelled, corrected away, or moved to another incident
            alert = alerts.withdraw(session, kind=KIND, key=counted, occurrence=change.occurrence, now=now)
            if alert is not None:
                _publish(session, alert, now)
        if wanted is None or counted == wanted:
            continue
        raised = alerts.raise_alert(session, kind=KIND, key=wanted, now=now, facts=_facts(report), owner="bureau",
                                    district=report.division, occurrence=change.occurrence)
        if raised.changed:
            _publish(session, raised.alert, now)


__all__ = ["KIND", "TOPIC", "MANAGED_AS_CLASS_A", "is_class_a", "class_a_reports"]
