"""``python -m bench.run --out bench/results [--quick]``: the exchange benchmark, end to end.

1. machine facts, the raw crypto floor (RSA-2048 private-key ops/s, ECDSA P-256 signs/s) and the
   disk's fsync floor (``bench.disk``: how often an fdatasync stalls, now);
2. per-stage costs in-process (``bench.stages``), before any server runs;
3. the HTTP phases against ``hie serve --workers N`` (``bench.exchange``), each ``--repeats`` times;
4. both floors again (the machine is shared and noisy: both measurements are kept);
5. ``OUT/exchange.json`` and a compact table on stdout.

Exit status: 0 when every request was answered with its receipts and the inbox holds exactly the
documents sent; 1 otherwise (faults, transport errors, loss). Missing a performance target is
reported, not an error, unless ``--strict``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from . import exchange as ex
from . import stages as st
from .disk import STALL_MS, disk_floor

TARGETS = {"batch_docs_per_s": 1000, "single_docs_per_s": 500, "open_p99_ms": 50, "open_rate": 300}


# ISA extensions that change the crypto floor several-fold between hosts that all call themselves
# "AMD EPYC": OpenSSL's RSA-2048 uses AVX-512 IFMA where it exists (~2.7x the private ops/s measured
# here without it), and SHA-NI / VAES speed the digests and AES-GCM.
_CPU_FLAGS = ("avx2", "avx512f", "avx512ifma", "vaes", "sha_ni", "adx", "bmi2")


def cpu_identity() -> dict:
    """Which CPU this is, beyond its marketing name: family/model (the generation), MHz, telling flags."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if not line.strip():
                    break  # the first processor is enough: the vCPUs of one VM are alike
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    flags = set(fields.get("flags", "").split())
    return {"model": fields.get("model name", ""), "family": fields.get("cpu family"), "model_number": fields.get("model"),
            "stepping": fields.get("stepping"), "mhz": fields.get("cpu MHz"),
            "flags": [flag for flag in _CPU_FLAGS if flag in flags]}


def machine_facts() -> dict:
    import sqlite3

    from lxml import etree

    versions = {}
    for dist in ("cryptography", "lxml", "xmlsec", "spyne", "SQLAlchemy", "alembic", "fastapi", "uvicorn", "uvloop", "httptools",
                 "starlette"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    versions["libxml2"] = ".".join(map(str, etree.LIBXML_VERSION))
    versions["sqlite"] = sqlite3.sqlite_version
    try:
        from cryptography.hazmat.backends.openssl.backend import backend

        versions["openssl"] = backend.openssl_version_text()
    except Exception:  # pragma: no cover - informational only
        versions["openssl"] = None
    cpu = cpu_identity()
    return {"cores": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)), "cpu_model": cpu["model"],
            "cpu": cpu,
            "python": platform.python_version(), "implementation": platform.python_implementation(),
            "platform": platform.platform(), "loadavg_at_start": [round(v, 2) for v in os.getloadavg()],
            "versions": versions}


def code_fingerprint() -> dict:
    """Which hub code was measured (no VCS access here): a digest of the hub's sources and their newest mtime."""
    import hashlib

    digest, newest, count = hashlib.sha256(), 0.0, 0
    for package in ("hub", "certs"):
        for path in sorted((ex.REPO / package).rglob("*.py")):
            digest.update(str(path.relative_to(ex.REPO)).encode() + b"\0" + path.read_bytes())
            newest = max(newest, path.stat().st_mtime)
            count += 1
    return {"sha256": digest.hexdigest()[:16], "files": count,
            "newest_mtime": datetime.fromtimestamp(newest, timezone.utc).isoformat(timespec="seconds")}


def _median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def summarize(exchange: dict, floor: dict, cores: int) -> dict:
    """Per phase: both runs' headline figures, their median, and the ratio to the crypto floor."""
    summary = {}
    for phase, runs in exchange.get("phases", {}).items():
        docs_per_request = runs[0]["docs_per_request"]
        floor_docs = st.floor_docs_per_s(floor, docs_per_request=docs_per_request, cores=cores)
        rows = [{"docs_per_s": r["docs_per_s"], "requests_per_s": r["requests_per_s"],
                 "p50_ms": r["latency"]["p50_ms"], "p95_ms": r["latency"]["p95_ms"], "p99_ms": r["latency"]["p99_ms"],
                 "max_ms": r["latency"]["max_ms"], "errors": r["errors"], "faults": r["faults"],
                 "transport_errors": r["transport_errors"], "duration_s": r["duration_s"],
                 "docs_ok": r["docs_ok"], "hub_cores": r["cpu"]["hub_cores"],
                 "loadgen_cores": r["cpu"]["loadgen_cores"], "other_cores": r["cpu"]["other_cores"],
                 "hub_worker_cores": r["cpu"]["hub_worker_cores"], "iowait_cores": r["cpu"].get("iowait_cores"),
                 "offered_docs_per_s": r.get("offered_docs_per_s"), "unsent": r.get("unsent", 0),
                 "p99_is_lower_bound": bool(r["latency"].get("censored")),
                 "processor_backlog_at_end": r["drain"]["backlog_at_end"], "processor_drain_s": r["drain"]["drain_s"],
                 "processor_left": r["drain"]["left"]} for r in runs]
        median = {key: _median([row[key] for row in rows]) for key in
                  ("docs_per_s", "requests_per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms", "hub_cores")}
        median["errors"] = sum(row["errors"] for row in rows)
        median["unsent"] = sum(row["unsent"] for row in rows)
        summary[phase] = {
            "docs_per_request": docs_per_request, "runs": rows, "median": median,
            "floor_docs_per_s": round(floor_docs, 1),
            "ratio_to_floor": round(median["docs_per_s"] / floor_docs, 3) if median["docs_per_s"] else None,
            "ratio_to_rsa_ops": round(median["docs_per_s"] / (floor["rsa2048_private_ops_per_s"] * cores), 3)
            if median["docs_per_s"] else None,
        }
        if phase.startswith("open"):
            summary[phase]["offered_docs_per_s"] = [r["offered_docs_per_s"] for r in runs]
            summary[phase]["send_lag_p99_ms"] = [r["send_lag_ms"]["p99"] for r in runs]
    return summary


def targets(summary: dict) -> dict:
    out = {}
    if "batch" in summary:
        value = summary["batch"]["median"]["docs_per_s"]
        out["batch"] = {"target": f">= {TARGETS['batch_docs_per_s']} docs/s", "median": value,
                        "runs": [r["docs_per_s"] for r in summary["batch"]["runs"]],
                        "met": bool(value and value >= TARGETS["batch_docs_per_s"] and not summary["batch"]["median"]["errors"])}
    if "single" in summary:
        value = summary["single"]["median"]["docs_per_s"]
        out["single"] = {"target": f">= {TARGETS['single_docs_per_s']} docs/s", "median": value,
                         "runs": [r["docs_per_s"] for r in summary["single"]["runs"]],
                         "met": bool(value and value >= TARGETS["single_docs_per_s"] and not summary["single"]["median"]["errors"])}
    if "open" in summary:
        value = summary["open"]["median"]["p99_ms"]
        rate = summary["open"]["offered_docs_per_s"][0]
        out["open"] = {"target": f"p99 <= {TARGETS['open_p99_ms']} ms at {rate:g} docs/s offered", "median": value,
                       "runs": [r["p99_ms"] for r in summary["open"]["runs"]],
                       "p99_is_lower_bound": any(r["p99_is_lower_bound"] for r in summary["open"]["runs"]),
                       "met": bool(value is not None and value <= TARGETS["open_p99_ms"]
                                   and not summary["open"]["median"]["errors"]
                                   and not summary["open"]["median"]["unsent"])}
    return out


def _fmt(value, width=8, digits=0):
    if value is None:
        return "-".rjust(width)
    return f"{value:,.{digits}f}".rjust(width)


def print_table(report: dict, out=sys.stdout) -> None:
    w = out.write
    m = report["machine"]
    f0, f1 = report["crypto_floor"]["before"], report["crypto_floor"]["after"]
    w(f"\nexchange benchmark  {report['started_at']}  ({'quick' if report['quick'] else 'full'})\n")
    cpu = m.get("cpu", {})
    w(f"machine: {m['cores']} cores {m['cpu_model']} (family {cpu.get('family')} model {cpu.get('model_number')}, "
      f"{cpu.get('mhz')} MHz, {' '.join(cpu.get('flags', []))}), Python {m['python']}, cryptography "
      f"{m['versions']['cryptography']}, lxml {m['versions']['lxml']}, xmlsec {m['versions']['xmlsec']}, "
      f"spyne {m['versions']['spyne']}, SQLite {m['versions']['sqlite']}, load avg at start {m['loadavg_at_start']}\n")
    code = report.get("code", {})
    w(f"hub code: {code.get('at_start', {}).get('sha256')} ({code.get('at_start', {}).get('files')} files, newest "
      f"{code.get('at_start', {}).get('newest_mtime')})"
      + ("  WARNING: the hub's code changed during the run" if code.get("changed_during_run") else "") + "\n")
    w(f"raw floor (cryptography, 1 core; before / after): RSA-2048 private ops/s "
      f"{f0['rsa2048_private_ops_per_s']:,} / {f1['rsa2048_private_ops_per_s']:,}; ECDSA P-256 signs/s "
      f"{f0['ecdsa_p256_signs_per_s']:,} / {f1['ecdsa_p256_signs_per_s']:,}"
      f"  (2 processes: RSA {f0.get('rsa2048_private_ops_per_s_2proc', 0):,}, ECDSA "
      f"{f0.get('ecdsa_p256_signs_per_s_2proc', 0):,})\n")
    disk = report.get("disk_floor")
    if disk:
        d0, d1 = disk["before"], disk["after"]
        stalls = f"over_{STALL_MS:g}_ms"
        w(f"disk floor (fdatasync of a 24 KiB write every 10 ms, {d0['seconds']:g} s; before / after): p50 "
          f"{d0['p50_ms']} / {d1['p50_ms']} ms, p99 {d0['p99_ms']} / {d1['p99_ms']} ms, max {d0['max_ms']} / "
          f"{d1['max_ms']} ms, syncs over {STALL_MS:g} ms: {d0[stalls]} / {d1[stalls]}\n")
    cfg = report["exchange"].get("config", {})
    w(f"documents {report['exchange'].get('document_bytes')} B, SQLite WAL (commits on disk before answers), hub workers "
      f"{cfg.get('workers')}, batch size {cfg.get('batch_size')}, signed+encrypted requests, signed receipts\n\n")
    header = (f"{'phase':<14}{'run':>5}{'docs/s':>9}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
              f"{'max ms':>9}{'errors':>7}{'dur s':>7}{'hub cpu':>8}{'loadgen':>8}{'other':>7}\n")
    w(header)
    w("-" * (len(header) - 1) + "\n")
    names = {"batch": f"SubmitBatch/{cfg.get('batch_size')}", "single": "SubmitDocument"}
    for phase, data in report["summary"].items():
        for i, r in enumerate(data["runs"], 1):
            name = names.get(phase) or f"{'open' if phase == 'open' else 'low'} {r['offered_docs_per_s']:g}/s"
            p99 = (">" if r["p99_is_lower_bound"] else "") + f"{r['p99_ms']:,.1f}"
            w(f"{name:<14}{i:>5}{_fmt(r['docs_per_s'], 9)}{_fmt(r['requests_per_s'], 8)}"
              f"{_fmt(r['p50_ms'], 9, 1)}{_fmt(r['p95_ms'], 9, 1)}{p99:>9}{_fmt(r['max_ms'], 9, 1)}"
              f"{r['errors']:>7}{_fmt(r['duration_s'], 7, 1)}{_fmt(r['hub_cores'], 8, 2)}"
              f"{_fmt(r['loadgen_cores'], 8, 2)}{_fmt(r['other_cores'], 7, 2)}\n")
        md = data["median"]
        p99 = ((">" if any(r["p99_is_lower_bound"] for r in data["runs"]) else "") + f"{md['p99_ms']:,.1f}"
               if md["p99_ms"] is not None else "-")
        w(f"{'':<14}{'med':>5}{_fmt(md['docs_per_s'], 9)}{_fmt(md['requests_per_s'], 8)}{_fmt(md['p50_ms'], 9, 1)}"
          f"{_fmt(md['p95_ms'], 9, 1)}{p99:>9}{_fmt(md['max_ms'], 9, 1)}{md['errors']:>7}"
          f"   floor {data['floor_docs_per_s']:,.0f} docs/s, ratio {data['ratio_to_floor']}\n")
    w("\nafter each run, the hub's background processor still had to finish (process) what was accepted:\n")
    for phase, data in report["summary"].items():
        parts = []
        for r in data["runs"]:
            rate = r["processor_backlog_at_end"] / r["processor_drain_s"] if r["processor_drain_s"] > 0.3 else None
            parts.append(f"{r['processor_backlog_at_end']:,} docs in {r['processor_drain_s']} s"
                         + (f" ({rate:,.0f}/s)" if rate and not r["processor_left"] else "")
                         + (f", {r['processor_left']:,} LEFT" if r["processor_left"] else "")
                         + (f", unsent {r['unsent']:,}" if r["unsent"] else ""))
        w(f"  {phase:<10} " + "; ".join(parts) + "\n")
    w("\n(floor = documents/s the RSA unwrap per request + ECDSA receipt per document alone allow on all cores;"
      " ratio = median docs/s / floor)\n")
    stages = report.get("stages")
    if stages:
        w("\nper-stage cost in-process, µs per document (median of passes; one thread)\n")
        keys = list(stages["single"].keys())
        w(f"{'stage':<48}{'SubmitDocument':>15}{'SubmitBatch/' + str(stages['batch_size']):>16}\n")
        for key in keys:
            w(f"{key:<48}{_fmt(stages['single'][key]['us_per_doc'], 15, 0)}"
              f"{_fmt(stages['batch'].get(key, {}).get('us_per_doc'), 16, 0)}\n")
        scaling = stages.get("scaling")
        if scaling:
            w("in-process scaling, SubmitDocument without HTTP (processes x background processor): " + "; ".join(
                f"{r['processes']}p {'+proc' if r['processor'] else 'no proc'} {r['docs_per_s']:,.0f}/s "
                f"@{r['cores_used']} cores" for r in scaling["rows"]) + "\n")
        gc_ = stages.get("spyne_gc_collect", {})
        w(f"spyne gc.collect(): {gc_.get('ms')} ms, at most once per {gc_.get('min_interval_s')} s per process\n")
        for kind in ("single", "batch"):
            prof = stages.get(f"profile_{kind}")
            if prof:
                areas = ", ".join(f"{k} {v:,.0f}" for k, v in list(prof["areas_us_per_doc"].items())[:6])
                w(f"cProfile {kind} (µs/doc, inflated by the profiler): {areas}\n")
    inbox = report["exchange"].get("inbox")
    if inbox:
        w(f"\ninbox: {inbox['messages']:,} messages stored, {inbox['docs_sent']:,} documents sent, "
          f"{inbox['docs_acknowledged']:,} acknowledged -> {'no loss' if inbox['no_loss'] else 'MISMATCH'}; "
          f"status {inbox['by_status']}\n")
    w("targets: " + "; ".join(f"{k} {v['target']}: median {v['median']} (runs {v['runs']}) "
                              f"{'MET' if v['met'] else 'NOT MET'}" for k, v in report["targets"].items()) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="directory for exchange.json")
    parser.add_argument("--quick", action="store_true", help="~30 s smoke run (one repeat, short phases)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per phase [2; quick: 1]")
    parser.add_argument("--phases", default=None, help="comma list of batch,single,open,open-low [all; quick: batch,single,open]")
    parser.add_argument("--batch-size", type=int, default=None, help="documents per SubmitBatch [100]")
    parser.add_argument("--rate", type=float, default=None, help="open-loop offered documents/s [300]")
    parser.add_argument("--seconds", type=float, default=None, help="time limit of each phase [20; quick: 3 (open: 2)]")
    parser.add_argument("--batch-concurrency", type=int, default=None, help="connections in the batch phase [4]")
    parser.add_argument("--single-concurrency", type=int, default=None, help="connections in the single phase [16]")
    parser.add_argument("--workers", type=int, default=None, help="hub worker processes [2]")
    parser.add_argument("--no-balance", action="store_true",
                        help="leave keep-alive connections where uvicorn's workers accepted them")
    parser.add_argument("--skip-stages", action="store_true", help="skip the in-process per-stage measurements")
    parser.add_argument("--keep", action="store_true", help="keep the hub's temp data directory")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a performance target is missed")
    args = parser.parse_args(argv)

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    say = lambda msg: print(msg, flush=True)  # noqa: E731
    started = time.perf_counter()
    seconds = args.seconds
    config = ex.Config.for_run(
        quick=args.quick, repeats=args.repeats, batch_size=args.batch_size, open_rate=args.rate, workers=args.workers,
        phases=tuple(args.phases.split(",")) if args.phases else None, balance=False if args.no_balance else None,
        batch_concurrency=args.batch_concurrency, single_concurrency=args.single_concurrency,
        batch_time_limit=seconds, single_time_limit=seconds, open_seconds=seconds)
    if seconds:  # enough pre-built requests to fill the time limit at the target rates
        config.batch_requests = max(config.batch_requests, int(1.0 * TARGETS["batch_docs_per_s"] * seconds / config.batch_size) + 1)
        config.single_requests = max(config.single_requests, int(0.9 * TARGETS["single_docs_per_s"] * seconds))
    report: dict = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": config.quick,
                    "targets_spec": TARGETS, "machine": machine_facts(), "code": {"at_start": code_fingerprint()}}
    cores = report["machine"]["cores_usable"]
    floor_seconds = 0.2 if config.quick else 1.0
    say("measuring the crypto floor ...")
    timings = report["timings_s"] = {}
    mark = time.perf_counter()
    before = st.crypto_floor(floor_seconds, parallel=cores)
    disk_seconds = 1.0 if config.quick else 10.0
    say("measuring the disk's fsync floor ...")
    disk_before = disk_floor(disk_seconds)
    timings["floor_before"] = round(time.perf_counter() - mark, 1)
    report["stages"] = None
    if not args.skip_stages:
        say("measuring per-stage costs in-process ...")
        mark = time.perf_counter()
        report["stages"] = st.run_stages(quick=config.quick, batch_size=config.batch_size, say=say)
        timings["stages"] = round(time.perf_counter() - mark, 1)
        if not config.quick:
            mark = time.perf_counter()
            report["stages"]["scaling"] = st.run_scaling(say=say)
            timings["scaling"] = round(time.perf_counter() - mark, 1)
    say("running the exchange over HTTP ...")
    mark = time.perf_counter()
    report["exchange"] = ex.run_exchange(config, out_dir=out, say=say, keep=True)
    timings["exchange"] = round(time.perf_counter() - mark, 1)
    after = st.crypto_floor(floor_seconds, parallel=cores)
    floor = {key: (before[key] + after[key]) / 2 for key in before}
    report["crypto_floor"] = {"before": before, "after": after, "mean": floor}
    # Measured before the hub's database is deleted: on a filesystem mounted with ``discard``,
    # deleting a gigabyte stalls the disk's syncs for seconds, which is not the run's disk.
    report["disk_floor"] = {"before": disk_before, "after": disk_floor(disk_seconds)}
    if not args.keep:
        shutil.rmtree(Path(report["exchange"].pop("data_dir")).parent, ignore_errors=True)
    report["summary"] = summarize(report["exchange"], floor, cores)
    report["targets"] = targets(report["summary"])
    report["machine"]["loadavg_at_end"] = [round(v, 2) for v in os.getloadavg()]
    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    report["code"]["at_end"] = code_fingerprint()
    report["code"]["changed_during_run"] = report["code"]["at_end"]["sha256"] != report["code"]["at_start"]["sha256"]
    path = out / "exchange.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_table(report)
    say(f"\nwritten {path} ({report['elapsed_s']} s)")

    inbox = report["exchange"].get("inbox") or {}
    failed = any(data["median"]["errors"] for data in report["summary"].values()) or not inbox.get("no_loss")
    if args.strict and not all(t["met"] for t in report["targets"].values()):
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
