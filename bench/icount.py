"""``python -m bench.icount [--documents N]``: instructions per normalized document (callgrind).

The machine's speed drifts by ±30% within an hour, so a 10% change in ``bench.records`` can
hide in the noise. Instructions counted by valgrind's callgrind do not drift: the same code,
inputs and environment give the same count (to ~0.01%) whatever else the machine is doing. They
are the measure for comparing two versions of the processing path; ``bench.records`` stays the
measure of speed.

Runs ``bench.records``'s documents through ``process_pending`` (batches of ``pipeline.BATCH``,
after ``warm_up``) with instrumentation on only for the timed part, as ``bench.records`` times it.
Needs ``valgrind`` (Debian package) on PATH; about 40 s for 1,000 documents.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hub.runtime import processing_stages


def _child(count: int) -> None:
    from hub import pipeline
    from hub.store.db import make_engine, migrate, session_factory
    from tests.support.inbox import Store

    from .records import _deliver, build_documents

    documents = build_documents(count + pipeline.BATCH)
    with tempfile.TemporaryDirectory(prefix="hie-icount-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/icount.db")
        migrate(engine)
        store = Store(session_factory(engine))
        _deliver(store, documents)
        pipeline.warm_up()
        pipeline.process_pending(store.sessions, processing_stages(), limit=pipeline.BATCH)  # first batch: caches, not counted
        control = ["callgrind_control", "-i"]
        subprocess.run([*control, "on", str(os.getpid())], check=True, capture_output=True)
        done = 0
        while (finished := pipeline.process_pending(store.sessions, processing_stages(), limit=pipeline.BATCH)):
            done += finished
        subprocess.run([*control, "off", str(os.getpid())], check=True, capture_output=True)
        engine.dispose()
    print(f"documents {done}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.documents)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind not found (Debian package valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hie-icount-") as tmp:
        out = Path(tmp) / "callgrind.out"
        run = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                              sys.executable, "-m", "bench.icount", "--child", "--documents", str(args.documents)],
                             capture_output=True, text=True)
        done = re.search(r"documents (\d+)", run.stdout)
        totals = re.search(r"^totals: (\d+)", out.read_text(), re.M) if out.exists() else None
        if run.returncode or not done or not totals or not int(done.group(1)):
            print(run.stderr[-2000:], file=sys.stderr)
            return 1
    documents, instructions = int(done.group(1)), int(totals.group(1))
    print(f"{instructions / documents:,.0f} instructions per document ({documents:,} documents, "
          f"{instructions:,} in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
