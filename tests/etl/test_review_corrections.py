"""Review: corrections, cancellations and backfills keep the mart, its rollups and reconcile exact."""
from __future__ import annotations

from datetime import date

from etl import jobs
from etl.reconcile import reconcile
from tests.support.documents import document

V = "{urn:hie:doc:v1}"


def _visit(document_id: str, *, version: int = 1, when: str | None = None):
    doc = document("OutpatientVisit", document_id=document_id, version=version)
    if when:
        doc.find(f"{V}header/{V}effectiveTime").set("value", when)
        for element in doc.iter(f"{V}visitTime", f"{V}time"):
            element.set("value", when)
    return doc


def _exact(etl) -> None:
    differences = reconcile(etl.store.sessions, etl.mart)
    assert (differences["difference"] == 0).all(), differences[differences["difference"] != 0]
    facts = etl.live("fact_outpatient_visit", "date")
    facts = facts.groupby(facts["date"].astype(str).str[:7]).size().to_dict()
    rollup = etl.live("rollup_visits_institution_month", "date, visits")
    rollup = rollup.groupby(rollup["date"].astype(str).str[:7])["visits"].sum().astype(int).to_dict()
    rollup = {month: n for month, n in rollup.items() if n}
    assert rollup == facts


def test_correcting_the_newest_document_moves_it_across_a_month(etl):
    # the last document's rows have the highest ids: a new version may get the same ids back
    etl.deliver(_visit("V-1", when="2026-10-31T23:59:00+08:00"), _visit("V-2", when="2026-10-31T23:59:00+08:00"))
    etl.run()
    etl.deliver(_visit("V-2", version=2, when="2026-11-01T00:01:00+08:00"))
    etl.run()
    assert etl.count("fact_outpatient_visit") == 2
    _exact(etl)


def test_a_backfill_over_cancelled_and_corrected_documents_stays_exact(etl):
    etl.deliver(_visit("V-1", when="2026-10-31T23:59:00+08:00"), _visit("V-2", when="2026-10-15T10:00:00+08:00"))
    etl.run()
    cancel = document("Cancellation", document_id="C-1")
    cancel.find(f"{V}body/{V}target").set("extension", "V-1")
    etl.deliver(cancel, _visit("V-2", version=2, when="2026-09-30T08:00:00+08:00"))
    jobs.backfill(etl.store.sessions, etl.mart, etl.pseudonymize, start=date(2026, 10, 1), end=date(2026, 10, 31))
    october = reconcile(etl.store.sessions, etl.mart)  # the backfilled range is exact (messages: by received day)
    october = october[(october["fact"] != "fact_exchange_message") & (october["date"] >= date(2026, 10, 1))
                      & (october["date"] <= date(2026, 10, 31))]
    assert (october["difference"] == 0).all(), october
    etl.run()
    _exact(etl)
    assert etl.count("fact_outpatient_visit") == 1
