"""``python -m bench.soak --out bench/results [--minutes 30] [--rate 100]``: does the hub's memory stay flat?

A real ``hie serve --workers N`` on a temp data directory takes single-document requests (signed,
encrypted, each document distinct: ``bench.exchange``'s builder) at a steady offered rate for
``--minutes``. Every ``--sample`` seconds the resident set (``VmRSS``) of each of the hub's
processes (the parent, each uvicorn worker, the ``hie process`` processor) is read from /proc,
with how many documents had been sent, acknowledged and processed by then.

Per process the summary gives RSS at the end of the warm-up, at the end, the maximum, and the
slope of a least-squares line over the second half of the run (MB per 10 minutes, and MB per
10,000 documents processed). Verdict ``growing`` when that slope is above ``GROWTH_MB_PER_10MIN``
*and* above three standard errors of the fit *and* the fitted rise over the second half is at
least ``NOISE_MB``; else ``flat``. Why that threshold: the allocator
(pymalloc arenas, glibc's heap) moves a Python process's RSS by a few MB up and down as batches
come and go, so over a 15-minute half a real trend below ~1 MB per 10 minutes cannot be told from
that noise; and 1 MB per 10 minutes (at 100 docs/s: 1 MB per 60,000 documents, ~17 bytes each)
would still be 144 MB a day, which a hub that runs for weeks would show. Slower growth needs a
longer soak, or the in-process heap count of ``bench.heap``.

Known warm-up (bounded, measured with ``bench.heap``): the processor's resident-ID check keeps
its last 65,536 IDs (``hub.mpi.resident_id``), ~19 MB of RSS, full after 65,536 distinct IDs
(11 minutes at 100 docs/s). A soak whose second half starts before that shows the cache filling.

Documents are sealed during the run by one builder process (the sealing costs CPU: it is counted
in ``loadgen_cores``). When the offered rate cannot be sustained (the builder or the hub falls
behind), ``send_lag`` grows and the achieved rate is reported: growth per document is what counts.
Writes ``OUT/soak.json``; exit 1 on a fault, a transport error or a lost document.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import statistics
import sys
import tempfile
import threading
import time
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

from . import exchange as ex

GROWTH_MB_PER_10MIN = 1.0
NOISE_MB = 1.0  # a fitted rise smaller than this over the second half is the allocator's, whatever its slope


def rss_mb(pid: int) -> dict[str, float] | None:
    """Resident set of one process in MB, in all and its anonymous / file-backed parts (None when gone)."""
    fields = {"VmRSS:": "rss", "RssAnon:": "anon", "RssFile:": "file"}
    try:
        with open(f"/proc/{pid}/status") as handle:
            found = {fields[line.split()[0]]: int(line.split()[1]) / 1024 for line in handle
                     if line.split()[:1] and line.split()[0] in fields}
    except (OSError, IndexError, ValueError):
        return None
    return {key: round(value, 2) for key, value in found.items()}


def hub_processes(server: ex.HubServer) -> dict[str, int]:
    """Role → pid of every process of the hub: ``parent``, ``worker-N``, ``processor``, others by pid."""
    roles = {"parent": server.proc.pid}
    for n, pid in enumerate(sorted(server.worker_pids), 1):
        roles[f"worker-{n}"] = pid
    for pid in ex._children(server.proc.pid):
        if pid in server.worker_pids:
            continue
        cmd = ex._cmdline(pid)
        roles["processor" if "hub.cli.main process" in cmd else f"other-{pid}"] = pid
    return roles


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope of (x, y) and its standard error."""
    n = len(points)
    if n < 3:
        return 0.0, float("inf")
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return 0.0, float("inf")
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    residual = sum((y - my - slope * (x - mx)) ** 2 for x, y in points)
    return slope, (residual / (n - 2) / sxx) ** 0.5


def summarize(samples: list[dict], warmup_s: float) -> dict:
    """Per process: RSS after warm-up, at the end, max; second-half slope; verdict."""
    out = {}
    roles = [role for role in samples[0]["rss_mb"]] if samples else []
    end_t = samples[-1]["t"] if samples else 0.0
    half = warmup_s + (end_t - warmup_s) / 2
    for role in roles:
        series = [(s["t"], s["processed"], s["rss_mb"][role]["rss"], s["rss_mb"][role]["anon"]) for s in samples
                  if s["rss_mb"].get(role)]
        warm = [r for r in series if r[0] >= warmup_s] or series
        second = [r for r in warm if r[0] >= half]
        per_s, err = fit([(t, rss) for t, _, rss, _ in second])
        per_doc, _ = fit([(done, rss) for _, done, rss, _ in second])
        anon_per_s, _ = fit([(t, anon) for t, _, _, anon in second])
        slope = per_s * 600
        rise = per_s * (second[-1][0] - second[0][0]) if second else 0.0
        growing = slope > GROWTH_MB_PER_10MIN and per_s > 3 * err and rise >= NOISE_MB
        out[role] = {"rss_start_mb": round(warm[0][2], 1), "rss_end_mb": round(warm[-1][2], 1),
                     "rss_max_mb": round(max(r[2] for r in series), 1),
                     "growth_mb": round(warm[-1][2] - warm[0][2], 1),
                     "slope_mb_per_10min": round(slope, 2), "slope_stderr_mb_per_10min": round(err * 600, 2),
                     "slope_mb_per_10k_docs": round(per_doc * 10_000, 2),
                     "anon_start_mb": round(warm[0][3], 1), "anon_end_mb": round(warm[-1][3], 1),
                     "anon_slope_mb_per_10min": round(anon_per_s * 600, 2),
                     "verdict": "growing" if growing else "flat"}
    return out


class Feeder:
    """Seals requests ahead of the schedule in the builder's pool (one chunk at a time)."""

    def __init__(self, builder: ex.Builder, *, chunk: int, ahead: int):
        self.builder, self.chunk = builder, chunk
        self.bodies: queue.Queue[bytes] = queue.Queue(maxsize=ahead)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="soak-feeder", daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            bodies, _ = self.builder.single(self.chunk)
            for body in bodies:
                while not self.stop.is_set():
                    try:
                        self.bodies.put(body, timeout=0.5)
                        break
                    except queue.Full:
                        continue


def send_steady(port: int, feeder: Feeder, *, rate: float, seconds: float, pool: int, tick) -> dict:
    """Request i is due at t0 + i/rate until ``seconds`` have passed; ``tick()`` runs on the main thread."""
    conns = ex._open_connections(port, pool)
    lock = threading.Lock()
    state = {"next": 0, "starved": 0, "lag_max": 0.0, "late": 0}
    service: list[float] = []  # send -> answer
    lags: list[float] = []  # due -> send: how far the schedule fell behind
    t0 = time.perf_counter() + 0.05
    end = t0 + seconds

    def run(conn) -> None:
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            due = t0 + i / rate
            if due >= end:
                return
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                body = feeder.bodies.get_nowait()
            except queue.Empty:
                state["starved"] += 1
                body = feeder.bodies.get()
            start = time.perf_counter()
            lag = start - due
            state["lag_max"] = max(state["lag_max"], lag)
            state["late"] += lag > 1.0
            conn.post(body, 1)
            service.append(time.perf_counter() - start)
            lags.append(lag)

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in conns]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        tick()
    duration = time.perf_counter() - t0
    for c in conns:
        c.close()
    result = ex._merge(conns)
    result.update({"duration_s": round(duration, 1), "offered_docs_per_s": rate,
                   "docs_per_s": round(result["docs_ok"] / duration, 1), "latency": ex.latency_summary(service),
                   "send_lag": ex.latency_summary(lags),
                   "feeder_starved": state["starved"], "send_lag_max_s": round(state["lag_max"], 2),
                   "sent_over_1s_late": state["late"]})
    return result


def run_soak(args, say=print) -> dict:
    from certs import init_pki, issue_member

    tmp = Path(tempfile.mkdtemp(prefix="hie-soak-"))
    data_dir = tmp / "data"
    init_pki(data_dir / "pki", hub_name="基准测试区域平台")
    for code in ex.MEMBERS:
        issue_member(data_dir / "pki", member=code, member_name=f"基准测试机构 {code}")
    if args.tracemalloc:  # the processor traces its allocations (slower: a diagnosis, not a figure)
        from .heap import SITECUSTOMIZE

        (tmp / "site").mkdir()
        (tmp / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
        (args.out / "soak-tracemalloc.txt").unlink(missing_ok=True)
        os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, (str(tmp / "site"), os.environ.get("PYTHONPATH")))),
                          HIE_SOAK_TRACEMALLOC=str((args.out / "soak-tracemalloc.txt").resolve()),
                          HIE_SOAK_TRACEMALLOC_EVERY=str(args.tracemalloc),
                          HIE_SOAK_TRACEMALLOC_FIRST=str(args.warmup + 30))  # + the builder's head start
    server = ex.HubServer(data_dir, workers=args.workers, log_path=args.out / "soak-server.log")
    report: dict = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                    "growth_threshold_mb_per_10min": GROWTH_MB_PER_10MIN, "samples": []}
    builder = feeder = None
    try:
        server.start()
        roles = hub_processes(server)
        report["processes"] = {role: ex._cmdline(pid)[:160] for role, pid in roles.items()}
        say(f"hub up at {server.url}: {roles}")
        builder = ex.Builder(data_dir / "pki", server.url, processes=1)
        feeder = Feeder(builder, chunk=max(20, int(args.rate * 5)), ahead=max(200, int(args.rate * 30)))
        feeder.thread.start()
        while feeder.bodies.qsize() < min(feeder.bodies.maxsize, args.rate * 10):
            time.sleep(0.5)  # a head start, so the schedule does not wait for the first chunks
        cpu0, machine0, own0 = server.cpu(), ex.machine_cpu(), ex.proc_cpu_seconds(os.getpid())
        started = time.perf_counter()
        next_sample = [started]

        def tick() -> None:
            now = time.perf_counter()
            if now >= next_sample[0]:
                next_sample[0] += args.sample
                with closing(ex._db(data_dir)) as con:
                    newest = con.execute("SELECT MAX(id) FROM inbox_message").fetchone()[0] or 0
                    pending = con.execute("SELECT count(*) FROM inbox_message WHERE status IN ('received', 'accepted')"
                                          ).fetchone()[0]
                sample = {"t": round(now - started, 1), "messages": newest, "pending": pending,
                          "processed": newest - pending,
                          "rss_mb": {role: rss_mb(pid) for role, pid in roles.items()}}
                report["samples"].append(sample)
                if len(report["samples"]) % max(1, int(60 / args.sample)) == 1:
                    say(f"t={sample['t']:.0f}s messages {newest} pending {pending} rss "
                        + " ".join(f"{r}={v['rss']:.0f}" for r, v in sample["rss_mb"].items() if v))
            time.sleep(min(0.5, max(0.0, next_sample[0] - time.perf_counter())))

        result = send_steady(server.port, feeder, rate=args.rate, seconds=args.minutes * 60, pool=args.pool, tick=tick)
        cpu1, machine1 = server.cpu(), ex.machine_cpu()
        busy = machine1["busy"] - machine0["busy"]
        hub_s = sum(cpu1.get(p, 0) - cpu0.get(p, 0) for p in cpu1)
        loadgen_s = ex.proc_cpu_seconds(os.getpid()) - own0 + sum(ex.proc_cpu_seconds(p._popen.pid) for p in builder.pool._pool)
        result["cpu"] = {"hub_cores": round(hub_s / result["duration_s"], 2),
                         "processor_cores": round((cpu1.get(roles.get("processor"), 0) - cpu0.get(roles.get("processor"), 0))
                                                  / result["duration_s"], 2),
                         "loadgen_cores": round(loadgen_s / result["duration_s"], 2),
                         "other_cores": round(max(0.0, busy - hub_s - loadgen_s) / result["duration_s"], 2)}
        report["load"] = result
        feeder.stop.set()
        report["drain"] = ex.wait_drained(data_dir, 300)
        report["inbox"] = ex.inbox_check(data_dir)
        report["inbox"]["no_loss"] = report["inbox"]["messages"] == result["docs_ok"] == result["docs_sent"]
    finally:
        if feeder is not None:
            feeder.stop.set()
        if builder is not None:
            builder.pool.terminate()
        report["server_exit_code"] = server.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    report["summary"] = summarize(report["samples"], args.warmup)
    return report


def print_summary(report: dict, out=sys.stdout) -> None:
    load = report["load"]
    out.write(f"\nsoak {report['started_at']}: {report['config']['minutes']} min, offered "
              f"{load['offered_docs_per_s']:g} docs/s, achieved {load['docs_per_s']:g} docs/s "
              f"({load['docs_ok']:,} documents acknowledged, errors {load['errors']}, lag max "
              f"{load['send_lag_max_s']} s, p50 {load['send_lag']['p50_ms']} ms), answered in p50 {load['latency']['p50_ms']} ms "
              f"p99 {load['latency']['p99_ms']} ms; "
              f"hub {load['cpu']['hub_cores']} cores (processor {load['cpu']['processor_cores']}), "
              f"loadgen {load['cpu']['loadgen_cores']}, other {load['cpu']['other_cores']}\n")
    out.write(f"RSS MB after {report['config']['warmup']:g} s warm-up; slope over the second half; growing = slope > "
              f"{GROWTH_MB_PER_10MIN} MB/10 min and > 3 standard errors\n")
    out.write(f"{'process':<12}{'start':>8}{'end':>8}{'max':>8}{'MB/10min':>10}{'±':>6}{'MB/10k docs':>13}"
              f"{'anon start':>11}{'anon end':>9}  verdict\n")
    for role, row in report["summary"].items():
        out.write(f"{role:<12}{row['rss_start_mb']:>8}{row['rss_end_mb']:>8}{row['rss_max_mb']:>8}"
                  f"{row['slope_mb_per_10min']:>10}{row['slope_stderr_mb_per_10min']:>6}"
                  f"{row['slope_mb_per_10k_docs']:>13}{row['anon_start_mb']:>11}{row['anon_end_mb']:>9}  {row['verdict']}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="directory for soak.json")
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the steady load [30]")
    parser.add_argument("--rate", type=float, default=100.0, help="offered documents/s [100]")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between RSS samples [10]")
    parser.add_argument("--warmup", type=float, default=None, help="seconds before the start figure [min(120, 10%%)]")
    parser.add_argument("--workers", type=int, default=2, help="hub worker processes [2]")
    parser.add_argument("--pool", type=int, default=16, help="connections sending the schedule [16]")
    parser.add_argument("--keep", action="store_true", help="keep the hub's temp data directory")
    parser.add_argument("--tracemalloc", type=float, default=0, metavar="SECONDS",
                        help="the processor writes its top allocation growth every SECONDS to OUT/soak-tracemalloc.txt")
    args = parser.parse_args(argv)
    if args.warmup is None:
        args.warmup = min(120.0, args.minutes * 6)
    args.out.mkdir(parents=True, exist_ok=True)
    report = run_soak(args, say=lambda msg: print(msg, flush=True))
    path = args.out / "soak.json"
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print_summary(report)
    print(f"\nwritten {path}")
    load = report["load"]
    return 1 if load["errors"] or not report["inbox"]["no_loss"] else 0


if __name__ == "__main__":
    sys.exit(main())
