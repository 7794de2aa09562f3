"""The spawned SQLite reader (etl/arrow_reader.py) loads exactly what the in-process reader loads, and sees
every commit the hub made (it runs its own copy of SQLite, so it must live in another process)."""
from __future__ import annotations

import pytest

from etl import arrow_reader as reader
from etl import jobs
from etl.reconcile import reconcile
from hub.store.db import session_factory
from olap.schema.migrate import apply_schema
from tests.etl.conftest import Etl
from tests.support.documents import document
from tests.support.inbox import Store
from tests.support.migrated import migrated_engine

pytestmark = pytest.mark.skipif(not reader.available(), reason="adbc-driver-sqlite is not installed")

COLUMNS = "fact_key, date, institution_code, person_key, total_fen, drug_fen, primary_diagnosis_code"


def test_process_reader_loads_what_the_thread_reader_loads(request, tmp_path, chdb_olap, server_olap, monkeypatch):
    engine = migrated_engine(request, f"sqlite:///{tmp_path / 'hub.db'}")
    store = Store(session_factory(engine))
    spawned, threaded = Etl(store, chdb_olap), Etl(store, server_olap)
    for etl in (spawned, threaded):
        apply_schema(etl.mart)
    store.deliver(*[document("OutpatientVisit", document_id=f"V-{n}") for n in range(5)],
                  document("LabReport", document_id="L-1"), document("Immunization", document_id="I-1"))
    store.process()

    def run(etl, *, process: bool):
        monkeypatch.setattr(jobs, "PROCESS_READER_MIN_DOCUMENTS", 0 if process else 10**9)
        return etl.run()

    run(spawned, process=True)
    run(threaded, process=False)
    # a correction committed by the hub after the first load: the spawned reader must see it
    corrected = document("LabReport", document_id="L-1", version=2)
    body = corrected.find("{urn:hie:doc:v1}body")
    for result in body.findall("{urn:hie:doc:v1}result")[1:]:
        body.remove(result)
    store.deliver(corrected)
    store.process()
    second = run(spawned, process=True)
    run(threaded, process=False)
    assert second.per_fact["fact_lab_test"]["read"] == 1
    for fact, columns in (("fact_outpatient_visit", COLUMNS), ("fact_lab_test", "fact_key, date, is_abnormal"),
                          ("fact_immunization", "fact_key, vaccine_code"), ("fact_exchange_message", "fact_key, status")):
        ours = spawned.live(fact, columns).sort_values("fact_key").reset_index(drop=True)
        theirs = threaded.live(fact, columns).sort_values("fact_key").reset_index(drop=True)
        assert ours.astype(str).to_dict("list") == theirs.astype(str).to_dict("list"), fact
    assert spawned.count("fact_lab_test") == 1
    assert (reconcile(store.sessions, spawned.mart)["difference"] == 0).all()
    engine.dispose()
