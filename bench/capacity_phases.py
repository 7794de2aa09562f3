"""The phases of ``bench.capacity`` (its docstring says what each measures): a production node, the
crypto floor of a document, the synthetic region through intake and processing on PostgreSQL, the mart's
bytes per fact row on a ClickHouse server, one node's closed-loop throughput on PostgreSQL."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from protocol.status import MessageStatus

from . import exchange as ex
from .pgcost import PgMeter


class Node(ex.HubServer):
    """A production hub node: ``hie serve --no-processor`` on PostgreSQL, no ETL (docs/deployment.md)."""

    def __init__(self, data_dir: Path, *, database_url: str, workers: int, log_path: Path):
        super().__init__(data_dir, workers=workers, log_path=log_path)
        self.database_url = database_url

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        import requests

        self.port = ex._free_port()
        env = {**os.environ, "PYTHONPATH": str(ex.REPO)}
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli.main", "serve", "--data-dir", str(self.data_dir), "--port", str(self.port),
             "--workers", str(self.workers), "--etl-interval", "0", "--no-processor",
             "--database-url", self.database_url], cwd=ex.REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the node did not start; see {self.log_path}")
            try:
                if requests.get(f"{self.base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        while len(self.worker_pids) < self.workers and time.monotonic() < deadline:
            self.worker_pids = [p for p in ex._children(self.proc.pid) if "spawn_main" in ex._cmdline(p)]
            time.sleep(0.2)


def crypto_floor(tmp: Path, *, documents: int = 80, batch: int = 100) -> dict:
    """Documents/s one core signs + encrypts (member) and verifies + decrypts (hub gate): single and batch."""
    from lxml import etree

    from certs import PkiPaths, init_pki, issue_member
    from hub.exchange.gate import action_for
    from hub.runtime import Hub
    from hub.settings import Settings
    from protocol.credentials import Credentials, load_certificate
    from protocol.ns import HIE, q
    from protocol.request import seal_request

    init_pki(tmp / "pki", hub_name="基准测试区域平台")
    issue_member(tmp / "pki", member=ex.MEMBERS[0])
    paths = PkiPaths.of(tmp / "pki")
    member = Credentials.from_files(paths.members / ex.MEMBERS[0] / "cert.pem", paths.members / ex.MEMBERS[0] / "key.pem")
    hub_cert = load_certificate(paths.hub_enc_cert)
    hub = Hub.open(Settings(data_dir=tmp, start_processor=False))
    docs = [ex.make_document("floor", i, ex.MEMBERS[0]) for i in range(max(documents, batch))]

    def single(doc: bytes):
        content = etree.Element(q(HIE, "SubmitDocument"), nsmap={"hie": HIE})
        etree.SubElement(content, q(HIE, "Document")).append(etree.fromstring(doc))
        return content, action_for("SubmitDocument")

    def round_trip(contents: list, docs_each: int) -> dict:
        t0 = time.perf_counter()
        raws = [seal_request(c, credentials=member, hub_cert=hub_cert, action=a, to="http://127.0.0.1/soap/exchange").data
                for c, a in contents]
        sealed = time.perf_counter()
        for raw in raws:
            hub.gate.finish(hub.gate.open(raw))
        opened = time.perf_counter()
        n = len(contents) * docs_each
        return {"seal_us": round((sealed - t0) / n * 1e6), "open_us": round((opened - sealed) / n * 1e6),
                "docs_per_s": round(n / (opened - t0), 1)}

    round_trip([single(d) for d in docs[:8]], 1)  # warm: keys loaded, caches filled
    singles = round_trip([single(d) for d in docs[:documents]], 1)
    batches = round_trip([(ex.batch_content([(f"urn:uuid:floor-{r}-{i}", etree.fromstring(d))
                                             for i, d in enumerate(docs[:batch])]), action_for("SubmitBatch"))
                          for r in range(3)], batch)
    hub.sessions.kw["bind"].dispose()
    return {"document_bytes": len(docs[0]), "single": singles, f"batch_{batch}": batches}


def _count(meter: PgMeter, sql: str) -> int:
    return int(meter.query(sql)[0][0])


PENDING = ("SELECT count(*) FROM inbox_message WHERE status IN ("
           + ", ".join(f"'{status.value}'" for status in MessageStatus.pending()) + ")")


def region_phase(pg, tmp: Path, out: Path, *, seed: int, size: str) -> dict:
    """The region through one node (intake), then one processor (processing): the cost of each."""
    from region import Generated, generate
    from region.ledger import Ledger
    from region.load import Target, outcomes, prepare, send

    t0 = time.perf_counter()
    manifest = generate(tmp / "region", seed=seed, size=size)
    generated = Generated.open(tmp / "region")
    url, data_dir = pg.create_database("region"), tmp / "region-data"
    prepare(generated, data_dir, database_url=url)
    report: dict = {"size": size, "seed": seed, "generate_s": round(time.perf_counter() - t0, 1),
                    "documents_by_kind": manifest["counts"].get("documents", {})}
    meter = PgMeter(pg, "region")
    node = Node(data_dir, database_url=url, workers=2, log_path=out / "capacity-node.log")
    node.start()
    try:
        start = meter.begin()
        sent = send(generated, tmp / "region", ledger=Ledger(data_dir / "region-load.sqlite"),
                    target=Target(node.base, data_dir / "pki"), workers=2)
        mid = meter.writers_done()
    finally:
        node.stop()
    stored = _count(meter, "SELECT count(*) FROM inbox_message")
    report["send"] = {"documents": sent.documents, "refused_at_the_door": sent.refused, "seconds": round(sent.seconds, 1),
                      "docs_per_s": round(sent.documents / sent.seconds, 1),
                      "note": "members seal in 2 processes on the node's 2 cores: a client-bound figure"}
    report["mean_document_bytes"] = _count(meter, "SELECT avg(octet_length(document))::int FROM inbox_message")
    report["intake"] = meter.end(start, mid, documents=stored)
    # processing: one `hie process`, alone, until nothing is pending
    backlog = _count(meter, PENDING)
    start = meter.begin()
    env = {**os.environ, "PYTHONPATH": str(ex.REPO)}
    with open(out / "capacity-processor.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "process", "--data-dir", str(data_dir),
                                 "--database-url", url, "--interval", "0.2"], cwd=ex.REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            first = None
            while (left := _count(meter, PENDING)) > 0:
                if first is None and left < backlog:
                    first = (time.perf_counter(), left, ex.proc_cpu_seconds(proc.pid))
                if proc.poll() is not None:
                    raise RuntimeError(f"hie process exited; see {out / 'capacity-processor.log'}")
                time.sleep(0.2)
            done = time.perf_counter()
            processor_cpu = ex.proc_cpu_seconds(proc.pid)
            mid = meter.writers_done()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    counts, _ = outcomes(data_dir, database_url=url)
    report["processing"] = meter.end(start, mid, documents=backlog)
    steady = (first[1] / (done - first[0])) if first and done > first[0] else None
    report["processing"].update({
        "outcomes": counts, "drain_s": round(done - start["t"], 1),
        "docs_per_s_from_start": round(backlog / (done - start["t"]), 1),
        "docs_per_s_steady": round(steady, 1) if steady else None,
        "processor_cpu_us_per_document": round(processor_cpu / backlog * 1e6),  # its start-up included
        # after its first commit: without the imports and warm-up of its start
        "processor_cpu_us_per_document_steady": round((processor_cpu - first[2]) / first[1] * 1e6) if first else None})
    report["checks"] = {"inbox_holds_what_was_sent": stored == sent.documents - sum(sent.refused.values()),
                        "nothing_left_pending": _count(meter, PENDING) == 0}
    return report


def mart_phase(url: str) -> dict:
    """One ETL run of the OLTP at ``url`` into a ClickHouse server; bytes on disk per fact row."""
    from etl import jobs
    from etl.facts import FACT_TABLES
    from etl.transform import Pseudonymizer
    from hub.store.db import make_engine, session_factory
    from olap.schema.migrate import apply_schema
    from olap.server_backend import ServerBackend
    from tests.support.chserver import ClickhouseServer

    if not ClickhouseServer.available():
        return {"skipped": "no clickhouse-server binary"}
    server = ClickhouseServer().start()
    engine = make_engine(url)
    try:
        mart = ServerBackend(server.host, server.tcp_port, database="mart")
        apply_schema(mart)
        t0 = time.perf_counter()
        result = jobs.run_incremental(session_factory(engine), mart, Pseudonymizer(b"bench-key-0123456789abcdef012345"))
        seconds = time.perf_counter() - t0
        tables = server.query("SELECT name FROM system.tables WHERE database = 'mart' AND engine LIKE '%MergeTree'")
        for table in tables.split():
            server.query(f"OPTIMIZE TABLE mart.{table} FINAL")
        columns = set(server.query("SELECT name FROM system.columns WHERE database = 'system' AND table = 'parts'").split())
        on_disk = "bytes_on_disk" if "bytes_on_disk" in columns else "bytes"
        rows = server.query(f"SELECT table, sum(rows), sum({on_disk}), sum(data_compressed_bytes), "
                            "sum(data_uncompressed_bytes) FROM system.parts WHERE active AND database = 'mart' "
                            "GROUP BY table ORDER BY table FORMAT TSV")
    finally:
        engine.dispose()
        server.stop()
    parts = {}
    for line in rows.splitlines():
        name, n, disk, compressed, raw = line.split("\t")
        parts[name] = {"rows": int(n), "bytes_on_disk": int(disk), "compressed": int(compressed), "uncompressed": int(raw)}
    facts = {name: v for name, v in parts.items() if name in FACT_TABLES}
    fact_rows = sum(v["rows"] for v in facts.values())
    fact_bytes = sum(v["bytes_on_disk"] for v in facts.values())
    all_bytes = sum(v["bytes_on_disk"] for v in parts.values())
    return {"etl_rows_written": result.rows_written, "etl_seconds": round(seconds, 2), "fact_rows": fact_rows,
            "fact_bytes_on_disk": fact_bytes, "mart_bytes_on_disk": all_bytes,
            "bytes_per_fact_row": round(fact_bytes / fact_rows, 1) if fact_rows else None,
            "mart_bytes_per_fact_row": round(all_bytes / fact_rows, 1) if fact_rows else None,
            "column": on_disk, "tables": parts}


def node_phase(pg, tmp: Path, out: Path, *, seconds: float) -> dict:
    """One node's closed-loop throughput on PostgreSQL: SubmitBatch of 100, then SubmitDocument."""
    from certs import init_pki, issue_member

    url, data_dir = pg.create_database("node"), tmp / "node"
    init_pki(data_dir / "pki", hub_name="基准测试区域平台")
    for code in ex.MEMBERS:
        issue_member(data_dir / "pki", member=code)
    meter = PgMeter(pg, "node")
    node = Node(data_dir, database_url=url, workers=2, log_path=out / "capacity-node-load.log")
    node.start()
    builder = ex.Builder(data_dir / "pki", node.url)
    report, acknowledged = {}, 0
    try:
        bodies, _ = builder.single(100)
        acknowledged += ex.closed_loop(node, bodies, docs_per_request=1, concurrency=16, time_limit=60)["docs_ok"]
        bodies, _ = builder.batch(4, 100)
        acknowledged += ex.closed_loop(node, bodies, docs_per_request=100, concurrency=4, time_limit=60)["docs_ok"]
        for phase, (count, docs, conns) in {"batch": (int(seconds * 12), 100, 4),
                                             "single": (int(seconds * 500), 1, 16)}.items():
            bodies, _ = builder.batch(count, docs) if docs > 1 else builder.single(count)
            lsn = meter.lsn()
            result = ex.closed_loop(node, bodies, docs_per_request=docs, concurrency=conns, time_limit=seconds)
            wal = int(meter.query(f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{lsn}')")[0][0])
            acknowledged += result["docs_ok"]
            report[phase] = {k: result[k] for k in ("docs_per_s", "requests_per_s", "docs_ok", "errors", "faults",
                                                    "duration_s", "latency", "cpu", "concurrency", "docs_per_request")}
            report[phase]["wal_bytes_per_document"] = round(wal / max(result["docs_ok"], 1))
            print(f"node {phase}: {result['docs_per_s']:,.0f} docs/s, p50 {result['latency']['p50_ms']} ms, "
                  f"p99 {result['latency']['p99_ms']} ms, errors {result['errors']}", flush=True)
    finally:
        builder.close()
        node.stop()
    stored = _count(meter, "SELECT count(*) FROM inbox_message")
    report["inbox"] = {"stored": stored, "acknowledged": acknowledged, "exact": stored == acknowledged}
    return report


__all__ = ["Node", "crypto_floor", "region_phase", "mart_phase", "node_phase"]
