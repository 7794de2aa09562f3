"""``python -m bench.agent --out DIR [--documents N]``: the clinic agent drains a backlog to a local hub.

1. a PKI and ``hie serve`` on SQLite in a temporary folder (a subprocess, like ``bench.exchange``);
2. N canonical LabReports (``make_document``, ~4 KB, synthetic patients) written as files into the
   agent's outgoing folder — not timed;
3. ``collect``: the folder into the durable outbox (timed on its own);
4. ``drain``: the agent's real push path (``Agent.push``: SubmitBatch of ``--batch-size``, signed and
   encrypted per request, every receipt verified and recorded durably) until the backlog is empty,
   while a thread samples the agent's resident memory every 50 ms;
5. checks: the hub's inbox holds exactly N messages, N distinct MessageIDs; the outbox N accepted.

Writes ``DIR/agent.json``. Exit status 1 on any loss, duplicate or fault; a missed target (N=10,000
in 60 s) is reported, not an error, unless ``--strict``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from .exchange import HubServer, make_document
from .run import machine_facts

TARGET_SECONDS_PER_10K = 60.0
MEMBER = "CLINIC01"


def _rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(field + ":"))


class RssSampler(threading.Thread):
    """Samples this process's resident memory while the drain runs."""

    def __init__(self, interval: float = 0.05):
        super().__init__(daemon=True)
        self.interval, self.samples, self._done = interval, [], threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.samples.append((time.perf_counter(), _rss_kib()))
            self._done.wait(self.interval)

    def finish(self) -> list[tuple[float, int]]:
        self._done.set()
        self.join()
        return self.samples


def _write_config(folder: Path, *, hub_url: str, pki: Path, batch_size: int) -> Path:
    from adapters.agent.example import example_config

    text = example_config(member=MEMBER, hub_url=hub_url, pki=str(pki))
    text = text.replace("batch_size = 100 ", f"batch_size = {batch_size} ")
    path = folder / "agent.toml"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "outgoing").mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run_bench(*, out_dir: Path, documents: int, batch_size: int, hub_workers: int, say=print) -> dict:
    from adapters.agent import Agent, load
    from certs import init_pki, issue_member

    work = Path(tempfile.mkdtemp(prefix="hie-bench-agent-"))
    pki = work / "hub" / "pki"
    init_pki(pki, hub_name="基准测试区域平台")
    issue_member(pki, member=MEMBER, member_name="基准测试社区卫生服务中心")
    server = HubServer(work / "hub", workers=hub_workers, log_path=out_dir / "agent-hub.log")
    server.start()
    try:
        config = _write_config(work / "clinic", hub_url=server.url, pki=pki, batch_size=batch_size)
        outgoing = config.parent / "outgoing"
        settled = time.time() - 3600  # written an hour ago: past the agent's settle_seconds
        for serial in range(documents):
            path = outgoing / f"lab-{serial:06d}.xml"
            path.write_bytes(make_document("agent", serial, author=MEMBER))
            os.utime(path, (settled, settled))
        agent = Agent(load(config))
        say(f"{documents} documents written; collecting into the outbox")
        started = time.perf_counter()
        collected = sum(r.added for r in agent.collect())
        collect_s = time.perf_counter() - started
        say(f"collected {collected} in {collect_s:.1f} s; draining to {server.url}")
        rss_before = _rss_kib()
        sampler = RssSampler()
        sampler.start()
        started = time.perf_counter()
        result = agent.push(drain_for=60.0)
        drain_s = time.perf_counter() - started
        samples = sampler.finish()
        with sqlite3.connect(work / "hub" / "hub.db") as db:
            stored, distinct = db.execute("SELECT count(*), count(DISTINCT message_id) FROM inbox_message"
                                          " WHERE member = ?", (MEMBER,)).fetchone()
        counts = agent.status().counts
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    rss = [kib for _, kib in samples]
    quarter = max(1, len(rss) // 4)
    report = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_facts(),
        "documents": documents, "batch_size": batch_size, "hub_workers": hub_workers,
        "collect": {"seconds": round(collect_s, 2), "docs_per_s": round(collected / collect_s, 1)},
        "drain": {"seconds": round(drain_s, 2), "docs_per_s": round(result.accepted / drain_s, 1),
                  "requests": result.requests, "accepted": result.accepted, "quarantined": result.quarantined,
                  "halted": result.halted.code if result.halted else None},
        "agent_rss_kib": {"before_drain": rss_before, "peak_during_drain": max(rss, default=rss_before),
                          "first_quarter_max": max(rss[:quarter], default=rss_before),
                          "last_quarter_max": max(rss[-quarter:], default=rss_before),
                          "process_peak_vmhwm": _rss_kib("VmHWM"), "samples": len(rss)},
        "hub_inbox": {"messages": stored, "distinct_message_ids": distinct},
        "outbox": counts,
        "target": {"seconds_for_documents": round(TARGET_SECONDS_PER_10K * documents / 10_000, 1),
                   "met": drain_s <= TARGET_SECONDS_PER_10K * documents / 10_000},
        "exactly_once": stored == distinct == documents == counts["accepted"],
    }
    (out_dir / "agent.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.agent", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--hub-workers", type=int, default=2)
    parser.add_argument("--strict", action="store_true", help="exit 1 when the time target is missed")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    report = run_bench(out_dir=args.out, documents=args.documents, batch_size=args.batch_size,
                       hub_workers=args.hub_workers)
    drain, rss = report["drain"], report["agent_rss_kib"]
    print(f"drain: {report['documents']} documents in {drain['seconds']} s = {drain['docs_per_s']} docs/s "
          f"({drain['requests']} requests; target {report['target']['seconds_for_documents']} s: "
          f"{'met' if report['target']['met'] else 'MISSED'})")
    print(f"agent RSS: {rss['before_drain'] // 1024} MiB before, {rss['peak_during_drain'] // 1024} MiB peak during "
          f"the drain (first quarter {rss['first_quarter_max'] // 1024}, last quarter {rss['last_quarter_max'] // 1024})")
    print(f"hub inbox: {report['hub_inbox']['messages']} messages, exactly once: {report['exactly_once']}")
    if not report["exactly_once"] or drain["halted"]:
        return 1
    return 1 if args.strict and not report["target"]["met"] else 0


if __name__ == "__main__":
    sys.exit(main())
