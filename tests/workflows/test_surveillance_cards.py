"""The report card beyond its XSD (hub/records/quality.py's card rules, docs/data-quality.md's table):
each rule with a card that breaks it and the same card that does not; a finding keeps the card and its
case, an error refuses it with its code and field."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from lxml import etree
from sqlalchemy import select

from hub.records.quality import CLASSIFICATIONS, DEFAULT_CLASSIFICATIONS
from hub.records.store import prepare
from hub.workflows import run_pass
from hub.workflows.surveillance.models import DiseaseCase
from protocol.errors import RecordError

from .cards import HFMD, HIV, NOROVIRUS, card, resident

CARD = "/InfectiousDiseaseReport"
RECEIVED = datetime(2026, 11, 23, 12, 0, tzinfo=timezone(timedelta(hours=8)))
DAY = date(2026, 11, 20)
PLAGUE, CHOLERA, MEASLES = ("101", "A"), ("102", "A"), ("206", "B")
NO_ID = {"name": "测试无证", "sex": "1", "birth_date": "1990-01-01"}


def judged(doc: etree._Element) -> list[tuple[str, str]]:
    message = SimpleNamespace(document=etree.tostring(doc, encoding="utf-8"), member="CLINIC01", received_at=RECEIVED)
    return sorted((finding.code, finding.field) for finding in prepare(message).findings)


def refused(doc: etree._Element) -> tuple[str, str]:
    with pytest.raises(RecordError) as error:
        judged(doc)
    return error.value.code, error.value.fields.get("field")


def test_a_complete_card_of_every_class_has_no_finding():
    for disease in (PLAGUE, MEASLES, NOROVIRUS):
        assert judged(card("OK", patient=resident(1), disease=disease, onset=DAY)) == []


@pytest.mark.parametrize("disease, patient, drop, missing", [
    (MEASLES, {**resident(1), "name": None}, (), ["header/patient/name"]),
    (PLAGUE, NO_ID, (), ["header/patient/id"]),
    (MEASLES, resident(1), ("occupation",), ["body/occupation"]),
    (NOROVIRUS, {**resident(1), "sex": None, "birth_date": None}, (),
     ["header/patient/birthDate", "header/patient/sex"]),
    # class C needs neither the ID nor the occupation
    (NOROVIRUS, NO_ID, ("occupation",), []),
])
def test_fields_the_card_needs_by_class(disease, patient, drop, missing):
    found = judged(card("F", patient=patient, disease=disease, onset=DAY, drop=drop))
    assert found == sorted(("record.disease.card.incomplete", f"{CARD}/{path}") for path in missing)


def test_onset_diagnosis_report_in_that_order():
    late_report = card("D", patient=resident(1), onset=DAY, diagnosis=DAY + timedelta(days=1), reported=DAY)
    assert judged(late_report) == [("record.disease.report_before_diagnosis", f"{CARD}/body/diagnosisDate/@value")]
    inverted = card("D", patient=resident(1), onset=DAY + timedelta(days=1), diagnosis=DAY)
    assert judged(inverted) == [("record.disease.onset_after_diagnosis", f"{CARD}/body/onsetDate/@value")]
    assert judged(card("D", patient=resident(1), onset=DAY - timedelta(days=3), diagnosis=DAY, reported=DAY)) == []


@pytest.mark.parametrize("division, found", [
    ("330100", [("record.disease.division.not_district", f"{CARD}/body/currentAddress/@division")]),  # a city
    ("330000", [("record.disease.division.not_district", f"{CARD}/body/currentAddress/@division")]),  # a province
    ("110100", [("record.code.unverified", f"{CARD}/body/currentAddress/@division"),  # unlisted, city form
                ("record.disease.division.not_district", f"{CARD}/body/currentAddress/@division")]),
    ("110105", [("record.code.unverified", f"{CARD}/body/currentAddress/@division")]),  # unlisted district
    ("330105", []),
])
def test_the_current_address_names_a_district(division, found):
    assert judged(card("V", patient=resident(1), division=division, onset=DAY)) == found


@pytest.mark.parametrize("disease, classification", [
    (MEASLES, "4"), (NOROVIRUS, "5"), (HIV, "1"), (HIV, "2"), (PLAGUE, "5")])
def test_a_classification_the_disease_cannot_have_is_refused(disease, classification):
    assert refused(card("K", patient=resident(1), disease=disease, classification=classification, onset=DAY)) == (
        "record.disease.classification.not_allowed", f"{CARD}/body/caseClassification/@code")


@pytest.mark.parametrize("disease, classification", [
    (CHOLERA, "4"), (("214", "B"), "4"), (("20302", "B"), "5"), (HIV, "3"), (HIV, "5"), (PLAGUE, "1"),
    (HFMD, "2")])
def test_the_classifications_each_disease_may_have(disease, classification):
    assert judged(card("K", patient=resident(1), disease=disease, classification=classification, onset=DAY)) == []
    assert classification in CLASSIFICATIONS.get(disease[0], DEFAULT_CLASSIFICATIONS)


def test_a_finding_keeps_the_card_and_its_case_an_error_refuses_it(store):
    kept, refused_ = store.deliver(card("KEPT", patient={**resident(7), "sex": None}, disease=MEASLES, onset=DAY),
                                   card("BAD", patient=resident(8), disease=HIV, classification="1", onset=DAY))
    store.process()
    run_pass(store.sessions)
    assert store.outcome(kept)[0] == "processed"
    assert store.outcome(refused_) == ("rejected", "record.disease.classification.not_allowed",
                                       f"{CARD}/body/caseClassification/@code")
    with store.sessions() as session:
        assert [c.disease_code for c in session.scalars(select(DiseaseCase))] == ["206"]
