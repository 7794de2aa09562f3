"""``python -m bench.capacity --out bench/results``: the figures of docs/deployment.md's capacity model.

1. the yardstick, before and after: RSA-2048 private-key ops/s on one core (``bench.stages.crypto_floor``,
   what every bench quotes) and the **crypto floor** of a document: sign + encrypt (the member) and
   verify + decrypt (the hub's gate) of a 4 KB LabReport (``bench.exchange.make_document``), one core,
   as a SubmitDocument of one and as a SubmitBatch of 100;
2. the synthetic region (``region/``, the realistic mix of document kinds) through a production node
   (``hie serve --no-processor --workers 2``) on a throwaway PostgreSQL: what intake costs the
   database per document (``bench.pgcost``: WAL bytes, commits, rows written, disk, PostgreSQL CPU);
   then one ``hie process`` drains it: processing's cost per document and the rate one processor
   sustains on one PostgreSQL here;
3. the mart: one ETL run of that region into a ClickHouse server, bytes on disk per fact row from
   ``system.parts`` (after ``OPTIMIZE … FINAL``, compressed);
4. one node's throughput on PostgreSQL (a fresh database): SubmitBatch of 100 and SubmitDocument in
   closed loops from ``bench.exchange``'s pre-sealed load, WAL per document beside it.

Writes ``OUT/capacity.json`` and prints a table. Exit status 1 when the inbox does not hold exactly
what was acknowledged, or a processed message is left over.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from . import run as bench_run
from . import stages as st
from .capacity_phases import crypto_floor, mart_phase, node_phase, region_phase

SEED = 20251205


def yardstick(tmp: Path, seconds: float) -> dict:
    """The machine's speed now: RSA-2048 ops/s on one core and the crypto floor of a document."""
    tmp.mkdir(parents=True, exist_ok=True)
    return {**st.crypto_floor(seconds, parallel=1), "crypto_floor": crypto_floor(tmp)}


def derive(report: dict) -> dict:
    """The figures the capacity model uses, per document, from the measured phases."""
    region, node = report["region"], report["node"]
    intake, processing = region["intake"]["per_document"], region["processing"]["per_document"]
    total = {key: round(intake[key] + processing[key], 2) for key in intake}
    floors = [report["yardstick"][when]["crypto_floor"] for when in ("before", "after")]
    floor_single = sum(f["single"]["docs_per_s"] for f in floors) / 2
    floor_batch = sum(f["batch_100"]["docs_per_s"] for f in floors) / 2
    mart = report.get("mart", {})
    processed = sum(n for status, n in region["processing"]["outcomes"].items() if status == "processed")
    # CPU per document: what sizes a deployment on dedicated cores, whatever else shared this machine
    node_cpu = {phase: round(node[phase]["cpu"]["hub_cores"] / max(node[phase]["docs_per_s"], 1e-9) * 1e6)
                for phase in ("batch", "single")}
    processor_cpu = region["processing"]["processor_cpu_us_per_document_steady"] or \
        region["processing"]["processor_cpu_us_per_document"]
    processing_cpu = processor_cpu + processing["postgres_cpu_us"]
    return {
        "per_document": {"intake": intake, "processing": processing, "total": total},
        "processing_docs_per_s_one_processor": region["processing"]["docs_per_s_steady"],
        "postgres_docs_per_s_per_core": round(1e6 / total["postgres_cpu_us"]) if total["postgres_cpu_us"] else None,
        "node_docs_per_s": {"batch": node["batch"]["docs_per_s"], "single": node["single"]["docs_per_s"]},
        "node_cpu_us_per_document": node_cpu,
        "node_docs_per_s_per_dedicated_core": {phase: round(1e6 / us) for phase, us in node_cpu.items() if us},
        "other_cores_during_node_phases": {phase: node[phase]["cpu"]["other_cores"] for phase in ("batch", "single")},
        "processing_cpu_us_per_document": {"processor": processor_cpu,
                                           "postgres": processing["postgres_cpu_us"], "both": processing_cpu},
        "processing_docs_per_s_two_dedicated_cores": round(2e6 / processing_cpu) if processing_cpu else None,
        "crypto_floor_docs_per_s_one_core": {"single": round(floor_single, 1), "batch_100": round(floor_batch, 1)},
        "ratios": {"node_batch_over_floor": round(node["batch"]["docs_per_s"] / floor_batch, 3),
                   "node_single_over_floor": round(node["single"]["docs_per_s"] / floor_single, 3),
                   "processing_over_single_floor": round((region["processing"]["docs_per_s_steady"] or 0) / floor_single, 3)},
        "fact_rows_per_processed_document": round(mart["fact_rows"] / processed, 2) if mart.get("fact_rows") else None,
        "mart_bytes_per_fact_row": mart.get("bytes_per_fact_row"),
        "mart_bytes_per_fact_row_all_tables": mart.get("mart_bytes_per_fact_row"),
    }


def summary_lines(report: dict) -> list[str]:
    d, machine = report["derived"], report["machine"]
    b, a = report["yardstick"]["before"], report["yardstick"]["after"]
    i, p, t = d["per_document"]["intake"], d["per_document"]["processing"], d["per_document"]["total"]
    region = report["region"]
    lines = [f"Run of {report['started_at'][:16].replace('T', ' ')}–{report['ended_at'][11:16]} UTC, "
             f"`python -m bench.capacity` ({region['size']} region, seed {region['seed']}); {machine['cores']} cores, "
             f"\"{machine['cpu']['model']}\"; load average {machine['loadavg_at_start'][0]} before, "
             f"{report['loadavg_at_end'][0]} after.", "",
             "| per document (region mix, PostgreSQL 15) | intake | processing | total |", "|---|---|---|---|"]
    for key, label in (("wal_bytes", "WAL bytes"), ("wal_fpi_bytes", "of which full-page images"),
                       ("commits", "commits"), ("rows_written", "rows written"), ("index_inserts", "index entries"),
                       ("db_bytes", "database growth, bytes"), ("postgres_cpu_us", "PostgreSQL CPU, µs")):
        lines.append(f"| {label} | {i[key]:,} | {p[key]:,} | {t[key]:,} |")
    mart, node = report.get("mart", {}), report["node"]
    lines += ["", "| figure | value |", "|---|---|",
              f"| region documents through intake / processed | {region['intake']['documents']:,} / "
              f"{region['processing']['documents']:,} ({region['mean_document_bytes']:,} bytes each on average) |",
              f"| one processor on one PostgreSQL (steady) | **{d['processing_docs_per_s_one_processor']:,} docs/s** "
              f"({region['processing']['docs_per_s_from_start']:,} from its start) |",
              f"| documents per second per PostgreSQL core (its CPU for intake + processing) | "
              f"{d['postgres_docs_per_s_per_core']:,} |",
              f"| processing CPU per document: processor + PostgreSQL; the rate two free cores would allow | "
              f"{d['processing_cpu_us_per_document']['processor']:,} + {d['processing_cpu_us_per_document']['postgres']:,} µs; "
              f"{d['processing_docs_per_s_two_dedicated_cores']:,} docs/s |",
              f"| node CPU per document (its 2 workers): batch / single; docs/s per dedicated core | "
              f"{d['node_cpu_us_per_document']['batch']:,} / {d['node_cpu_us_per_document']['single']:,} µs; "
              f"{d['node_docs_per_s_per_dedicated_core'].get('batch', 0):,} / "
              f"{d['node_docs_per_s_per_dedicated_core'].get('single', 0):,} |",
              f"| other processes' CPU during the node phases (cores): batch / single | "
              f"{d['other_cores_during_node_phases']['batch']} / {d['other_cores_during_node_phases']['single']} |",
              f"| one node (2 workers), SubmitBatch of 100 | **{node['batch']['docs_per_s']:,} docs/s**, p50 "
              f"{node['batch']['latency']['p50_ms']} ms, p99 {node['batch']['latency']['p99_ms']} ms |",
              f"| one node (2 workers), SubmitDocument, 16 connections | **{node['single']['docs_per_s']:,} docs/s**, p50 "
              f"{node['single']['latency']['p50_ms']} ms, p99 {node['single']['latency']['p99_ms']} ms |",
              f"| WAL per document at the node (4 KB LabReport): batch / single | "
              f"{node['batch']['wal_bytes_per_document']:,} / {node['single']['wal_bytes_per_document']:,} bytes |",
              f"| crypto floor, one core (sign + encrypt + verify + decrypt), single / batch of 100 | "
              f"{d['crypto_floor_docs_per_s_one_core']['single']:,} / {d['crypto_floor_docs_per_s_one_core']['batch_100']:,} docs/s |",
              f"| node ÷ floor: batch; single. processing ÷ single floor | {d['ratios']['node_batch_over_floor']}; "
              f"{d['ratios']['node_single_over_floor']}; {d['ratios']['processing_over_single_floor']} |",
              f"| mart: fact rows per processed document; bytes on disk per fact row (facts; all tables) | "
              f"{d['fact_rows_per_processed_document']}; {d['mart_bytes_per_fact_row']}; "
              f"{d['mart_bytes_per_fact_row_all_tables']} |" if mart.get("fact_rows") else
              f"| mart | {mart.get('skipped', 'not measured')} |",
              f"| yardstick before / after | RSA-2048 {b['rsa2048_private_ops_per_s']:,} / {a['rsa2048_private_ops_per_s']:,} "
              f"ops/s, one core |",
              f"| checks | {', '.join(f'{k} {v}' for k, v in report['checks'].items())} |"]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", choices=("small", "full"), default="small", help="the synthetic region's size")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--seconds", type=float, default=15.0, help="per closed-loop phase of the node")
    parser.add_argument("--floor-seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    from tests.support.pgserver import PostgresServer

    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="hie-bench-capacity-"))
    report: dict = {"machine": bench_run.machine_facts(), "code": bench_run.code_fingerprint(),
                    "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        print("yardstick before …", flush=True)
        report["yardstick"] = {"before": yardstick(tmp / "floor0", args.floor_seconds)}
        # the WAL of a phase stays until pg_waldump has read it, whatever checkpoints happen meanwhile
        with PostgresServer(settings={"wal_keep_size": "4GB"}) as pg:
            report["region"] = region_phase(pg, tmp, args.out, seed=args.seed, size=args.size)
            print(f"region: intake {report['region']['intake']['per_document']}, processing "
                  f"{report['region']['processing']['per_document']}", flush=True)
            report["mart"] = mart_phase(pg.url("region"))
            report["node"] = node_phase(pg, tmp, args.out, seconds=args.seconds)
        print("yardstick after …", flush=True)
        report["yardstick"]["after"] = yardstick(tmp / "floor1", args.floor_seconds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["ended_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    report["loadavg_at_end"] = [round(v, 2) for v in os.getloadavg()]
    report["checks"] = {**report["region"]["checks"], "node_inbox_exact": report["node"]["inbox"]["exact"]}
    report["derived"] = derive(report)
    (args.out / "capacity.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print("\n".join(summary_lines(report)))
    return 0 if all(report["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
