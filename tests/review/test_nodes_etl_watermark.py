"""Review of issue 22's ETL beside several processors (etl/jobs.py run_incremental, etl/extract.py
changed_between): a processor's chunk dates its rows when it starts (hub/pipeline.py ``now = utcnow()``)
and commits them later; the ETL's next run reads only what changed after its last watermark less the
overlap (60 s). A chunk still open when a run reads, and committed more than the overlap after its rows'
date (a processor paused, a long chunk), is never loaded by any incremental run. The workflows' runner
has a cutoff for this (hub/workflows/concurrency.cutoff: the oldest open transaction); the ETL has none.
The test shortens the overlap to 1 s (run_incremental's own parameter) to stay fast. It fails on integ at
5d2dcf6. Every person here is synthetic."""
from __future__ import annotations

import random
import time
from datetime import timedelta

from hub.records.stage import RecordsStage
from olap.schema.migrate import apply_schema
from tests.cluster_units.processors import Hold, Worker, on_postgres, store  # noqa: F401 (fixture)
from tests.etl.conftest import Etl
from tests.mpi.test_concurrency import person, visit

OVERLAP = timedelta(seconds=1)  # the scheduled runs use 60 s: the same with a processor paused 61 s


@on_postgres
def test_a_chunk_committed_after_an_etl_run_read_is_loaded_by_the_next_run(store, chdb_olap):
    apply_schema(chdb_olap)
    etl = Etl(store, chdb_olap)
    store.deliver(visit("CLINIC01", "OV-LATE", person(5, random.Random(5))), member="CLINIC01")
    hold = Hold()
    paused = Worker(store, [RecordsStage(), hold], limit=1)  # has written the visit, dated now; not committed
    paused.start()
    assert hold.reached.wait(20)
    try:
        time.sleep(OVERLAP.total_seconds() * 1.5)
        etl.run(overlap=OVERLAP)  # reads while the chunk is open: the visit is not there yet
    finally:
        hold.release.set()
        paused.join(20)
    assert paused.error is None and paused.finished == 1
    etl.run(overlap=OVERLAP)
    assert etl.count("fact_outpatient_visit") == 1, "the visit committed after a run read is never loaded"
