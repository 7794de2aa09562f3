"""``python -m bench.etl --out DIR [--visits 100000] [--servers]``: OLTP (SQLite) → mart, end to end.

Builds a health-record store straight in SQLite (bulk inserts in the exact layout the store writes:
documents, encounters with charges and diagnoses, lab results, medications, the inbox messages behind
them, persons) whose visits are the synthetic region's (``bench.region_facts``: a uniform sample of
the full region's year when ``--visits`` is smaller than it, a scaled copy — more institutions, a
second year — when larger), each with a lab report and a prescription of the same patient, member
and time; then times ``etl.jobs.run_incremental`` from the first read to the last rollup, into chDB
and (``--servers``) a ClickHouse server started on loopback. Target: ≥ 200,000 fact rows/s into
chDB. Writes DIR/etl.json.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from etl import jobs
from etl.transform import Pseudonymizer
from hub.store.db import make_engine, migrate, session_factory

from .region_facts import replicate, region_visits

TARGET_ROWS_PER_S = 200_000
SEED = 20251205  # the region's (hie region generate's default)
_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
DRUGS = ["YP0001", "YP0002", "YP0007", "YP0019", "YP0023"]
TESTS = ["14771-0", "2093-3", "4548-4", "5804-0"]


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _persons(facts, seed: int) -> list[tuple]:
    """mpi_person rows of the visits' persons: a copy's resident is the region's resident (sex, birth, district)."""
    from region import generate_people

    people = generate_people(count=50_000, seed=seed, year=2025)
    now = datetime.now(timezone.utc).strftime(_FORMAT)
    keys = sorted(set(facts["person_key"].astype(int)))
    return [(key, people[key % 1_000_000 - 1].sex, people[key % 1_000_000 - 1].birth_date.isoformat(),
             people[key % 1_000_000 - 1].division, now, now) for key in keys]


def build_oltp(path: Path, *, visits: int, seed: int = SEED) -> dict[str, int]:
    """A migrated SQLite store holding ``visits`` of the region's visits (scaled), as many lab reports (4
    results each) and prescriptions (2 lines each), their inbox messages and persons; counts of fact rows."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    facts = replicate(region_visits(seed), visits)
    rng = random.Random(seed)
    now = datetime.now(timezone.utc).strftime(_FORMAT)
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    persons = _persons(facts, seed)
    db.executemany("INSERT INTO mpi_person (id, status, sex, birth_date, division, created_at, updated_at) "
                   "VALUES (?, 'active', ?, ?, ?, ?, ?)", persons)
    db.execute("INSERT INTO inbox_envelope (id, sha256, member, cert_serial, wsa_message_id, action, received_at, raw) "
               "VALUES (1, ?, 'BENCH', '01', 'urn:uuid:bench', 'SubmitBatch', ?, x'00')", ("0" * 64, now))
    documents, messages, encounters, charges, diagnoses, labs, medications = [], [], [], [], [], [], []
    row = {"enc": 0, "chg": 0, "dx": 0, "lab": 0, "med": 0}
    columns = ("n", "institution_code", "date", "kind", "department_code", "person_key", "total_fen", "drug_fen",
               "primary_diagnosis_code")
    for n, institution, day, kind_, department, person_key, total_fen, drug_fen, diagnosis in zip(
            *(facts[name].tolist() for name in columns)):
        person = int(person_key)
        # the visit's time of day: the region's visits are planned by day; spread them over opening hours
        at = (day.to_pydatetime().replace(tzinfo=timezone.utc) + timedelta(hours=8, minutes=(n * 37) % 540)
              ).strftime(_FORMAT)
        for offset, kind in enumerate(("OutpatientVisit", "LabReport", "Prescription"), start=1):
            doc_id = 3 * n + offset
            messages.append((doc_id, institution, f"urn:uuid:bench-{doc_id}", 1, 0, f"{{urn:hie:doc:v1}}{kind}",
                             "0" * 64, b"", "processed", None, at, now, b""))
            documents.append((doc_id, institution, "2.16.156.10011.1.1", f"B-{doc_id}", 1, kind, 1, at, person,
                              doc_id, "current", now, now))
            common = (person, 1, institution, doc_id)
            if kind == "OutpatientVisit":
                row["enc"] += 1
                encounters.append((row["enc"], kind_, department, at, _yuan(total_fen), *common))
                for category, fen in (("drugs", drug_fen), ("examinations", total_fen - drug_fen)):
                    if fen:
                        row["chg"] += 1
                        charges.append((row["chg"], category, _yuan(fen), at, *common))
                row["dx"] += 1
                diagnoses.append((row["dx"], diagnosis, "ICD-10", 1, at, kind, *common))
            elif kind == "LabReport":
                for test in TESTS:
                    row["lab"] += 1
                    labs.append((row["lab"], test, f"{rng.uniform(1, 9):.1f}", rng.choice(["N", "N", "H", "L"]), at,
                                 *common))
            else:
                for _ in range(2):
                    row["med"] += 1
                    medications.append((row["med"], "prescription", rng.choice(DRUGS), rng.randint(1, 6),
                                        _yuan(drug_fen // 2), at, *common))
    db.executemany("INSERT INTO inbox_message (id, member, message_id, envelope_id, item_index, document_type, "
                   "document_sha256, document, status, error_code, received_at, updated_at, receipt) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", messages)
    db.executemany("INSERT INTO record_document (id, institution, id_root, document_id, version, document_type, "
                   "schema_version, effective_time, person_id, message_row_id, status, recorded_at, updated_at) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", documents)
    db.executemany("INSERT INTO record_encounter (id, kind, department_code, start_time, total_amount, person_id, "
                   "patient_record_id, institution, document_ref) VALUES (?,?,?,?,?,?,?,?,?)", encounters)
    db.executemany("INSERT INTO record_charge (id, category, amount, charged_at, person_id, patient_record_id, "
                   "institution, document_ref) VALUES (?,?,?,?,?,?,?,?)", charges)
    db.executemany("INSERT INTO record_diagnosis (id, code, code_system, is_primary, diagnosed_at, context, "
                   "person_id, patient_record_id, institution, document_ref) VALUES (?,?,?,?,?,?,?,?,?,?)", diagnoses)
    db.executemany("INSERT INTO record_lab_result (id, test_code, value, abnormal_flag, reported_at, person_id, "
                   "patient_record_id, institution, document_ref) VALUES (?,?,?,?,?,?,?,?,?)", labs)
    db.executemany("INSERT INTO record_medication (id, kind, drug_code, quantity, amount, at, person_id, "
                   "patient_record_id, institution, document_ref) VALUES (?,?,?,?,?,?,?,?,?,?)", medications)
    db.commit()
    db.close()
    return {"documents": len(documents), "persons": len(persons),
            "fact_rows": len(encounters) + len(labs) + len(medications) + len(messages)}


def _run(sessions, mart, label: str) -> dict:
    pseudonymize = Pseudonymizer(b"bench-key-0123456789abcdef012345")
    started = time.perf_counter()
    cpu = time.process_time()
    result = jobs.run_incremental(sessions, mart, pseudonymize)
    wall = time.perf_counter() - started
    figure = {"engine": label, "rows_written": result.rows_written, "seconds": round(wall, 3),
              "cpu_seconds": round(time.process_time() - cpu, 3), "rows_per_s": round(result.rows_written / wall),
              "per_fact": result.per_fact, "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    print(f"{label}: {result.rows_written:,} fact rows in {wall:.2f} s = {figure['rows_per_s']:,} rows/s "
          f"(cpu {figure['cpu_seconds']} s)", flush=True)
    return figure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--visits", type=int, default=100_000, help="visits (as many lab reports and prescriptions)")
    parser.add_argument("--servers", action="store_true", help="also load a ClickHouse server started on loopback")
    parser.add_argument("--repeats", type=int, default=3, help="the first run also starts the reader processes")
    args = parser.parse_args(argv)
    from olap.chdb_backend import ChdbBackend
    from olap.schema.migrate import apply_schema

    tmp = Path(tempfile.mkdtemp(prefix="hie-bench-etl-"))
    runs = []
    try:
        built = time.perf_counter()
        counts = build_oltp(tmp / "hub.db", visits=args.visits)
        print(f"OLTP built: {counts} in {time.perf_counter() - built:.1f} s", flush=True)
        engine = make_engine(f"sqlite:///{tmp / 'hub.db'}")
        sessions = session_factory(engine)
        chdb = ChdbBackend(tmp / "mart", database="bench")
        for repeat in range(args.repeats):
            database = f"bench{repeat}"
            mart = ChdbBackend(tmp / "mart", database=database) if repeat else chdb
            apply_schema(mart)
            with engine.begin() as connection:  # a fresh mart each repeat: a first full load
                connection.exec_driver_sql("DELETE FROM etl_watermark")
            runs.append(_run(sessions, mart, "chdb"))
        if args.servers:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from olap.server_backend import ServerBackend
            from tests.support.chserver import ClickhouseServer

            server = ClickhouseServer()
            server.start()
            try:
                for repeat in range(args.repeats):
                    mart = ServerBackend(server.host, server.tcp_port, database=f"bench{repeat}")
                    apply_schema(mart)
                    with engine.begin() as connection:
                        connection.exec_driver_sql("DELETE FROM etl_watermark")
                    runs.append(_run(sessions, mart, "server"))
            finally:
                server.stop()
        engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    median = round(statistics.median(run["rows_per_s"] for run in runs if run["engine"] == "chdb"))
    summary = {"oltp": counts, "runs": runs, "target_rows_per_s": TARGET_ROWS_PER_S, "chdb_median_rows_per_s": median,
               "target_met": median >= TARGET_ROWS_PER_S, "cores": os.cpu_count(),
               "loadavg": [round(v, 2) for v in os.getloadavg()]}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "etl.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(f"target ≥ {TARGET_ROWS_PER_S:,} rows/s into chDB: median {median:,} → "
          f"{'MET' if summary['target_met'] else 'NOT MET'}; written {args.out / 'etl.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
