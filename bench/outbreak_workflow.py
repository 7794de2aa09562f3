"""The surveillance workflow on the synthetic region, as the bureau would see it: every report card
`hie region generate` plans (defects included) stored in a fresh SQLite hub, the runner's pass run
(cases linked through the MPI, outbreak alerts raised), and the alerts set against the injected
norovirus cluster (`truth/outbreak.csv`).

    python -m bench.outbreak_workflow [--size small|full] [--seeds 20251205 1] [--out DIR] [--settings both]

Per seed: cards and cases, seconds to store them and to run the workflow, the cluster's alert (its
district, detection day, days after the cluster's first diagnosis, methods, cases) and the other
alerts per disease (influenza's season included), and how many alerts the workflow closed as superseded
(an outbreak first judged on part of its cards during the catch-up). ``--settings plain`` runs every
disease on the published EARS settings the hub ran before the per-disease table (``settings.PLAIN``) and
leaves open the alerts whose incident vanished (as the hub did before ``outbreaks.withdrawn``) and
judges the hub's first day against zeros (before ``outbreaks.first_day``),
``table`` on ``settings.DISEASES`` (the hub's), ``both`` one after the other on the same cards.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from hub.store.db import make_engine, migrate, session_factory
from hub.workflows import run_pass
from hub.workflows.models import Alert
from hub.workflows.surveillance import outbreaks
from hub.workflows.surveillance.settings import PLAIN
from hub.workflows.surveillance.models import CaseCard, DiseaseCase
from hub.workflows.surveillance.outbreaks import KIND
from tests.support.inbox import Store

from .outbreak import region_counts

CHUNK = 500


def region_cards(seed: int, size: str) -> dict[str, list]:
    """The region's report cards by sending member, as the generator renders them."""
    from region import Generated

    generated = Generated.build(seed=seed, size=size)
    found: dict[str, list] = defaultdict(list)
    for _, _, _, events in generated.events():
        for event in events:
            if getattr(event, "kind", None) == "InfectiousDiseaseReport":
                found[event.institution].append(event.render(generated.region))
    return found


@contextlib.contextmanager
def detector_settings(which: str):
    """The workflow's detector settings for the run: ``table`` (the hub's) or ``plain`` (before)."""
    if which == "table":
        yield
        return
    original = outbreaks.settings_for, outbreaks.withdrawn, outbreaks.first_day
    outbreaks.settings_for = lambda disease: PLAIN
    outbreaks.withdrawn = lambda *args: []  # before: an alert whose incident vanished stayed open
    outbreaks.first_day = lambda session: None  # before: 35 days of zeros before the hub's first case too
    try:
        yield
    finally:
        outbreaks.settings_for, outbreaks.withdrawn, outbreaks.first_day = original


def run(seed: int, size: str, folder: Path) -> dict:
    """One region through a fresh hub's store and the workflow: what came out, against the truth."""
    engine = make_engine(f"sqlite:///{folder / 'hub.db'}")
    migrate(engine)
    sessions = session_factory(engine)
    store = Store(sessions)
    _, truth = region_counts(seed=seed, size=size)
    cards = region_cards(seed, size)
    started = time.perf_counter()
    for member, documents in cards.items():
        for first in range(0, len(documents), CHUNK):
            store.deliver(*documents[first:first + CHUNK], member=member)
            store.process()
    stored = time.perf_counter()
    run_pass(sessions)
    done = time.perf_counter()
    with sessions() as session:
        counted = {"cards": session.scalar(select(func.count()).select_from(CaseCard)),
                   "cases": session.scalar(select(func.count()).select_from(DiseaseCase))}
        everything = list(session.scalars(select(Alert).where(Alert.kind == KIND)))
        alerts = [(a.district, json.loads(a.facts)) for a in everything if a.state != "closed"]
        superseded = sum(1 for a in everything if a.state == "closed")  # closed by the hub: superseded, withdrawn
    engine.dispose()
    first, last = date.fromisoformat(truth["first_diagnosis"]), date.fromisoformat(truth["last_diagnosis"])
    hits = [f for district, f in alerts if district == truth["district"] and f["disease"] == truth["disease"]
            and date.fromisoformat(f["detected"]) <= last and date.fromisoformat(f["last_signal"]) >= first]
    cluster = None
    if hits:
        hit = min(hits, key=lambda f: f["detected"])
        cluster = {"detected": hit["detected"], "start": hit["start"], "cases": hit["cases"], "methods": hit["methods"],
                   "days_after_first_diagnosis": (date.fromisoformat(hit["detected"]) - first).days}
    others = Counter(f["disease"] for district, f in alerts if f not in hits)
    return {"seed": seed, "size": size, "truth": truth, **counted, "store_s": round(stored - started, 1),
            "workflow_s": round(done - stored, 1), "cluster_alerts": len(hits), "cluster": cluster,
            "cluster_incidents": [{name: f[name] for name in ("start", "detected", "last_signal", "cases", "methods")}
                                  for f in sorted(hits, key=lambda f: f["detected"])],
            "other_alerts": dict(sorted(others.items())), "superseded": superseded,
            "influenza_alerts": sorted((district, f["start"], f["detected"], f["last_signal"], f["cases"], f["methods"])
                                       for district, f in alerts if f["disease"] == "301")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="small", choices=("small", "full"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[20251205])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--settings", choices=("table", "plain", "both"), default="table")
    args = parser.parse_args(argv)
    results = []
    for seed in args.seeds:
        for which in ("plain", "table") if args.settings == "both" else (args.settings,):
            with tempfile.TemporaryDirectory() as folder, detector_settings(which):
                results.append({"settings": which, **run(seed, args.size, Path(folder))})
            print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "outbreak_workflow.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
