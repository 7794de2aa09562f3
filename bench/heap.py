"""``python -m bench.heap [--rounds 40] [--batch 500]``: what the processor's heap keeps, in-process.

The soak (``bench.soak``) shows *whether* a process grows; this shows *what* grows. It runs the
hub's processing (``hub.pipeline.process_pending`` with the runtime's stages) in this process
against a temp SQLite store that it feeds directly with accepted messages (distinct synthetic
LabReports from ``bench.exchange.make_document``: no HTTP, no crypto, so tens of thousands of
documents go through in minutes). After ``--warmup`` rounds it takes a tracemalloc snapshot and
counts live objects by type; then again at the middle and at the end. What grew between the
middle and the end (not only between warm-up and middle) is what keeps growing; the named caches'
sizes tell a cache filling to its bound (warm-up) from a leak.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from . import exchange as ex
from .soak import rss_mb


def _caches() -> dict[str, int]:
    """Sizes of the processor's known caches (bounded ones with their bound)."""
    from hub.mpi import names, resident_id
    from hub.records import sql as records_sql
    from hub.store import rawsql

    sizes = {f"{fn.__module__}.{fn.__name__} (max {fn.cache_info().maxsize})": fn.cache_info().currsize
             for fn in (names.normalize_name, names.readings, names.name_pinyin, resident_id._is_valid,
                        rawsql._for_psycopg)}
    sizes["hub.records.sql._ROW_SQL"] = len(records_sql._ROW_SQL)
    return sizes


def _objects() -> Counter:
    gc.collect()
    return Counter(type(o).__name__ for o in gc.get_objects())


def feed(engine, *, tag: str, first: int, count: int) -> None:
    """Insert ``count`` accepted messages (one envelope) straight into the inbox."""
    from protocol.timestamps import utcnow

    now = utcnow().replace(tzinfo=None).isoformat(sep=" ")
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("INSERT INTO inbox_envelope (sha256, member, cert_serial, wsa_message_id, action, received_at, raw) "
                    "VALUES (?, ?, '1', ?, 'heap', ?, x'')", (tag + str(first), ex.MEMBERS[0], f"urn:{tag}:{first}", now))
        envelope = cur.lastrowid
        rows = []
        for serial in range(first, first + count):
            member = ex.MEMBERS[serial % len(ex.MEMBERS)]
            doc = ex.make_document(tag, serial, member, size=2048)
            rows.append((member, f"urn:uuid:{tag}-{serial}", envelope, serial - first, "LabReport",
                         hashlib.sha256(doc).hexdigest(), doc, "accepted", now, now, b""))
        cur.executemany("INSERT INTO inbox_message (member, message_id, envelope_id, item_index, document_type, "
                        "document_sha256, document, status, received_at, updated_at, receipt) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        raw.commit()
    finally:
        raw.close()


def _top(after, before, limit: int) -> list[str]:
    stats = after.compare_to(before, "traceback")
    lines = []
    for stat in stats[:limit]:
        frames = [f"{Path(f.filename).name}:{f.lineno}" for f in stat.traceback][-4:]
        lines.append(f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+8d} blocks  " + " <- ".join(reversed(frames)))
    return lines


# What ``bench.soak --tracemalloc`` puts on the hub's PYTHONPATH: only the processor traces.
SITECUSTOMIZE = """import os
if os.environ.get("HIE_SOAK_TRACEMALLOC") and b"hub.cli.main\\0process" in open("/proc/self/cmdline", "rb").read():
    from bench.heap import trace_in_background
    trace_in_background(os.environ["HIE_SOAK_TRACEMALLOC"], float(os.environ.get("HIE_SOAK_TRACEMALLOC_EVERY", "60")),
                        first=float(os.environ.get("HIE_SOAK_TRACEMALLOC_FIRST", "60")))
"""


def trace_in_background(path: str, every: float, *, first: float, frames: int = 6, top: int = 12) -> None:
    """Trace this process's allocations; every ``every`` seconds append to ``path`` what grew since
    the first snapshot, taken ``first`` seconds after start-up (past the processor's warm-up)."""
    import threading

    tracemalloc.start(frames)

    def run() -> None:
        time.sleep(first)
        baseline = tracemalloc.take_snapshot()
        started = time.monotonic()
        while True:
            time.sleep(every)
            snapshot = tracemalloc.take_snapshot()
            traced = tracemalloc.get_traced_memory()[0] / 2**20
            with open(path, "a", encoding="utf-8") as out:
                out.write(f"t={time.monotonic() - started:.0f}s since the first snapshot: traced {traced:.1f} MiB, "
                          f"RSS {rss_mb(os.getpid())['rss']:.1f} MB\n")
                out.writelines(f"  {line}\n" for line in _top(snapshot, baseline, top))

    threading.Thread(target=run, name="soak-tracemalloc", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.heap", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="batches processed after the warm-up [40]")
    parser.add_argument("--warmup", type=int, default=4, help="batches before the first snapshot [4]")
    parser.add_argument("--batch", type=int, default=500, help="documents fed per round [500]")
    parser.add_argument("--frames", type=int, default=6, help="tracemalloc frames kept per allocation [6]")
    parser.add_argument("--top", type=int, default=15, help="allocation sites shown [15]")
    parser.add_argument("--no-trace", action="store_true", help="RSS and caches only (no tracemalloc: ~3x faster)")
    parser.add_argument("--cache-kib", type=int, default=None,
                        help="override SQLite's page cache per connection (the hub's is 65536 KiB), to weigh it")
    args = parser.parse_args(argv)

    from hub import pipeline
    from hub.runtime import processing_stages
    from hub.store.db import make_engine, migrate, session_factory, sqlite_url

    tmp = Path(tempfile.mkdtemp(prefix="hie-heap-"))
    try:
        engine = make_engine(sqlite_url(tmp / "hub.db"))
        if args.cache_kib is not None:
            from sqlalchemy import event

            event.listen(engine, "connect", lambda con, _rec: con.execute(f"PRAGMA cache_size=-{args.cache_kib}"))
        migrate(engine)
        sessions = session_factory(engine)
        stages = processing_stages()
        tag = f"heap{int(time.time())}"
        serial = 0

        def rounds(n: int) -> None:
            nonlocal serial
            for _ in range(n):
                feed(engine, tag=tag, first=serial, count=args.batch)
                serial += args.batch
                while pipeline.process_pending(sessions, stages, limit=args.batch):
                    pass
                if serial % (5 * args.batch) == 0:
                    print(f"  {serial:,} documents: RSS {rss_mb(os.getpid())['rss']:.1f} MB", flush=True)

        if not args.no_trace:
            tracemalloc.start(args.frames)
        pipeline.warm_up()
        rounds(args.warmup)
        marks = []
        for label, n in (("warm", 0), ("middle", args.rounds // 2), ("end", args.rounds - args.rounds // 2)):
            rounds(n)
            objects = _objects()
            marks.append((label, serial, tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None, objects,
                          _caches()))
            traced = tracemalloc.get_traced_memory()[0] / 2**20
            rss = rss_mb(os.getpid())
            print(f"{label:>7}: {serial:,} documents processed, RSS {rss['rss']:.1f} MB (anon {rss['anon']:.1f}), "
                  f"traced {traced:.1f} MiB, {sum(objects.values()):,} "
                  f"gc objects; caches {marks[-1][4]}", flush=True)
        for (la, na, sa, oa, _), (lb, nb, sb, ob, _) in zip(marks, marks[1:]):
            print(f"\n{la} -> {lb} ({nb - na:,} documents): top allocation growth")
            for line in _top(sb, sa, args.top) if sa is not None else []:
                print("  " + line)
            grown = (ob - oa).most_common(8)
            print("  object counts grown: " + ", ".join(f"{name} +{n}" for name, n in grown))
    finally:
        tracemalloc.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
