"""``python -m bench.region --out bench/results [--size small|full]``: the synthetic region through the exchange.

1. the yardstick, before: RSA-2048 private-key ops/s on one core (``bench.stages.crypto_floor``, as
   ``bench.run`` and ``bench.records`` quote it) and the seal floor: region documents signed and
   encrypted per second in one process (SubmitBatch requests of 200 of RH01's documents, sealed by
   ``bench.exchange.seal_batch``, the member's whole cryptographic work and nothing else);
2. the region generated (``region.generate``), seconds per stage;
3. loaded with ``hie region load``'s ``load_region``: prepare, hub start, send (docs/s), the
   processor's drain, the ETL (fact rows/s);
4. loaded again into the same data directory: the resume (nothing may be sent, the inbox may not grow);
5. the yardstick, after;
6. ``OUT/region.json``, a table on stdout, and this bench's section of ``bench/RESULTS.md`` replaced.

Exit status 1 when the resume sent anything or stored anything twice, or the hub does not hold
every message the region sends (less those refused at the door).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from . import run as bench_run
from . import stages as st
from .exchange import seal_batch
from .resultsmd import RESULTS, write_section

HEADING = "The synthetic region through the exchange (`bench.region`)"
SEAL_MEMBER = "RH01"  # the biggest sender: a hospital (its signing key: region.load.KEY_TYPES)
DEFAULT_SEED = 20251205  # hie region generate's default


def seal_floor(seed: int, *, seconds: float = 2.0, batch: int = 200) -> dict:
    """Region documents signed + encrypted per second in one process: RH01's first ``batch``
    documents as one SubmitBatch, sealed again and again for about ``seconds``."""
    from certs import PkiPaths, init_pki, issue_member
    from certs.layout import MemberPaths
    from protocol.credentials import Credentials, load_certificate
    from region import Generated, plan
    from region.load import HUB_NAME, KEY_TYPES, message_id

    generated = Generated.build(seed=seed, size="small")
    member = generated.region.institution(SEAL_MEMBER)
    year, month = generated.periods[0]
    events = plan(generated.region, generated.pools(), member, seed=seed, year=year, month=month)[:batch]
    documents = [(message_id(seed, event), event.render(generated.region)) for event in events]
    with tempfile.TemporaryDirectory(prefix="bench-region-pki-") as tmp:
        init_pki(tmp, hub_name=HUB_NAME)
        issue_member(tmp, member=member.code, member_name=member.name, key_type=KEY_TYPES.get(member.kind, "rsa-2048"))
        paths, mine = PkiPaths.of(tmp), MemberPaths.of(tmp, member.code)
        credentials, hub_cert = Credentials.from_files(mine.cert, mine.key), load_certificate(paths.hub_enc_cert)
        sealed = size = 0
        spent = 0.0
        while spent < seconds or sealed < 2 * len(documents):
            items = [(mid, copy.deepcopy(document)) for mid, document in documents]  # seal_batch takes them over
            started = time.perf_counter()
            size = len(seal_batch(items, credentials=credentials, hub_cert=hub_cert, to="http://127.0.0.1/soap/exchange"))
            spent += time.perf_counter() - started
            sealed += len(items)
    return {"docs_per_s": round(sealed / spent, 1), "documents_per_request": len(documents),
            "request_bytes": size, "member": member.code, "key_type": KEY_TYPES.get(member.kind, "rsa-2048")}


def yardstick(seed: int, seconds: float) -> dict:
    """The machine's speed now: the RSA floor (one core) and the seal floor of region documents."""
    rsa = st.crypto_floor(seconds, parallel=1)
    return {"rsa2048_private_ops_per_s": rsa["rsa2048_private_ops_per_s"],
            "ecdsa_p256_signs_per_s": rsa["ecdsa_p256_signs_per_s"], "seal": seal_floor(seed, seconds=seconds * 2)}


def generate_region(out: Path, *, seed: int, size: str) -> dict:
    """Write the region; seconds and counts per stage, and its manifest."""
    from region import generate

    stages: dict = {}

    def report(stage: str, counts: dict, seconds: float) -> None:
        stages[stage] = {"seconds": round(seconds, 2), "counts": counts}
        print(f"generate  {stage:<9} {seconds:6.1f} s  " + ", ".join(f"{n:,} {what}" for what, n in counts.items()
                                                                        if isinstance(n, int)), flush=True)

    started = time.perf_counter()
    manifest = generate(out, seed=seed, size=size, report=report)
    return {"stages": stages, "seconds": round(time.perf_counter() - started, 2), "manifest": manifest}


def inbox(data_dir: Path) -> dict[str, int]:
    """The hub's messages by status (``rejected:<code>`` per code) and their total."""
    from region.load import outcomes

    counts, _ = outcomes(data_dir)
    return {"total": sum(counts.values()), **dict(sorted(counts.items()))}


def load(region_dir: Path, data_dir: Path, *, workers: int) -> dict:
    """``load_region`` once (its own lines go to stdout); figures per stage as rates."""
    from hub.cli.region_load import load_region

    started = time.perf_counter()
    figures = load_region(region_dir, data_dir, workers=workers)
    total = time.perf_counter() - started
    sent, send_s = figures["send"]
    left, drain_s = figures["processing"]
    rows, etl_s = figures["etl"]
    return {"seconds": round(total, 1), "prepare_s": round(figures["prepare"], 2),
            "hub_start_s": round(figures["hub start"], 2),
            "send": {"documents": sent, "seconds": round(send_s, 1), "docs_per_s": round(sent / send_s, 1) if sent else 0.0},
            "processing": {"left_after_send": left, "drain_s": round(drain_s, 1)},
            "etl": {"rows": rows, "seconds": round(etl_s, 2), "rows_per_s": round(rows / etl_s) if rows else 0}}


def measure(*, size: str, seed: int, workers: int, work: Path, floor_seconds: float) -> dict:
    """Every stage of the bench in ``work`` (the region's files and the hub's data directory)."""
    report: dict = {"size": size, "seed": seed, "workers": workers, "machine": bench_run.machine_facts(),
                    "code": bench_run.code_fingerprint(), "started_at": _now()}
    print("yardstick before …", flush=True)
    before = yardstick(seed, floor_seconds)
    region_dir, data_dir = work / "region", work / "data"
    report["generate"] = generate_region(region_dir, seed=seed, size=size)
    counts = report["generate"]["manifest"]["counts"]
    report["region"] = {key: counts[key] for key in ("residents", "households", "visits", "records") if key in counts}
    report["region"]["documents_by_kind"] = counts.get("documents", {})
    report["load"] = load(region_dir, data_dir, workers=workers)
    report["inbox_after_load"] = inbox(data_dir)
    report["resume"] = load(region_dir, data_dir, workers=workers)
    report["inbox_after_resume"] = inbox(data_dir)
    print("yardstick after …", flush=True)
    after = yardstick(seed, floor_seconds)
    report["yardstick"] = {"before": before, "after": after}
    report["machine"]["loadavg_at_end"] = [round(v, 2) for v in os.getloadavg()]
    report["ended_at"] = _now()
    report["checks"] = checks(report)
    report["ratios"] = ratios(report)
    return report


def checks(report: dict) -> dict:
    """What must hold: everything sent reached the inbox once; the resume sent and stored nothing."""
    sent = report["load"]["send"]["documents"]
    stored = report["inbox_after_load"]["total"]
    return {"every_document_sent": sent == report["region"]["records"],
            "inbox_holds_what_was_sent": stored <= sent and stored > 0,
            "resume_sent_nothing": report["resume"]["send"]["documents"] == 0,
            "resume_stored_nothing": report["inbox_after_resume"]["total"] == stored}


def ratios(report: dict) -> dict:
    """The send rate against the yardstick (means of before and after), to compare runs of two hosts."""
    sticks = report["yardstick"]["before"], report["yardstick"]["after"]
    rsa = sum(s["rsa2048_private_ops_per_s"] for s in sticks) / 2
    seal = sum(s["seal"]["docs_per_s"] for s in sticks) / 2
    docs = report["load"]["send"]["docs_per_s"]
    cores = report["machine"]["cores"]
    return {"rsa_ops_per_s_mean": round(rsa), "seal_docs_per_s_mean": round(seal, 1),
            "send_over_seal_floor": round(docs / seal, 3), "send_over_rsa_ops_all_cores": round(docs / (rsa * cores), 3)}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def summary_lines(report: dict) -> list[str]:
    """The table printed on stdout and written into RESULTS.md (markdown)."""
    gen, load_, resume, region = report["generate"], report["load"], report["resume"], report["region"]
    b, a = report["yardstick"]["before"], report["yardstick"]["after"]
    machine = report["machine"]
    cpu = machine["cpu"]
    stages = ", ".join(f"{name} {values['seconds']:.1f} s" for name, values in gen["stages"].items())
    statuses = ", ".join(f"{n:,} {status}" for status, n in report["inbox_after_load"].items() if status != "total")
    processed = report["inbox_after_load"]["total"]
    busy = load_["send"]["seconds"] + load_["processing"]["drain_s"]
    return [
        f"Run of {report['started_at'][:16].replace('T', ' ')}–{report['ended_at'][11:16]} UTC, `python -m bench.region "
        f"--size {report['size']}` (seed {report['seed']}, {report['workers']} sending processes); "
        f"{machine['cores']} cores, \"{cpu['model']}\" family {cpu['family']} model {cpu['model_number']} "
        f"({', '.join(cpu['flags'])}); load average {machine['loadavg_at_start'][0]} before, "
        f"{machine['loadavg_at_end'][0]} after.",
        "",
        f"Region: {region.get('residents', 0):,} residents, {region.get('visits', 0):,} outpatient visits, "
        f"{region.get('records', 0):,} documents to send.",
        "",
        "| stage | figure |",
        "|---|---|",
        f"| generate | {gen['seconds']:.1f} s ({stages}) |",
        f"| prepare (PKI, member certificates, registry) | {load_['prepare_s']:.1f} s |",
        f"| hub start | {load_['hub_start_s']:.1f} s |",
        f"| send (signed, encrypted SubmitBatch, members in parallel) | **{load_['send']['docs_per_s']:,.0f} docs/s** "
        f"({load_['send']['documents']:,} in {load_['send']['seconds']:.1f} s) |",
        f"| processing drain after the send | {load_['processing']['left_after_send']:,} left, drained in "
        f"{load_['processing']['drain_s']:.1f} s; {processed / busy:,.0f} messages/s from the first send to the "
        f"last processed |",
        f"| ETL (one incremental run) | {load_['etl']['rows_per_s']:,} fact rows/s ({load_['etl']['rows']:,} in "
        f"{load_['etl']['seconds']:.1f} s) |",
        f"| whole load | {load_['seconds']:.1f} s |",
        f"| resume (the same load again) | {resume['seconds']:.1f} s: {resume['send']['documents']:,} documents "
        f"sent; the ETL rewrote {resume['etl']['rows']:,} rows (its window starts 60 s before the last one ended: "
        f"the same facts replaced, none added); hub start {resume['hub_start_s']:.1f} s |",
        f"| the hub's messages | {statuses} |",
        f"| yardstick before / after | RSA-2048 {b['rsa2048_private_ops_per_s']:,} / {a['rsa2048_private_ops_per_s']:,} "
        f"ops/s (one core); seal floor {b['seal']['docs_per_s']:,.0f} / {a['seal']['docs_per_s']:,.0f} region "
        f"docs/s (one process) |",
        f"| send ÷ seal floor; ÷ (RSA ops/s × cores) | {report['ratios']['send_over_seal_floor']}; "
        f"{report['ratios']['send_over_rsa_ops_all_cores']} |",
        f"| checks | {', '.join(f'{k} {v}' for k, v in report['checks'].items())} |",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", choices=("small", "full"), default="full")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--workers", type=int, default=2, help="sending processes (hie region load --workers)")
    parser.add_argument("--floor-seconds", type=float, default=1.0, help="per yardstick measurement")
    parser.add_argument("--keep", type=Path, default=None, help="keep the region and the hub's data here")
    parser.add_argument("--results-md", type=Path, default=RESULTS, help="whose section to replace ('-': none)")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="hie-bench-region-"))
    try:
        report = measure(size=args.size, seed=args.seed, workers=args.workers, work=work,
                         floor_seconds=args.floor_seconds)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "region.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    lines = summary_lines(report)
    print("\n".join(lines))
    if str(args.results_md) != "-":
        write_section(HEADING, "\n".join(lines), args.results_md)
    return 0 if all(report["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
