"""``python -m bench.mpi --out bench/results [--persons 50000] [--months 12]``: MPI quality and speed.

1. quality: the synthetic region's residents (``region.generate_people``; 50,000 and a year of care
   are the full region) and the patient block of every outpatient visit's document as its member
   typed it, with the true person of each (``bench.region_records``); every record resolved in
   arrival order through ``resolve_many`` (batches of ``--batch``, one transaction each) on a fresh
   SQLite file; pairwise precision / recall of the resulting person assignment against truth,
   overall and for the records without a resident ID;
2. speed by path, on fresh files, on a smaller region of ``--speed-persons`` residents (another
   seed): records that all carry a resident ID (deterministic path) and records that carry none
   (probabilistic path); µs per record inside ``resolve_many`` and with the commit;
3. identity over every record SENT (issue 23), on ``tests/support/population.py`` with ``FIELD_RATES``
   (``--sent-persons``; mistyped, full-width and lower-case-x resident IDs, full-width phones, no IDs,
   homophones, day/month swaps, twins, shared household phones): each record goes through what the
   hub does before the index (``schemas.normalize`` spelling, then ``probe_of``'s refusal of a
   patient with no identity); a refused record is a cluster of its own (its links are missed), and
   pairwise precision / recall count every record sent. Also the same stream as the hub treated it
   before (every record with a resident ID failing its check, or not ASCII, refused);
4. ``OUT/mpi.json`` and a short table on stdout. Exit status 1 if a quality goal is missed.
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from hub.mpi import AUTO_LINK_THRESHOLD, REVIEW_THRESHOLD, is_valid_resident_id, resolve_many
from hub.mpi.matching import ID_NEAR_MISS
from hub.mpi.traits import probe_of
from schemas.normalize import resident_id_spelled, spelled
from protocol.errors import RecordError
from hub.store.db import make_engine, session_factory, transaction
from hub.store.models import Base

from region.people import ErrorRates

from .region_records import RegionPopulation, read_population

ROOT = Path(__file__).resolve().parent.parent

GOALS = {"precision": 0.99, "recall": 0.97, "known_resident_id_us_per_record": 100.0}
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)  # after the region's year of care


def _pairs(sizes) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def pairwise(truth: list[int], predicted: list[int]) -> dict:
    """Pairwise precision and recall of a clustering of records against the true clustering."""
    both = Counter(zip(truth, predicted))
    true_pairs, predicted_pairs, common = _pairs(Counter(truth).values()), _pairs(Counter(predicted).values()), _pairs(both.values())
    return {"precision": common / predicted_pairs if predicted_pairs else 1.0,
            "recall": common / true_pairs if true_pairs else 1.0,
            "true_pairs": true_pairs, "predicted_pairs": predicted_pairs, "correct_pairs": common}


def run(url: str, population, *, batch: int = 100) -> dict:
    """Resolve every record in arrival order; return assignments, decisions and timings."""
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    sessions = session_factory(engine)
    records = population.records
    resolutions, inside = [], 0.0
    gc.collect()
    started = time.perf_counter()
    for start in range(0, len(records), batch):
        items = [(r.institution, r.traits) for r in records[start:start + batch]]
        with transaction(sessions) as session:
            t0 = time.perf_counter()
            resolutions += resolve_many(session, items=items, now=NOW)
            inside += time.perf_counter() - t0
    total = time.perf_counter() - started
    with sessions() as session:
        connection = session.connection()
        reviews = connection.exec_driver_sql("SELECT COUNT(*) FROM mpi_review").scalar_one()
        reasons = dict(connection.exec_driver_sql("SELECT COALESCE(reason, ''), COUNT(*) FROM mpi_review "
                                                  "GROUP BY reason ORDER BY reason").all())
        merges = connection.exec_driver_sql("SELECT COUNT(*) FROM mpi_merge").scalar_one()  # the reverse near-miss's
    engine.dispose()
    return {"resolutions": resolutions, "seconds_inside": inside, "seconds_total": total, "reviews": reviews,
            "review_reasons": reasons, "merges": merges}


def evaluate(url: str, population, *, batch: int = 100) -> dict:
    """``population``: persons, and records (truth, institution, traits) in arrival order."""
    result = run(url, population, batch=batch)
    resolutions = result["resolutions"]
    truth = [r.truth for r in population.records]
    predicted = [res.person_id for res in resolutions]
    no_id = [i for i, r in enumerate(population.records) if not any(k == "resident_id" for k, _, _ in r.traits.identifiers)]
    auto = [i for i, res in enumerate(resolutions) if res.decision == "auto"]
    # an auto link into a person whose records are mostly someone else's is a wrong auto link
    owners: dict[int, Counter] = {}
    for t, p in zip(truth, predicted):
        owners.setdefault(p, Counter())[t] += 1
    auto_into_other = sum(1 for i in auto if owners[predicted[i]].most_common(1)[0][0] != truth[i])
    n = len(resolutions)
    return {
        "persons": len(population.persons), "records": n, "seed": population.seed,
        "thresholds": {"auto_link": AUTO_LINK_THRESHOLD, "review": REVIEW_THRESHOLD},
        "all": pairwise(truth, predicted),
        "without_resident_id": pairwise([truth[i] for i in no_id], [predicted[i] for i in no_id]) | {"records": len(no_id)},
        "decisions": dict(Counter(res.decision for res in resolutions)),
        "auto_links": len(auto), "auto_links_into_another_persons_cluster": auto_into_other,
        "review_items": result["reviews"], "persons_created": len(set(predicted)),
        "us_per_record_inside": 1e6 * result["seconds_inside"] / n,
        "us_per_record_with_commit": 1e6 * result["seconds_total"] / n,
    }


def as_the_hub_reads(traits):
    """The patient after ``schemas.normalize`` (what ``read_patient`` then sees in the tree)."""
    ids = tuple((kind, root, resident_id_spelled(value) if kind == "resident_id" else spelled(value))
                for kind, root, value in traits.identifiers)
    return traits._replace(identifiers=ids, phone=spelled(traits.phone) if traits.phone else None)


def _refused(traits, *, legacy: bool) -> bool:
    if legacy and any(kind == "resident_id" and not (value.isascii() and is_valid_resident_id(value))
                      for kind, _, value in traits.identifiers):
        return True  # before issue 23: the XSD or the check digit refused the whole document
    try:
        probe_of(as_the_hub_reads(traits))
    except RecordError:
        return True
    return False


def evaluate_sent(url: str, population, *, batch: int = 100, legacy: bool = False) -> dict:
    """Pairwise precision / recall over every record sent; a refused record links to nothing."""
    refused = [_refused(r.traits, legacy=legacy) for r in population.records]
    accepted = [dataclasses.replace(r, traits=as_the_hub_reads(r.traits))
                for r, no in zip(population.records, refused) if not no]
    result = run(url, dataclasses.replace(population, records=accepted), batch=batch)
    resolved = iter(result["resolutions"])
    predicted = [-(i + 1) if no else next(resolved).person_id for i, no in enumerate(refused)]
    truth = [r.truth for r in population.records]
    typed_ids = [next((v for k, _, v in r.traits.identifiers if k == "resident_id"), None) for r in population.records]
    invalid = [i for i, v in enumerate(typed_ids) if v and not is_valid_resident_id(resident_id_spelled(v))]
    decisions = Counter(res.decision for res in result["resolutions"])
    members: dict[int, Counter] = {}
    for t, p in zip(truth, predicted):
        members.setdefault(p, Counter())[t] += 1
    own = sum(1 for i in invalid if members[predicted[i]][truth[i]] > 1)  # shares its person with a true sibling
    wrong = sum(1 for i in invalid if len(members[predicted[i]]) > 1)    # shares it with another's record
    return {"records": len(truth), "refused": sum(refused), "all": pairwise(truth, predicted),
            "with_invalid_resident_id": {"records": len(invalid), "linked_to_own_person": own,
                                         "in_a_cluster_with_another_person": wrong},
            "decisions": dict(decisions), "review_items": result["reviews"],
            "review_reasons": result["review_reasons"], "near_miss_merges": result["merges"],
            "us_per_record_inside": 1e6 * result["seconds_inside"] / max(1, len(accepted))}


def identity(persons: int, workdir: Path, *, seed: int, batch: int) -> dict:
    """``evaluate_sent`` on a FIELD_RATES population, as the hub does now and as it did before."""
    from tests.support.population import FIELD_RATES, generate

    population = generate(persons, seed=seed, rates=FIELD_RATES)
    return {"persons": persons, "seed": seed, "error_rates": dataclasses.asdict(FIELD_RATES),
            "id_near_miss_weight": ID_NEAR_MISS,
            "now": evaluate_sent(f"sqlite:///{workdir}/sent.db", population, batch=batch),
            "before": evaluate_sent(f"sqlite:///{workdir}/sent-before.db", population, batch=batch, legacy=True)}


def _timed(sessions, records, batch: int) -> tuple[float, float, Counter]:
    inside, decisions = 0.0, Counter()
    gc.collect()
    started = time.perf_counter()
    for start in range(0, len(records), batch):
        items = [(r.institution, r.traits) for r in records[start:start + batch]]
        with transaction(sessions) as session:
            t0 = time.perf_counter()
            decisions.update(res.decision for res in resolve_many(session, items=items, now=NOW))
            inside += time.perf_counter() - t0
    return inside, time.perf_counter() - started, decisions


def speed(population: RegionPopulation, workdir: Path, *, batch: int) -> dict:
    """µs per record by path, each on a fresh SQLite file.

    ``new_person_with_resident_id``: the first record of each person, all with a resident ID (an
    unknown ID still needs the probabilistic search before a person is created);
    ``known_resident_id``: every later record of those persons (identifier link or existing record);
    ``no_resident_id``: the whole stream with resident IDs removed (probabilistic path throughout).
    """
    with_id, without_id = [], []
    resident_ids = population.resident_ids()
    for r in population.records:
        others = tuple(i for i in r.traits.identifiers if i[0] != "resident_id")
        rid = ("resident_id", "2.16.156.10011.1.3", resident_ids[r.truth])
        with_id.append(dataclasses.replace(r, traits=r.traits._replace(identifiers=(rid,) + others)))
        without_id.append(dataclasses.replace(r, traits=r.traits._replace(identifiers=others)))
    seen, firsts, later = set(), [], []
    for r in with_id:
        (later if r.truth in seen else firsts).append(r)
        seen.add(r.truth)
    out = {}
    for label, phases in (("with_resident_id", (("new_person_with_resident_id", firsts), ("known_resident_id", later))),
                          ("without_resident_id", (("no_resident_id", without_id),))):
        engine = make_engine(f"sqlite:///{workdir}/{label}.db")
        Base.metadata.create_all(engine)
        sessions = session_factory(engine)
        for phase, records in phases:
            inside, total, decisions = _timed(sessions, records, batch)
            n = len(records)
            out[phase] = {"records": n, "us_per_record_inside": 1e6 * inside / n,
                          "us_per_record_with_commit": 1e6 * total / n, "records_per_s_inside": n / inside,
                          "decisions": dict(decisions)}
        engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--persons", type=int, default=50_000, help="the region's residents (50,000: the full region)")
    parser.add_argument("--months", type=int, default=12, help="months of care from January (their visits' records)")
    parser.add_argument("--speed-persons", type=int, default=5_000)
    parser.add_argument("--sent-persons", type=int, default=20_000, help="the FIELD_RATES population (identity)")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20251205, help="the region's seed (hie region generate's default)")
    parser.add_argument("--processes", type=int, default=2, help="processes that render the documents")
    parser.add_argument("--identity-only", action="store_true",
                        help="only part 3 (identity over every record sent), written to OUT/mpi-identity.json")
    args = parser.parse_args(argv)
    if args.identity_only:
        return _identity_only(args)
    t0 = time.perf_counter()
    population = read_population(args.persons, seed=args.seed, months=args.months, processes=args.processes)
    generated = time.perf_counter() - t0
    print(f"the region's records: {len(population.records):,} of {len(population.persons):,} residents over "
          f"{args.months} months, read in {generated:.1f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-mpi-") as tmp:
        quality = evaluate(f"sqlite:///{tmp}/quality.db", population, batch=args.batch)
        speeds = speed(read_population(args.speed_persons, seed=args.seed + 1, months=args.months,
                                       processes=args.processes), Path(tmp), batch=args.batch)
        sent = identity(args.sent_persons, Path(tmp), seed=args.seed, batch=args.batch)
    report = {"generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "synthetic": True,
              "population": {"source": "the synthetic region (region.generate_people, the visits' documents)",
                             "residents": len(population.persons), "months": args.months, "seed": args.seed,
                             "speed_residents": args.speed_persons},
              "error_rates": dataclasses.asdict(ErrorRates()), "generation_seconds": generated,
              "batch": args.batch, "quality": quality, "speed": speeds, "identity_over_all_sent": sent,
              "goals": GOALS}
    met = {"precision": quality["all"]["precision"] >= GOALS["precision"],
           "recall": quality["all"]["recall"] >= GOALS["recall"],
           "known_resident_id_us_per_record": speeds["known_resident_id"]["us_per_record_inside"]
           <= GOALS["known_resident_id_us_per_record"],
           "sent_precision": sent["now"]["all"]["precision"] >= GOALS["precision"],
           "sent_recall": sent["now"]["all"]["recall"] >= GOALS["recall"]}
    report["goals_met"] = met
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "mpi.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    q = quality
    print(f"population: the synthetic region, {q['persons']:,} residents, {q['records']:,} visit records over "
          f"{args.months} months, seed {q['seed']}; speed on {args.speed_persons:,} residents")
    print(f"pairwise precision {q['all']['precision']:.4f}  recall {q['all']['recall']:.4f}"
          f"  (without resident ID: {q['without_resident_id']['precision']:.4f} / {q['without_resident_id']['recall']:.4f})")
    print(f"decisions {q['decisions']}  review items {q['review_items']}  wrong-cluster auto links "
          f"{q['auto_links_into_another_persons_cluster']}")
    print(f"mixed stream {q['us_per_record_inside']:.0f} µs/record in resolve_many, {q['us_per_record_with_commit']:.0f} with commit")
    for label, s in speeds.items():
        print(f"{label:28s} {s['us_per_record_inside']:.0f} µs/record ({s['records_per_s_inside']:.0f}/s), "
              f"{s['us_per_record_with_commit']:.0f} with commit")
    _print_identity(sent, args.sent_persons)
    print("goals met:", met)
    return 0 if all(met[k] for k in ("precision", "recall", "sent_precision", "sent_recall")) else 1


def _print_identity(sent: dict, persons: int) -> None:
    for label in ("now", "before"):
        e = sent[label]
        print(f"all {e['records']:,} records sent ({persons:,} persons, FIELD_RATES), {label}: precision "
              f"{e['all']['precision']:.4f} recall {e['all']['recall']:.4f}, refused {e['refused']}, "
              f"invalid IDs {e['with_invalid_resident_id']}, decisions {e['decisions']}, reviews "
              f"{e['review_reasons']}, near-miss merges {e['near_miss_merges']}")


def _identity_only(args) -> int:
    """``--identity-only``: part 3 alone (a minute or two at 20,000 persons)."""
    with tempfile.TemporaryDirectory(prefix="bench-mpi-") as tmp:
        sent = identity(args.sent_persons, Path(tmp), seed=args.seed, batch=args.batch)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "mpi-identity.json").write_text(json.dumps(
        {"generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "synthetic": True,
         "identity_over_all_sent": sent}, indent=2, ensure_ascii=False) + "\n")
    _print_identity(sent, args.sent_persons)
    met = sent["now"]["all"]["precision"] >= GOALS["precision"] and sent["now"]["all"]["recall"] >= GOALS["recall"]
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
