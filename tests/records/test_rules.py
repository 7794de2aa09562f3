"""Plausibility rules (hub/records/quality.py): each rule with a document made from the integrator
examples that triggers it and the unchanged example that does not; then end to end, a warning leaves
the document stored with its rows and the finding in the acknowledgement, an error rejects it with its
code and field."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from lxml import etree
from sqlalchemy import func, select

from hub.records.models import ROW_MODELS, RecordDocument, RecordFinding
from hub.records.store import prepare
from protocol.errors import RecordError
from tests.support.documents import _q, document

BIRTH = "header/patient/birthDate"
CHINA = timezone(timedelta(hours=8))
RECEIVED = datetime(2026, 11, 23, 12, 0, tzinfo=CHINA)  # when the hub received each example (after its events)


@pytest.fixture
def db_url(tmp_path):
    """The embedded default only: the rules run in ``prepare``, pure Python above the store (the store's
    own SQL runs on both backends in test_store.py and test_findings.py)."""
    return f"sqlite:///{tmp_path}/hub.db"


def changed(type_name: str, **values) -> etree._Element:
    """The example of ``type_name`` with ``path=value`` changes: ``body/visitTime`` sets @value,
    ``body/procedure@date`` sets the attribute, ``body/ageMonths#`` sets the text."""
    doc = document(type_name, document_id=f"RULE-{type_name}")
    for key, value in values.items():
        path, _, attribute = key.replace("__", "/").partition("@")
        text = path.endswith("#")
        element = doc.find(_q(path.rstrip("#")))
        if text:
            element.text = value
        else:
            element.set(attribute or "value", value)
    return doc


def judged(doc: etree._Element) -> list[tuple[str, str]]:
    """(code, field) of what the hub finds in ``doc`` (raises ``RecordError`` for an error)."""
    message = SimpleNamespace(document=etree.tostring(doc, encoding="utf-8"), member="CLINIC01", received_at=RECEIVED)
    return [(finding.code, finding.field) for finding in prepare(message).findings]


def add_procedure(doc: etree._Element, day: str) -> etree._Element:
    first = doc.find(_q("body/procedure"))
    second = etree.Element(_q("procedure"), code="99.0401", codeSystem="ICD-9-CM-3", date=day)
    first.addnext(second)
    return doc


# (name, document, the findings expected)
WARNINGS = [
    ("visit before birth", lambda: changed("OutpatientVisit", **{BIRTH: "2026-11-22", "body/visitTime": "2026-11-21T09:05:00+08:00"}),
     [("record.event.before_birth", "/OutpatientVisit/body/visitTime/@value")]),
    ("dose before birth", lambda: changed("Immunization", **{BIRTH: "2026-11-15", "body/administeredOn": "2026-11-14"}),
     [("record.event.before_birth", "/Immunization/body/administeredOn/@value")]),
    ("onset before birth", lambda: changed("InfectiousDiseaseReport", **{BIRTH: "2026-11-20"}),
     [("record.event.before_birth", "/InfectiousDiseaseReport/body/onsetDate/@value")]),
    ("second procedure before birth", lambda: add_procedure(changed("InpatientStay", **{
        BIRTH: "2026-11-12", "body/admissionTime": "2026-11-12T10:20:00+08:00"}), "2026-11-11"),
     [("record.event.before_birth", "/InpatientStay/body/procedure[2]/@date"),
      ("record.procedure.outside_stay", "/InpatientStay/body/procedure[2]/@date")]),
    ("procedure after discharge", lambda: changed("InpatientStay", **{"body/procedure@date": "2026-11-21"}),
     [("record.procedure.outside_stay", "/InpatientStay/body/procedure/@date")]),
    ("onset after diagnosis", lambda: changed("InfectiousDiseaseReport", **{"body/onsetDate": "2026-11-21",
                                                                           "body/diagnosisDate": "2026-11-19"}),
     [("record.disease.onset_after_diagnosis", "/InfectiousDiseaseReport/body/onsetDate/@value")]),
    ("maternal checkup at 6", lambda: changed("MaternalCheckup", **{BIRTH: "2020-01-01"}),
     [("record.maternal.age.inconsistent", "/MaternalCheckup/header/patient/birthDate/@value")]),
    ("maternal checkup at 66", lambda: changed("MaternalCheckup", **{BIRTH: "1960-01-01"}),
     [("record.maternal.age.inconsistent", "/MaternalCheckup/header/patient/birthDate/@value")]),
    ("child checkup at 8 by birth date", lambda: changed("ChildHealthCheckup", **{BIRTH: "2018-01-15"}),
     [("record.child_checkup.age.inconsistent", "/ChildHealthCheckup/header/patient/birthDate/@value")]),
    ("child checkup at 84 months declared", lambda: changed("ChildHealthCheckup", **{"body/ageMonths#": "84"}),
     [("record.child_checkup.age.inconsistent", "/ChildHealthCheckup/body/ageMonths")]),
    ("programme vaccine at 18", lambda: changed("Immunization", **{BIRTH: "2008-11-15"}),
     [("record.immunization.age.inconsistent", "/Immunization/header/patient/birthDate/@value")]),
    ("division not in the list", lambda: changed("OutpatientVisit", **{"header/patient/address@division": "110101"}),
     [("record.patient.division.unknown", "/OutpatientVisit/header/patient/address/@division")]),
    ("visit in the future (2062 typed for 2026)", lambda: changed("OutpatientVisit", **{
        "body/visitTime": "2062-11-22T09:05:00+08:00"}),
     [("record.event.in_future", "/OutpatientVisit/body/visitTime/@value")]),
    ("dose in the future (2036 typed for 2026)", lambda: changed("Immunization", **{"body/administeredOn": "2036-11-14"}),
     [("record.event.in_future", "/Immunization/body/administeredOn/@value")]),
]

# (name, document): just inside every limit, nothing found
PLAUSIBLE = [
    ("every example", None),
    ("visit on the day of birth, 01:00 local (the UTC day before)", lambda: changed(
        "OutpatientVisit", **{BIRTH: "2026-11-22", "body/visitTime": "2026-11-22T01:00:00+08:00",
                              "header/effectiveTime": "2026-11-22T07:00:00+08:00"})),
    ("procedure on the discharge day", lambda: changed("InpatientStay", **{"body/procedure@date": "2026-11-20"})),
    ("onset on the day of diagnosis", lambda: changed("InfectiousDiseaseReport", **{"body/onsetDate": "2026-11-21"})),
    ("maternal checkup at 10 and at 60", lambda: [changed("MaternalCheckup", **{BIRTH: "2016-11-21"}),
                                                 changed("MaternalCheckup", **{BIRTH: "1965-11-22"})]),
    ("child checkup at 83 months", lambda: changed("ChildHealthCheckup", **{BIRTH: "2019-12-15",
                                                                           "body/ageMonths#": "83"})),
    ("programme vaccine the day before 18", lambda: changed("Immunization", **{BIRTH: "2008-11-16"})),
    ("adult HepB and influenza", lambda: [changed("Immunization", **{BIRTH: "1970-01-01", "body/vaccine@code": code})
                                          for code in ("HepB", "Flu")]),
    ("outpatient charges at the ceiling", lambda: changed("OutpatientVisit", **{"body/charges/charge@amount": "999900.00"})),
    ("division of the list", lambda: changed("OutpatientVisit", **{"header/patient/address@division": "330182"})),
]

ERRORS = [
    ("discharge before admission", lambda: changed("InpatientStay", **{"body/dischargeTime": "2026-11-12T10:19:00+08:00"}),
     ("record.stay.discharge_before_admission", "/InpatientStay/body/dischargeTime/@value")),
    ("outpatient charges over ¥1,000,000", lambda: changed("OutpatientVisit", **{"body/charges/charge@amount": "999999.00"}),
     ("record.charges.implausible", "/OutpatientVisit/body/charges")),  # + the example's other lines (¥52): over
    ("inpatient charges over ¥10,000,000", lambda: changed("InpatientStay", **{"body/charges/charge@amount": "10000000.00"}),
     ("record.charges.implausible", "/InpatientStay/body/charges")),
]


@pytest.mark.parametrize("name, make, expected", WARNINGS, ids=[case[0] for case in WARNINGS])
def test_a_rule_finds_its_defect(name, make, expected):
    assert judged(make()) == expected


@pytest.mark.parametrize("name, make", PLAUSIBLE, ids=[case[0] for case in PLAUSIBLE])
def test_a_plausible_document_has_no_findings(name, make):
    from tests.support.documents import example_types

    made = [document(t) for t in example_types()] if make is None else make()
    for doc in made if isinstance(made, list) else [made]:
        assert judged(doc) == []


@pytest.mark.parametrize("name, make, expected", ERRORS, ids=[case[0] for case in ERRORS])
def test_an_error_rule_refuses_with_its_code_and_field(name, make, expected):
    with pytest.raises(RecordError) as raised:
        judged(make())
    assert (raised.value.code, raised.value.fields.get("field")) == expected


@pytest.mark.parametrize("field, value, found", [
    ("body/visitTime", "2026-11-23T12:59:00+08:00", False),  # a clinic clock up to an hour fast: no defect
    ("body/visitTime", "2026-11-23T13:01:00+08:00", True),
    ("body/visitTime", "2026-12-02T09:05:00+08:00", True),  # 40 days typed ahead: a month typed wrong
])
def test_an_event_after_the_arrival_is_in_the_future_beyond_an_hour(field, value, found):
    expected = [("record.event.in_future", f"/OutpatientVisit/{field}/@value")] if found else []
    assert judged(changed("OutpatientVisit", **{field: value})) == expected


@pytest.mark.parametrize("day, found", [("2026-11-23", False), ("2026-11-24", True)])
def test_a_date_only_event_is_in_the_future_after_the_arrival_day(day, found):
    expected = [("record.event.in_future", "/Immunization/body/administeredOn/@value")] if found else []
    assert judged(changed("Immunization", **{"body/administeredOn": day})) == expected


def test_an_implausible_birth_date_is_one_finding_not_one_per_event():
    doc = changed("OutpatientVisit", **{BIRTH: "2099-01-01"})  # born after the visit and the document
    assert judged(doc) == [("record.patient.birth_date.implausible", "/OutpatientVisit/header/patient/birthDate/@value")]


def test_negative_charges_stay_refused_by_the_schema():
    with pytest.raises(RecordError) as raised:
        judged(changed("OutpatientVisit", **{"body/charges/charge@amount": "-12.00"}))
    assert raised.value.code == "record.schema.invalid"


@pytest.mark.parametrize("name, make, expected", WARNINGS, ids=[case[0] for case in WARNINGS])
def test_a_warning_keeps_the_document_and_its_rows_and_tells_the_sender(store, name, make, expected):
    from tests.records.test_findings import acknowledgement

    doc = make()
    [row_id] = store.deliver(doc)
    store.process()
    assert store.outcome(row_id) == ("processed", None, None)
    with store.sessions() as session:
        document_id = session.scalar(select(RecordDocument.id))
        assert document_id is not None
        stored = [(f.code, f.field) for f in session.scalars(select(RecordFinding).order_by(RecordFinding.id))]
        rows = sum(session.scalar(select(func.count()).select_from(model).where(model.document_ref == document_id))
                   for name, model in ROW_MODELS.items() if name != "record_finding")
    assert stored == expected and rows > 0  # the clinical rows are there, counted like any other
    ack = acknowledgement(store, row_id)
    assert [(f.findtext("{*}Code"), f.findtext("{*}Field")) for f in ack.findall("{*}Finding")] == expected


@pytest.mark.parametrize("name, make, expected", ERRORS, ids=[case[0] for case in ERRORS])
def test_an_error_rejects_the_document_with_its_code_and_field(store, name, make, expected):
    [row_id] = store.deliver(make())
    store.process()
    assert store.outcome(row_id) == ("rejected", *expected)
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RecordDocument)) == 0
