"""``python -m bench.records --out bench/results``: normalization + MPI after the gate, one core.

Documents are made from the integrator examples with patients from the synthetic population
(tests/support/population.py: typos, missing IDs, twins …), put in the inbox as accepted messages
(not timed), then processed by ``hub.pipeline.process_pending`` in this one thread
(timed: wall and CPU) in batches of ``pipeline.BATCH``, after ``warm_up``, as the processor
thread does. Also times the longitudinal record of a person with 500 records. Runs on SQLite and,
when its binaries are installed, on a PostgreSQL started on loopback.

The documents are plausible, as a clinic's are: the Immunization example's vaccine (MMR, a child's
vaccine of the national programme) is given to the patients under 18 only; an adult gets an influenza
dose (``_plausible_vaccine``). Before 2026-12-05 every patient got MMR, and 430 of 3,000 documents
carried a ``record.immunization.age.inconsistent`` finding that real data would not.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

from lxml import etree

from hub import pipeline
from hub.exchange.models import Message
from hub.records.query import longitudinal_record
from hub.runtime import processing_stages
from hub.store.db import make_engine, migrate, session_factory
from tests.support.documents import _q, document, patient_element
from tests.support.inbox import Store
from tests.support.population import generate

TYPES = ("OutpatientVisit", "LabReport", "Prescription", "InpatientStay", "Immunization", "OutpatientVisit")
PROGRAMME_AGE = 18  # the national immunization programme's vaccines are for children (hub/records/quality.py)
ADULT_VACCINE = ("Flu", "流感疫苗")  # not a programme vaccine (schemas/codes/vaccines.csv)


def _traits_values(traits) -> dict:
    values = {kind: value for kind, _root, value in traits.identifiers}
    values.update(name=traits.name, sex=traits.sex, birth_date=traits.birth_date, phone=traits.phone,
                  division=traits.division, address=traits.address)
    return values


def _plausible_vaccine(doc: etree._Element, born) -> None:
    """An adult's Immunization is an influenza dose, not the example's child vaccine (MMR)."""
    given = date.fromisoformat(doc.find(_q("body/administeredOn")).get("value"))
    age = None if born is None else given.year - born.year - ((given.month, given.day) < (born.month, born.day))
    if age is not None and age >= PROGRAMME_AGE:
        vaccine = doc.find(_q("body/vaccine"))
        vaccine.set("code", ADULT_VACCINE[0])
        vaccine.set("displayName", ADULT_VACCINE[1])


def build_documents(count: int, *, seed: int = 7, per_patient: int = 1) -> list[tuple[str, bytes]]:
    """(member, document bytes): distinct documents, patients from the synthetic population.

    ``per_patient``: consecutive documents about the same patient record (1: nearly every document
    brings a patient record the index has not seen, the MPI's costly case; 3: an encounter's
    visit, prescription and lab report, the everyday case).
    """
    population = generate(persons=max(50, count // (4 * per_patient)), seed=seed, institutions=10)
    records = population.records
    documents = []
    for index in range(count):
        record = records[(index // per_patient) % len(records)]
        type_name = TYPES[index % len(TYPES)]
        doc = document(type_name, institution=record.institution, document_id=f"BENCH-{index:07d}")
        old = doc.find(_q("header/patient"))
        old.getparent().replace(old, patient_element(_traits_values(record.traits)))
        if type_name == "Immunization":
            _plausible_vaccine(doc, record.traits.birth_date)
        documents.append((record.institution, etree.tostring(doc, encoding="utf-8")))
    return documents


def _deliver(store: Store, documents: list[tuple[str, bytes]]) -> None:
    by_sender: dict[str, list[bytes]] = {}
    for member, data in documents:
        by_sender.setdefault(member, []).append(data)
    for member, items in by_sender.items():
        for start in range(0, len(items), 500):
            store.deliver(*items[start:start + 500], member=member)


def normalize_run(url: str, documents: list[tuple[str, bytes]], *, batch: int) -> dict:
    engine = make_engine(url)
    migrate(engine)
    store = Store(session_factory(engine))
    _deliver(store, documents)
    pipeline.warm_up()  # as the processor thread does before its first batch
    wall0, cpu0 = time.perf_counter(), time.process_time()
    done = 0
    while (count := pipeline.process_pending(store.sessions, processing_stages(), limit=batch)):
        done += count
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    with store.sessions() as session:
        statuses = {}
        for status in session.scalars(Message.__table__.select().with_only_columns(Message.status)):
            statuses[status] = statuses.get(status, 0) + 1
    engine.dispose()
    return {"documents": len(documents), "processed": done, "statuses": statuses, "wall_s": round(wall, 3),
            "cpu_s": round(cpu, 3), "docs_per_s": round(done / wall, 1), "docs_per_cpu_s": round(done / cpu, 1),
            "batch": batch}


def longitudinal_run(url: str, *, records: int = 500, repeats: int = 30) -> dict:
    engine = make_engine(url)
    migrate(engine)
    store = Store(session_factory(engine))
    patient = {"resident_id": "330106196804120022", "name": "合成王秀英", "sex": "2", "birth_date": "1968-04-12"}
    docs = []
    for index in range(records):
        type_name = TYPES[index % len(TYPES)]
        doc = document(type_name, institution="CLINIC01", document_id=f"LONG-{index:05d}")
        old = doc.find(_q("header/patient"))
        old.getparent().replace(old, patient_element(patient))
        docs.append(("CLINIC01", etree.tostring(doc, encoding="utf-8")))
    _deliver(store, docs)
    while pipeline.process_pending(store.sessions, processing_stages(), limit=500):
        pass
    with store.sessions() as session:
        from hub.records.models import RecordDocument

        person_id = session.scalar(RecordDocument.__table__.select().with_only_columns(RecordDocument.person_id)
                                   .where(RecordDocument.person_id.is_not(None)).limit(1))
    timings, rows = [], 0
    for _ in range(repeats):
        with store.sessions() as session:
            t0 = time.perf_counter()
            record = longitudinal_record(session, person_id)
            timings.append((time.perf_counter() - t0) * 1000)
        rows = sum(len(section) for section in record.values())
    engine.dispose()
    timings.sort()
    return {"documents": records, "rows_returned": rows, "median_ms": round(statistics.median(timings), 2),
            "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2), "repeats": repeats}


def _machine_speed() -> int:
    """RSA-2048 private-key operations per second on one core: the same yardstick ``bench.run``
    reports as its crypto floor, so a figure can be read against how fast the machine was."""
    from .stages import crypto_floor

    return crypto_floor(1.0, parallel=1)["rsa2048_private_ops_per_s"]


def _backends(wanted: list[str], tmp: Path):
    for backend in wanted:
        if backend == "sqlite":
            yield backend, lambda name: f"sqlite:///{tmp}/{name}.db", None
        elif backend == "postgresql":
            from tests.support.pgserver import PostgresServer

            if not PostgresServer.available():
                print("postgresql: binaries not installed, skipped", file=sys.stderr)
                continue
            server = PostgresServer()
            server.start()
            yield backend, server.create_database, server
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/results")
    parser.add_argument("--documents", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=pipeline.BATCH)
    parser.add_argument("--per-patient", type=int, default=1,
                        help="consecutive documents per patient record (1: the MPI's costly case, the target's)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    documents = build_documents(args.documents, per_patient=args.per_patient)
    print(f"built {len(documents)} documents in {time.perf_counter() - t0:.1f} s", flush=True)
    report = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "target_docs_per_s": 3000,
              "documents_per_patient_record": args.per_patient, "target_longitudinal_ms": 50,
              "loadavg_at_start": os.getloadavg(), "machine_before": _machine_speed(), "results": {}}
    tmp = Path(tempfile.mkdtemp(prefix="hie-bench-records-"))
    try:
        for backend, make_url, _server in _backends(args.backends.split(","), tmp):
            runs = []
            for repeat in range(args.repeats):
                run = normalize_run(make_url(f"norm{repeat}"), copy.copy(documents), batch=args.batch)
                runs.append(run)
                print(f"{backend} normalize #{repeat + 1}: {run['docs_per_s']:,} docs/s wall, "
                      f"{run['docs_per_cpu_s']:,} docs/CPU-s, statuses {run['statuses']}", flush=True)
            longitudinal = longitudinal_run(make_url("longitudinal"))
            print(f"{backend} longitudinal record of 500 documents ({longitudinal['rows_returned']} rows): "
                  f"median {longitudinal['median_ms']} ms, p95 {longitudinal['p95_ms']} ms", flush=True)
            report["results"][backend] = {
                "normalize": runs, "normalize_median_docs_per_s": statistics.median(r["docs_per_s"] for r in runs),
                "longitudinal": longitudinal}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["machine_after"] = _machine_speed()
    print(f"machine speed (RSA-2048 private ops/s, one core): {report['machine_before']} before, "
          f"{report['machine_after']} after (the exchange bench's floor; this machine drifts ±30%)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "records.json").write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str))
    sqlite = report["results"].get("sqlite", {})
    met = sqlite.get("normalize_median_docs_per_s", 0) >= 3000
    print(f"target normalization >= 3,000 docs/s on SQLite, one core: median "
          f"{sqlite.get('normalize_median_docs_per_s')} -> {'MET' if met else 'NOT MET'}")
    print(f"written {out / 'records.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
