"""``findings_of`` runs each type's rules from a plan bound once per type, with the two event rules on
one reading of the event times (hub/records/quality.py): it must find exactly what the registered rules
find one by one (``rules_for``'s rules in order, then ``event_in_future``), on every rule's defect
document of tests/records/test_rules.py and on the bench's documents (bench/records.py)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree

from bench.records import build_documents
from hub.records import quality
from hub.records.header import read_header
from hub.records.normalizers import normalizer_for
from protocol.errors import RecordError
from protocol.findings import Finding
from protocol.xmlparse import parse_admitted
from schemas.normalize import normalize_document
from schemas.validation import validated
from tests.records.test_rules import ERRORS, PLAUSIBLE, RECEIVED, WARNINGS
from tests.support.documents import document, example_types


def _parts(data: bytes):
    doc = parse_admitted(data)
    reader = normalize_document(doc, data, [])
    _kind, reader = validated(doc, [], reader=reader)
    header, reader = read_header(doc, reader)
    return header, normalizer_for(header.type_name, header.schema_version)(doc, header, reader)


def _one_by_one(header, normalized, received_at):
    found = [finding for check in quality.rules_for(header.type_name) for finding in check(header, normalized)]
    if header.type_name in quality.EVENT_TIMES:
        found.extend(quality.event_in_future(header, normalized, received_at=received_at))
    return found


def _outcome(judge, header, normalized, received_at):
    try:
        return [(finding.code, finding.field) for finding in judge(header, normalized, received_at)]
    except RecordError as error:
        return (error.code, error.fields.get("field"))


def _corpus() -> list[bytes]:
    made = [document(type_name) for type_name in example_types()]
    for _name, make, *_expected in [*WARNINGS, *ERRORS, *[case for case in PLAUSIBLE if case[1] is not None]]:
        docs = make()
        made.extend(docs if isinstance(docs, list) else [docs])
    return [etree.tostring(doc, encoding="utf-8") for doc in made] + [data for _member, data in build_documents(120)]


# the examples' arrival; long before their events (each event in the future); a year later (none)
ARRIVALS = [RECEIVED, RECEIVED - timedelta(days=400), datetime(2027, 11, 23, 4, 0, tzinfo=timezone.utc)]


@pytest.mark.parametrize("received_at", ARRIVALS, ids=["examples' arrival", "before the events", "a year later"])
def test_the_plan_finds_what_the_rules_find_one_by_one(received_at):
    corpus = _corpus()
    judged = 0
    for data in corpus:
        header, normalized = _parts(data)
        planned = _outcome(lambda h, n, r: quality.findings_of(h, n, received_at=r), header, normalized, received_at)
        assert planned == _outcome(_one_by_one, header, normalized, received_at), header.type_name
        judged += bool(planned)
    assert judged >= len(WARNINGS) + len(ERRORS)  # the corpus does hold defects


def test_a_rule_registered_later_joins_the_plan():
    header, normalized = _parts(etree.tostring(document("OutpatientVisit"), encoding="utf-8"))
    assert quality.findings_of(header, normalized, received_at=RECEIVED) == []
    extra = quality.rule(types=("OutpatientVisit",))(lambda h, n: [Finding("record.patient.division.unknown", "/x")])
    try:
        assert [f.code for f in quality.findings_of(header, normalized, received_at=RECEIVED)] == ["record.patient.division.unknown"]
    finally:
        quality.RULES.remove(extra)


@pytest.mark.parametrize("moment", [datetime(2026, 11, 22, hour, minute, tzinfo=timezone.utc)
                                    for hour in (0, 15, 16, 23) for minute in (0, 59)]
                         + [datetime(2024, 2, 28, 16, 0, tzinfo=timezone.utc), datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc),
                            datetime(2026, 11, 22, 16, 0, tzinfo=timezone(timedelta(hours=-5)))])
def test_the_local_day_of_a_utc_time_is_read_without_a_zone_conversion(moment):
    assert quality.local_day(moment) == moment.astimezone(quality.CHINA).date()
