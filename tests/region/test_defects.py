"""The hospitals' imperfect messages (region/defects.py): what the real processor, the ETL and the cube make
of them is what the truth says — corrections replace, cancellations retract, late visits count in their
own month, invalid documents are rejected with their codes and never become facts."""
from __future__ import annotations

import csv
import shutil
import time
import uuid
from collections import Counter
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from etl import jobs
from etl.exact_facts import EXACT_FACTS
from etl.transform import Pseudonymizer
from hub.audit import AuditEvent
from hub.exchange.models import Message
from hub.store.db import make_engine, session_factory
from olap import apply_schema
from olap.cubes import execute, parse_query
from protocol.errors import RecordError
from region import Generated, plan
from region.defects import CLINICAL_DEFECTS, DEFECTS, InvalidDocument, send_month
from region.truth import VisitTruth, read_indicators
from schemas.validation import validate
from tests.exchange.conftest import live_hub, pki_dir  # noqa: F401  (fixtures: a hub over HTTP)
from tests.support.inbox import Store

DOC = "{urn:hie:doc:v1}"
HOSPITALS = ("RH01", "RH02")


def _messages(region_dir) -> list[dict]:
    with (region_dir / "truth" / "messages.csv").open(encoding="utf-8") as source:
        return list(csv.DictReader(source))


def final_documents(pairs):
    """The OutpatientVisit documents a hub keeps in the end, recounted from the documents alone: the
    latest version of each record, none that a Cancellation names, none the hub rejects (a schema or
    code-list failure of the real validator, or an ``expected`` rejection the processor gives: checked
    against the real processor by the test below)."""
    kept, cancelled = {}, set()
    for event, document in pairs:
        if getattr(event, "expected", "").startswith("rejected"):
            continue
        validate(document)  # everything else is valid
        header = document.find(f"{DOC}header")
        record = header.find(f"{DOC}id").get("extension")
        if document.tag == f"{DOC}Cancellation":
            cancelled.add(document.find(f"{DOC}body/{DOC}target").get("extension"))
        elif document.tag == f"{DOC}OutpatientVisit":
            version = int(header.findtext(f"{DOC}version"))
            if record not in kept or kept[record][0] < version:
                kept[record] = (version, event, document)
    for record, (_, event, document) in kept.items():
        if record not in cancelled:
            yield event, document


def test_visit_truth_equals_a_recount_of_the_final_documents(region_dir):
    truth = read_indicators(region_dir / "truth" / "indicators.csv")
    counted, fen, drugs, versions = Counter(), Counter(), Counter(), Counter()
    for _, document in final_documents(Generated.open(region_dir).documents()):
        cell = (document.find(f"{DOC}header/{DOC}author/{DOC}institution").get("code"),
                document.find(f"{DOC}body/{DOC}visitTime").get("value")[:7])
        charges = list(document.iter(f"{DOC}charge"))
        counted[cell] += 1
        fen[cell] += sum(int(Decimal(c.get("amount")) * 100) for c in charges)
        drugs[cell] += sum(int(Decimal(c.get("amount")) * 100) for c in charges if c.get("category") == "drugs")
        versions[document.findtext(f"{DOC}header/{DOC}version")] += 1
    assert versions["2"] > 10  # corrections are among the kept documents
    assert {cell: (str(counted[cell]), str(fen[cell]), str(drugs[cell])) for cell in counted} == {
        cell: (row["visits"], row["total_fen"], row["drug_fen"]) for cell, row in truth.items()}


def test_the_truth_lists_every_message_that_is_not_a_plain_original(region_dir):
    rows = _messages(region_dir)
    assert {row["institution"] for row in rows} == set(HOSPITALS)  # the clinics send no defects
    by_defect = Counter(row["defect"] for row in rows)
    assert set(by_defect) == {"correction", "cancellation", "late", "birth_date.after_visit",
                              "resident_id.check_digit", *DEFECTS}
    hospital_months = {(row["institution"], row["month"]) for row in rows}
    assert len(hospital_months) == 6
    invalid = Counter((row["institution"], row["month"]) for row in rows if row["expected"].startswith("rejected"))
    assert set(invalid.values()) == {2}  # two clinical or structural defects each month
    for row in rows:
        if row["defect"] == "late":
            assert (row["kind"], row["version"], row["expected"]) == ("OutpatientVisit", "1", "stored")
            assert row["send_month"] > row["month"]
        else:
            assert row["send_month"] == row["month"]
        if row["defect"] == "correction":
            assert (row["version"], row["expected"], row["target"]) == ("2", "replaced", row["record_id"])
        if row["defect"] in DEFECTS:
            assert row["expected"] == f"rejected:{DEFECTS[row['defect']][1]}"
        if row["defect"] == "resident_id.check_digit":  # a demographic defect: stored, flagged
            assert (row["expected"], row["finding"]) == ("stored", "record.patient.id.invalid")
    concerned = [row["target"] for row in rows if row["target"]] + [row["record_id"] for row in rows
                                                                   if row["defect"] == "late"]
    assert len(concerned) == len(set(concerned))  # corrected, cancelled and late visits are apart


def test_corrected_cancelled_and_late_shares_of_the_hospital_visits():
    generated = Generated.build(seed=5, size="small")
    pools = generated.pools()
    visits, seen = Counter(), Counter()
    for code in HOSPITALS:
        member = generated.region.institution(code)
        for year, month in generated.periods:
            events = plan(generated.region, pools, member, seed=5, year=year, month=month)
            visits["all"] += sum(1 for e in events if e.kind == "OutpatientVisit" and not hasattr(e, "defect"))
            seen.update(getattr(e, "defect", None) or ("late" if getattr(e, "send_delay", 0) else "plain")
                        for e in events)
    assert visits["all"] > 2000
    share = {name: seen[name] / visits["all"] for name in ("correction", "cancellation", "late")}
    assert 0.008 < share["correction"] < 0.012 and 0.002 < share["cancellation"] < 0.005
    assert 0.018 < share["late"] < 0.022, share
    clinic = generated.region.institution("RC01")
    assert not [e for e in plan(generated.region, pools, clinic, seed=5, year=2025, month=1) if hasattr(e, "defect")]


def test_a_member_month_replans_alone_to_the_same_events_and_flags():
    generated = Generated.build(seed=4, size="small")
    member = generated.region.institution("RH02")

    def planned(pools):
        events = plan(generated.region, pools, member, seed=4, year=2025, month=2)
        return events, [(e.record_id, getattr(e, "send_delay", 0)) for e in events]

    first, flags = planned(generated.pools())
    plan(generated.region, generated.pools(), generated.region.institution("RH01"), seed=4, year=2025, month=2)
    again, flags_again = planned(generated.pools())
    assert first == again and flags == flags_again
    assert sum(delay for _, delay in flags) > 0


def test_a_late_event_is_sent_the_month_after_its_own_across_the_year_end():
    assert send_month(SimpleNamespace(month="2025-12", send_delay=1)) == "2026-01"
    assert send_month(SimpleNamespace(month="2025-03")) == "2025-03"  # every other event: no delay


def test_every_invalid_document_fails_the_real_validator_or_is_valid_for_the_processor_to_reject(region_dir):
    found = Counter()
    for event, document in Generated.open(region_dir).documents():
        if not isinstance(event, InvalidDocument):
            continue
        kind, code, _ = DEFECTS[event.defect]
        assert document.tag == f"{DOC}{kind}"
        if code in ("record.schema.invalid", "record.code.unknown"):
            with pytest.raises(RecordError) as refused:
                validate(document)
            assert refused.value.code == code
        else:  # only the processor can tell (the store): the test below sends them
            assert validate(document).type_name == kind
        found[event.defect] += 1
    assert set(found) == set(DEFECTS) == set(CLINICAL_DEFECTS)


@pytest.fixture
def store(migrated_sqlite, tmp_path):
    path = tmp_path / "hub.db"
    shutil.copyfile(migrated_sqlite, path)
    engine = make_engine(f"sqlite:///{path}")
    yield Store(session_factory(engine))
    engine.dispose()


def test_the_processor_etl_and_cube_end_as_the_truth_says(region_dir, store, chdb_olap):
    """The hospitals' months sent as the loader sends them (each month's originals, an ETL run, then
    the month's corrections, cancellations and invalid documents and the month before's late visits),
    through the real processor and ETL: every message ends as ``messages.csv`` expects, and the mart's
    visits per hospital and month are ``indicators.csv``'s."""
    generated = Generated.open(region_dir)
    generated.periods = generated.periods[:2]  # two months of the smaller hospital: a few seconds
    truth, expected = VisitTruth(), {row["record_id"] + ":" + row["version"]: row for row in _messages(region_dir)}
    outbox: dict[str, list] = {}  # send month → [(member, event), ...] in planned order
    for member, _, _, events in generated.events():
        if member.code == "RH02":
            for event in events:
                truth.add(event)
                outbox.setdefault(send_month(event), []).append((member.code, event))
    apply_schema(chdb_olap)
    pseudonymize = Pseudonymizer(b"region-test-key-0123456789abcdef")
    sent: dict[int, object] = {}
    for month in sorted(outbox):
        original = [not hasattr(e, "defect") and e.month == month for _, e in outbox[month]]
        for batch in ([pair for pair, first in zip(outbox[month], original) if first],
                      [pair for pair, first in zip(outbox[month], original) if not first]):
            events = [e for _, e in batch]
            ids = store.deliver(*(e.render(generated.region) for e in events), member="RH02")
            sent.update(zip(ids, events))
            store.process()
            jobs.run_incremental(store.sessions, chdb_olap, pseudonymize)
    with store.sessions() as session:
        outcomes = {row.id: (row.status, row.error_code, row.message_id) for row in session.scalars(select(Message))}
        audited = {(event.event_type, event.message_id) for event in session.scalars(select(AuditEvent))}
    checked = Counter()
    for row_id, event in sent.items():
        status, code, message_id = outcomes[row_id]
        row = expected.get(f"{event.record_id}:{getattr(event, 'version', 1)}")
        outcome = row["expected"] if row else "stored"
        if outcome.startswith("rejected:"):
            assert (status, code) == ("rejected", outcome.removeprefix("rejected:")), event.record_id
        else:
            assert (status, code) == ("processed", None), (event.record_id, code)
            if outcome != "stored":  # replaced, cancellation: the store audits what it did
                assert (f"record.{outcome}", message_id) in audited
        checked[outcome.partition(":")[0]] += 1
    assert checked["rejected"] == 4 and checked["replaced"] >= 4 and checked["cancellation"] == 2
    facts = chdb_olap.query_df(EXACT_FACTS.format(
        columns="institution_code, toString(toStartOfMonth(date)) AS month, count() AS visits, "
                "sum(total_fen) AS total_fen, sum(drug_fen) AS drug_fen", table="fact_outpatient_visit",
        condition="1 = 1") + " GROUP BY institution_code, month")
    mart = {(r["institution_code"], r["month"][:7]): (int(r["visits"]), int(r["total_fen"]), int(r["drug_fen"]))
            for r in facts.to_dict("records")}
    assert mart == {cell: tuple(values) for cell, values in truth.cells.items()}
    indicators = ["charge_per_visit", "drug_cost_per_visit", "drug_share"]  # the hospital cube, as the console asks
    answer = execute(chdb_olap, parse_query("visits", {
        "measures": ["visits", "total_fen", "drug_fen"], "indicators": indicators,
        "group_by": ["institution.institution", "date.month"], "period": {"from": "2025-01-01", "to": "2025-02-28"}},
        today=date(2025, 12, 31)))
    cube = {(c["institution.institution"], c["date.month"]): (
        str(c["visits"]), str(c["total_fen"]), str(c["drug_fen"]),
        *(str(Decimal(str(c[name])).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)) for name in indicators))
        for c in answer["cells"]}
    written = read_indicators(region_dir / "truth" / "indicators.csv")
    assert cube == {cell: (row["visits"], row["total_fen"], row["drug_fen"], *(row[name] for name in indicators))
                    for cell, row in written.items() if cell in mart}


def _send_through_a_live_hub(live_hub, pki_dir, items):
    """SubmitBatch ``items`` [(MessageID, document)] as RH02 over real HTTP (signed, encrypted); the
    receipts, then each message's final status once the hub's processor is done with it."""
    from adapters.client import HubClient
    from certs import PkiPaths, issue_member
    from protocol.credentials import Credentials

    if not (pki_dir / "members" / "RH02").exists():
        issue_member(pki_dir, member="RH02", key_type="ec-p256")
    paths = PkiPaths.of(pki_dir)
    client = HubClient(live_hub.url, hub_cert=paths.hub_enc_cert, ca_cert=paths.ca_cert, credentials=
                       Credentials.from_files(pki_dir / "members" / "RH02" / "cert.pem",
                                              pki_dir / "members" / "RH02" / "key.pem"))
    receipts = client.submit_batch(items)
    deadline, states = time.monotonic() + 20, {}
    while time.monotonic() < deadline:
        states = {mid: client.status(mid) for mid, _ in items}
        if all(state.status != "accepted" for state in states.values()):
            break
        time.sleep(0.1)
    return receipts, states


def test_a_live_hub_accepts_every_message_and_rejects_the_invalid_ones_in_their_acknowledgement(live_hub, pki_dir):
    """What the loader sees: every document of the batch gets an accepted receipt (no Fault: the gate
    does not read a document's content); the invalid ones end rejected with their code, the rest processed."""
    generated = Generated.build(seed=11, size="small")
    events = plan(generated.region, generated.pools(), generated.region.institution("RH02"), seed=11, year=2025,
                  month=1)
    concerned = {e.record_id for e in events if hasattr(e, "defect")} | {
        e.cancels.record_id for e in events if hasattr(e, "cancels")}
    chosen = [e for e in events if e.record_id in concerned]  # the defects, and the originals they name
    items = [(f"urn:uuid:{uuid.uuid4()}", e.render(generated.region)) for e in chosen]
    receipts, states = _send_through_a_live_hub(live_hub, pki_dir, items)
    assert [r.status for r in receipts] == ["accepted"] * len(items)
    ends = [(states[mid].status, states[mid].code) for mid, _ in items]
    wanted = [getattr(e, "expected", "stored") for e in chosen]
    assert ends == [("rejected", w.removeprefix("rejected:")) if w.startswith("rejected") else ("processed", "")
                    for w in wanted]
    assert sum(status == "rejected" for status, _ in ends) == 2


def test_a_visit_with_a_bad_resident_id_check_character_is_kept(store):
    generated = Generated.build(seed=11, size="small")
    events = plan(generated.region, generated.pools(), generated.region.institution("RH02"), seed=11, year=2025,
                  month=1)
    flawed = next(e for e in events if getattr(e, "defect", "") == "resident_id.check_digit")
    [row_id] = store.deliver(flawed.render(generated.region), member="RH02")
    store.process()
    assert store.outcome(row_id)[0] == "processed"
    from hub.records.models import RecordFinding

    with store.sessions() as session:
        assert [(f.code, f.field) for f in session.scalars(select(RecordFinding))] == [
            ("record.patient.id.invalid", "/OutpatientVisit/header/patient/id[@root='2.16.156.10011.1.3']/@extension")]
