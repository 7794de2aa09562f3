"""``python -m bench.cluster --out DIR``: one hub node against two behind HAProxy, on PostgreSQL.

The multi-node tier's launcher (``tests/support/cluster.py``) starts a throwaway PostgreSQL, two
``hie serve --no-processor`` nodes (``--node-workers`` uvicorn workers each) and HAProxy on
loopback; no processor runs (intake is measured here; normalization is ``bench.records``: after each
run the accepted messages are marked processed, so that the backlog ``/healthz`` counts stays
small). Three setups, each with single-document requests (``SubmitDocument``,
``--single-concurrency`` connections) and batches (``SubmitBatch`` of ``--batch-size``, ``--batch-concurrency``
connections), in a closed loop, and single-document requests and ``GET /healthz`` on one connection
(``latency``, ``healthz``: nothing queues, so the difference between ``direct`` and ``haproxy-1`` is
what the balancer adds):

``direct``          one node, requests straight to its port
``haproxy-1``       the same node through HAProxy (the other node stopped): the balancer's overhead
``haproxy-2``       both nodes through HAProxy (roundrobin)

Requests are sealed before the clock starts (``bench.exchange.Builder``, each with its own
MessageIDs); the load generator shares the machine's cores with the nodes, PostgreSQL and HAProxy.
On 2 cores expect no throughput gain from a second node: the point is that it stays correct (every
accepted document stored once) and what the balancer adds to latency. Writes ``DIR/cluster.json``,
replaces its section of ``bench/RESULTS.md`` (``--no-results-md`` leaves it alone), prints a table.
Exit status 1 when a request failed or the inbox does not hold exactly the documents accepted.
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import json
import shutil
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from .exchange import MEMBERS, Builder, _Conn, _merge, latency_summary, machine_cpu
from .resultsmd import write_section
from .run import machine_facts
from .stages import crypto_floor

SETUPS = ("direct", "haproxy-1", "haproxy-2")
# latency: one connection, nothing queued; healthz: GET /healthz on one connection (a cheap request:
# the balancer's hop is not hidden behind 5-10 ms of signature work)
KINDS = ("healthz", "latency", "single", "batch")


def closed_loop(port: int, bodies: list[bytes], *, docs_per_request: int, concurrency: int,
                time_limit: float) -> dict:
    """Each connection sends its next pre-built request as soon as the previous answer arrived."""
    conns = [_Conn(port) for _ in range(concurrency)]
    for conn in conns:
        conn.connect()
    counter, go, deadline = itertools.count(), threading.Event(), [float("inf")]

    def run(conn: _Conn) -> None:
        go.wait()
        while (i := next(counter)) < len(bodies) and time.perf_counter() < deadline[0]:
            start = time.perf_counter()
            conn.post(bodies[i], docs_per_request)
            conn.latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=run, args=(conn,), daemon=True) for conn in conns]
    for thread in threads:
        thread.start()
    busy0, client0 = machine_cpu()["busy"], time.process_time()
    t0 = time.perf_counter()
    deadline[0] = t0 + time_limit
    go.set()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - t0
    busy, client = machine_cpu()["busy"] - busy0, time.process_time() - client0
    for conn in conns:
        conn.close()
    result = _merge(conns)
    result.update({"seconds": round(wall, 2), "concurrency": concurrency, "docs_per_request": docs_per_request,
                   "docs_per_s": round(result["docs_ok"] / wall, 1),
                   "requests_per_s": round(result["requests_ok"] / wall, 1),
                   "latency": latency_summary([v for conn in conns for v in conn.latencies]),
                   "machine_busy_cores": round(busy / wall, 2), "loadgen_cores": round(client / wall, 2)})
    return result


def healthz_loop(port: int, *, requests: int) -> dict:
    """``GET /healthz`` ``requests`` times, one after the other on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, failed = [], 0
    t0 = time.perf_counter()
    for _ in range(requests):
        start = time.perf_counter()
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        failed += response.status != 200
        latencies.append(time.perf_counter() - start)
    wall = time.perf_counter() - t0
    conn.close()
    return {"seconds": round(wall, 2), "concurrency": 1, "docs_per_request": 0, "docs_ok": 0, "docs_per_s": 0.0,
            "requests_per_s": round(requests / wall, 1), "errors": failed, "latency": latency_summary(latencies)}


def _inbox(engine) -> dict:
    from sqlalchemy import text

    with engine.connect() as db:
        stored, distinct = db.execute(text("SELECT count(*), count(DISTINCT (member, message_id)) "
                                           "FROM inbox_message")).one()
    return {"messages": stored, "distinct_message_ids": distinct}


def _settle(engine) -> None:
    """Mark what a run accepted processed, as processors that keep up would have: no processor runs here,
    and ``/healthz`` (which HAProxy reads every 300 ms per node) counts the backlog on each answer."""
    from sqlalchemy import text

    with engine.begin() as db:
        db.execute(text("UPDATE inbox_message SET status = 'processed' WHERE status = 'accepted'"))


def run_bench(*, out_dir: Path, seconds: float, repeats: int, single_concurrency: int, batch_concurrency: int,
              batch_size: int, node_workers: int, say=print) -> dict:
    from hub.store.db import make_engine
    from tests.support.cluster import HubCluster
    from tests.support.hubs import member_pki
    from tests.support.pgserver import PostgresServer

    work = Path(tempfile.mkdtemp(prefix="hie-bench-cluster-"))
    floor_before = crypto_floor(1.0, parallel=1)
    pg = PostgresServer().start()
    cluster = builder = engine = None
    runs: list[dict] = []
    try:
        pki = member_pki(work / "pki", hub_name="基准测试区域平台", members=MEMBERS)
        cluster = HubCluster(pg, pki_dir=pki, base_dir=work / "cluster", nodes=2, processors=0,
                             node_workers=node_workers).start()
        builder = Builder(pki, to="http://127.0.0.1/soap/exchange")
        engine = make_engine(cluster.database_url)
        ports = {"direct": cluster.node_ports[0], "haproxy-1": cluster.port, "haproxy-2": cluster.port}
        # the single-node setups first (node1 stopped), then both nodes; each round in that order
        for round_ in range(repeats):
            for setup in SETUPS:
                if setup == "haproxy-2":
                    cluster.start_node(1)
                    cluster.wait_balanced()
                elif cluster.nodes[1].running:
                    cluster.kill_node(1)
                    _wait_down(cluster, "node1")
                for kind in KINDS:
                    if kind == "healthz":
                        result = healthz_loop(ports[setup], requests=int(seconds * 50))
                        result.update(setup=setup, kind=kind, round=round_)
                        runs.append(result)
                        say(f"round {round_} {setup:<10} {kind:<7} p50 {result['latency']['p50_ms']:>7.2f} ms  "
                            f"p95 {result['latency']['p95_ms']:>7.2f} ms  errors {result['errors']}")
                        continue
                    if kind == "single":
                        bodies, _ = builder.single(int(seconds * 250))
                        concurrency, docs = single_concurrency, 1
                    elif kind == "latency":
                        bodies, _ = builder.single(int(seconds * 100))
                        concurrency, docs = 1, 1
                    else:
                        bodies, _ = builder.batch(max(4, int(seconds * 800 / batch_size)), batch_size)
                        concurrency, docs = batch_concurrency, batch_size
                    result = closed_loop(ports[setup], bodies, docs_per_request=docs, concurrency=concurrency,
                                         time_limit=seconds)
                    _settle(engine)
                    result.update(setup=setup, kind=kind, round=round_)
                    runs.append(result)
                    say(f"round {round_} {setup:<10} {kind:<7} {result['docs_per_s']:>8.1f} docs/s  "
                        f"p50 {result['latency']['p50_ms']:>7.1f} ms  p95 {result['latency']['p95_ms']:>7.1f} ms  "
                        f"errors {result['errors']}")
        inbox = _inbox(engine)
        stats = {name: int(row["stot"]) for name, row in cluster.balancer_stats().items()}
    finally:
        if builder is not None:
            builder.close()
        if engine is not None:
            engine.dispose()
        if cluster is not None:
            cluster.stop()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    floor_after = crypto_floor(1.0, parallel=1)
    accepted = sum(run["docs_ok"] for run in runs)
    report = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine_facts(),
        "settings": {"seconds": seconds, "repeats": repeats, "single_concurrency": single_concurrency,
                     "batch_concurrency": batch_concurrency, "batch_size": batch_size, "node_workers": node_workers},
        "crypto_floor": {"before": floor_before, "after": floor_after},
        "runs": runs, "summary": summarize(runs), "balancer_requests_per_node": stats,
        "inbox": inbox, "docs_accepted": accepted,
        "exactly_once": inbox["messages"] == inbox["distinct_message_ids"] == accepted,
        "errors": sum(run["errors"] for run in runs),
    }
    (out_dir / "cluster.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return report


def _wait_down(cluster, name: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while cluster.balancer_stats()[name]["status"] == "UP" and time.monotonic() < deadline:
        time.sleep(0.1)


def summarize(runs: list[dict]) -> dict:
    """Per setup and kind: the median throughput and latency percentiles over the rounds."""
    summary: dict = {}
    for setup in SETUPS:
        for kind in KINDS:
            mine = [run for run in runs if run["setup"] == setup and run["kind"] == kind]
            if mine:
                summary[f"{setup}/{kind}"] = {key: _median([run["latency"][key] if key.endswith("_ms") else run[key]
                                                            for run in mine])
                                              for key in ("docs_per_s", "p50_ms", "p95_ms")}
    return summary


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return round(ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2, 2)


def results_section(report: dict) -> str:
    s, summary = report["settings"], report["summary"]
    labels = {"healthz": "`GET /healthz`, 1 connection", "latency": "`SubmitDocument`, 1 connection",
              "single": f"`SubmitDocument`, {s['single_concurrency']} connections",
              "batch": f"`SubmitBatch` of {s['batch_size']}, {s['batch_concurrency']} connections"}

    def cell(v: dict | None, kind: str) -> str:
        if v is None:
            return "—"
        latency = f"p50 {v['p50_ms']:.2f} / p95 {v['p95_ms']:.2f} ms"
        return latency if kind == "healthz" else f"{v['docs_per_s']:,.0f} docs/s, {latency}"

    rows = [f"| {labels[kind]} | " + " | ".join(cell(summary.get(f"{setup}/{kind}"), kind) for setup in SETUPS) + " |"
            for kind in KINDS]
    floor = report["crypto_floor"]
    return "\n".join([
        f"`python -m bench.cluster` on {report['when']}: PostgreSQL 15, nodes of {s['node_workers']} uvicorn "
        f"worker(s), no processor; closed loops, {s['repeats']} round(s) of {s['seconds']:g} s per setup and kind, "
        "medians over the rounds.",
        "", "| requests | one node, direct | HAProxy → one node | HAProxy → two nodes |", "|---|---|---|---|",
        *rows, "",
        f"Exactly once: {report['exactly_once']} ({report['inbox']['messages']:,} messages stored, "
        f"{report['docs_accepted']:,} accepted); errors: {report['errors']}; requests HAProxy sent to each node: "
        f"{report['balancer_requests_per_node']}. RSA-2048 ops/s on one core: "
        f"{floor['before']['rsa2048_private_ops_per_s']:,} before / {floor['after']['rsa2048_private_ops_per_s']:,} "
        f"after; load average at start {report['machine']['loadavg_at_start']}."])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each timed run")
    parser.add_argument("--repeats", type=int, default=3, help="rounds over the three setups")
    parser.add_argument("--single-concurrency", type=int, default=8)
    parser.add_argument("--batch-concurrency", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--node-workers", type=int, default=1)
    parser.add_argument("--no-results-md", action="store_true", help="leave bench/RESULTS.md as it is")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    report = run_bench(out_dir=args.out, seconds=args.seconds, repeats=args.repeats,
                       single_concurrency=args.single_concurrency, batch_concurrency=args.batch_concurrency,
                       batch_size=args.batch_size, node_workers=args.node_workers)
    section = results_section(report)
    print(section)
    if not args.no_results_md:
        write_section("Several nodes (`bench.cluster`)", section)
    return 0 if report["exactly_once"] and not report["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
