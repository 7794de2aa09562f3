"""The class 甲 disease alert: the first case of a class A disease, or one managed as class A, alerts at once.

A disease of class A (甲类: plague, cholera) or on the list of diseases managed as class A
(``MANAGED_AS_CLASS_A``, from the PRC Law on the Prevention and Treatment of Infectious Diseases, art. 4:
SARS and pulmonary anthrax) raises the alert ``disease.class_a`` for its disease and district. The alert
counts **cases, not cards**: the surveillance workflow's cases (``hub.workflows.surveillance.cases``: one
MPI person and disease within the episode window, whichever institutions reported it), never derived
again here. ``judge`` runs in the surveillance handler's transaction, right after the cases are linked
again: each case of a series it touched is one occurrence of the alert (``workflow_disease_case:<id>``),
counted once, under the district of the case; a card no case holds (no MPI person) counts by itself
(``record_document:<id>``), as the mart's ``case_first`` does. More cases update the same alert (its
count), and each new case — not each card — is published once to the members subscribed to
``alert.disease`` for that district (or for every district). A case that is gone (its cards cancelled,
joined with another by an MPI merge) or that now lies in another district is counted out of the incident
it was in, and that is published too. The alert carries codes and counts only.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.terminology import lookup

from ..records.models import DiseaseReport, DocumentStatus, RecordDocument
from . import alerts, notify
from .models import Alert, AlertEvent
from .surveillance.models import CaseCard, DiseaseCase

KIND = "disease.class_a"
TOPIC = "alert.disease"
CLASS_A = "A"
DISEASES = "notifiable-diseases"  # the code list (schemas/codes/notifiable-diseases.csv) that gives a disease's class
# Notifiable-disease codes (schemas/codes/notifiable-diseases.csv) managed as class A although listed
# in class B. The hub's list has no code of its own for pulmonary anthrax: every anthrax card alerts
# (better one alert too many); a deployment whose list separates the forms puts that code here instead.
MANAGED_AS_CLASS_A = {
    "201": "传染性非典型肺炎 (SARS)",
    "211": "炭疽 (肺炭疽)",
}


def is_class_a(disease_code: str, disease_class: str) -> bool:
    return disease_class == CLASS_A or disease_code in MANAGED_AS_CLASS_A


def class_of(disease_code: str) -> str:
    """The disease's class in the hub's code list ("" for a code it does not hold)."""
    concept = lookup(DISEASES, disease_code)
    return concept.extra.get("class", "") if concept is not None else ""


def _facts(disease_code: str) -> dict:
    disease_class = class_of(disease_code)
    return {"disease": disease_code, "disease_class": disease_class,
            "managed_as": CLASS_A if disease_code in MANAGED_AS_CLASS_A else disease_class}


def _wanted(session: Session, disease: str, district: str) -> set[str]:
    """The occurrences the incident counts now: its cases, and its current cards that no case holds."""
    cases = session.scalars(select(DiseaseCase.id).where(DiseaseCase.disease_code == disease,
                                                         DiseaseCase.district == district))
    loose = session.scalars(select(DiseaseReport.document_ref)
                            .join(RecordDocument, RecordDocument.id == DiseaseReport.document_ref)
                            .outerjoin(CaseCard, CaseCard.document_row_id == DiseaseReport.document_ref)
                            .where(DiseaseReport.disease_code == disease, DiseaseReport.division == district,
                                   RecordDocument.status == DocumentStatus.CURRENT.value,
                                   CaseCard.case_id.is_(None)))
    return {f"workflow_disease_case:{row}" for row in cases} | {f"record_document:{row}" for row in loose}


def _counted(session: Session, key: str) -> set[str]:
    """The occurrences counted under ``key`` now (their last event of the kind is there, and no withdrawal)."""
    seen = set(session.scalars(select(AlertEvent.occurrence).join(Alert, Alert.id == AlertEvent.alert_id)
                               .where(Alert.kind == KIND, Alert.key == key, AlertEvent.occurrence.is_not(None))))
    return {occurrence for occurrence in seen if alerts.counted_under(session, kind=KIND, occurrence=occurrence) == key}


def _publish(session: Session, alert: Alert, now: datetime) -> None:
    notify.publish(session, topic=TOPIC, notification=notify.for_alert(alert), district=alert.district, now=now)


def judge(session: Session, series: Iterable[tuple[str, str]], now: datetime, *,
          document_rows: Iterable[int] = ()) -> int:
    """Bring the class A incidents of ``series`` (disease, district) — and those the cards ``document_rows``
    were counted under — in line with their cases; how many occurrences were counted in or out."""
    keys = {f"{disease}:{district}" for disease, district in series if is_class_a(disease, class_of(disease))}
    cards = [f"record_document:{row}" for row in document_rows]
    if cards:  # cards counted by themselves before (no case, or the rule before cases): one probe per batch
        ever = set(session.scalars(select(AlertEvent.occurrence).join(Alert, Alert.id == AlertEvent.alert_id)
                                   .where(Alert.kind == KIND, AlertEvent.occurrence.in_(cards))))
        for occurrence in sorted(ever):
            counted = alerts.counted_under(session, kind=KIND, occurrence=occurrence)
            keys |= {counted} if counted else set()
    plan = {}
    for key in sorted(keys):
        disease, _, district = key.partition(":")
        plan[key] = (_counted(session, key), _wanted(session, disease, district))
    moved = 0
    for key, (counted, wanted) in plan.items():  # out first: a case moving between districts counts in after
        for occurrence in sorted(counted - wanted):
            alert = alerts.withdraw(session, kind=KIND, key=key, occurrence=occurrence, now=now)
            if alert is not None:
                _publish(session, alert, now)
                moved += 1
    for key, (counted, wanted) in plan.items():
        disease, _, district = key.partition(":")
        for occurrence in sorted(wanted - counted):
            raised = alerts.raise_alert(session, kind=KIND, key=key, now=now, facts=_facts(disease), owner="bureau",
                                        district=district, occurrence=occurrence)
            if raised.changed:
                _publish(session, raised.alert, now)
                moved += 1
    return moved


__all__ = ["KIND", "TOPIC", "MANAGED_AS_CLASS_A", "is_class_a", "class_of", "judge"]
