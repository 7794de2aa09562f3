"""``python -m bench.console --out DIR [--rows 10000000]``: the console's hospital dashboard at 10 M visit facts.

1. Builds an embedded chDB mart with ``bench.cubes``' generator (``--rows`` visit facts: a scaled copy of
   the synthetic region's visits, ``bench.region_facts``; half as many
   prescription lines, the rollups through ``olap.rollups.refresh``), plus inpatient stays (a
   twentieth of the visits, with their month rollups) and every institution's monthly statistics, so all
   six charts have data.
2. Opens a hub on SQLite whose registry holds the same institutions (14 per copy of the region) in 13 districts, adds two
   console users — a city analyst (330100) and a district analyst (330106) — and serves the real app
   (``create_app``, uvicorn on 127.0.0.1 in this process, the mart opened here as in the tests).
3. Signs in through the login form, then, ``--repeats`` rounds as both users (this month = the month of
   ``bench.cubes.AS_OF``, December 2026; the city analyst's districts, the district analyst's institutions): a finished ETL run is
   recorded (a new mart generation: the web process's answer cache starts empty), the whole page —
   the six ``GET /console/api/hospital/{indicator}`` at once, as the browser asks them — cold, then
   warm; another run, then each endpoint alone cold, then warm. p50 / p95 of each, cold and warm
   apart (the cold figure is the one to judge: the first view after every ETL run).
4. Yardstick, measured in the same run and paired with each cold call (right after it, so the
   machine's load moves both alike): the endpoint's own cube query (this period with its year-ago
   comparison and the period before, folded into one) straight through ``olap.cubes.execute`` with
   the same scope, so what the web and console layers add is visible; for the page, the six charts'
   queries in sequence (the embedded chDB session runs one statement at a time). Target: page p95
   ≤ 300 ms.
5. Writes ``DIR/console.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
from datetime import date
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.cubes import AS_OF, DAYS, SEED, START, _percentiles, build_clickhouse
from bench.region_facts import Scale, institutions, region_visits

ROOT = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 300.0
USERS = {"city": ("analyst", "330100"), "district": ("analyst", "330106")}
# what each one opens: the city's districts; the district's institutions (its start view is one cell)
VIEWS = {"city": "", "district": "&district=330106"}
PASSWORD = "bench console password"  # a throwaway hub in a temporary directory


def _institutions(rows: int):
    """The institutions of ``rows`` visit facts (``bench.cubes``' scaled copy of the region)."""
    return institutions(Scale(len(region_visits(SEED)), rows), SEED)


def _extra_facts(mart, rows: int) -> None:
    """Inpatient stays and institution months, generated in the engine over the visits' institutions."""
    count = len(_institutions(rows))
    institution = f"concat('I', toString(1000 + n % {count}))"
    day = f"toDate('{START}') + toUInt32((n * 7) % {DAYS})"  # spread over both years whatever the count
    mart.execute(
        "INSERT INTO fact_inpatient_stay (fact_key, date, institution_code, source_row_id, document_row_id, "
        "message_row_id, loaded_at, person_key, sex, age_band, department_code, discharge_date, bed_days, "
        "discharge_outcome, primary_diagnosis_code, total_fen, version, deleted) "
        f"SELECT concat('record_stay:', toString(n)), {day}, {institution}, n, n, n, "
        "toDateTime('2026-12-01 00:00:00', 'UTC'), toString((n * 2654435761) % 3000000), toString(n % 2 + 1), "
        f"'45-64', concat('D', toString(n % 6)), {day} + toUInt32(n % 12 + 1), toUInt32(n % 12 + 1), '1', 'I63', "
        f"toInt64(100000 + (n * 37) % 900000), 1, 0 FROM (SELECT number AS n FROM system.numbers LIMIT {rows // 20})")
    months = DAYS // 365 * 12
    mart.execute(
        "INSERT INTO fact_institution_month (fact_key, date, institution_code, source_row_id, document_row_id, "
        "message_row_id, loaded_at, staff_on_duty, approved_beds, open_beds, fixed_assets_fen, outpatient_visits, "
        "inpatient_discharges, revenue_drugs_fen, revenue_examinations_fen, revenue_treatment_fen, "
        "revenue_other_fen, version, deleted) "
        f"SELECT concat('record_stats:', toString(n)), addMonths(toDate('{START}'), toInt32(intDiv(n, {count}))), "
        f"{institution}, n, n, n, toDateTime('2026-12-01 00:00:00', 'UTC'), toUInt32(20 + n % 300), "
        "toUInt32(50 + n % 250), toUInt32(40 + n % 200), toInt64(1000000000 + (n * 7919) % 9000000000), "
        "toUInt32(2000 + (n * 31) % 40000), toUInt32((n * 17) % 900), toInt64(100000000 + (n * 13) % 500000000), "
        "toInt64(50000000 + (n * 11) % 200000000), toInt64(30000000 + (n * 7) % 100000000), toInt64(1000000), 1, 0 "
        f"FROM (SELECT number AS n FROM system.numbers LIMIT {count * months})")
    from olap.rollups import ROLLUPS, fact_of, refresh

    for rollup in ROLLUPS.values():  # as the ETL does after loading stays: their month rollups
        if fact_of(rollup) == "fact_inpatient_stay":
            refresh(mart, rollup, date_from=date.fromisoformat(START), date_to=AS_OF, version=1)


def open_hub(data_dir: Path, table):
    """A hub on SQLite: PKI, registry (the mart's institutions and districts), the two console users."""
    from certs import init_pki
    from hub.registry import HUB_OPERATOR, register_institution, sync_regions
    from hub.runtime import Hub
    from hub.settings import Settings
    from hub.store.db import transaction
    from hub.web.console.users import create
    from protocol.timestamps import utcnow

    init_pki(data_dir / "pki", hub_name="bench")
    settings = Settings(data_dir=data_dir, pki_dir=data_dir / "pki", start_processor=False, etl_interval_s=0)
    hub = Hub.open(settings)
    with transaction(hub.sessions) as session:
        sync_regions(session, actor=HUB_OPERATOR)
        for row in table.itertuples():
            register_institution(session, actor=HUB_OPERATOR, code=row.institution_code, name=row.institution_code,
                                 kind="hospital", level="2", division_code=row.district_code, status="active")
        for username, (role, region) in USERS.items():
            create(session, username=username, password=PASSWORD, role=role, now=utcnow(), region_code=region)
    return settings, hub


def serve(settings, hub, mart):
    """The real app on 127.0.0.1 (uvicorn in a thread of this process, which holds the chDB mart)."""
    import socket

    import uvicorn

    from hub.web.app import create_app

    app = create_app(settings, hub=hub)
    app.state.mart = mart
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the bench hub did not start")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def login(base: str, username: str) -> requests.Session:
    """A browser-like session signed in through the console's login form."""
    client = requests.Session()
    form = client.get(f"{base}/console/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = client.post(f"{base}/console/login", timeout=30, allow_redirects=False,
                         data={"username": username, "password": PASSWORD, "csrf_token": token})
    if answer.status_code != 303:
        raise RuntimeError(f"login of {username} failed: {answer.status_code}")
    return client


def _timed(client: requests.Session, url: str) -> tuple[float, dict]:
    started = time.perf_counter()
    response = client.get(url, timeout=60)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
    return elapsed, response.json()


def _execute(mart, parsed: list, scope) -> float:
    from olap.cubes import execute

    started = time.perf_counter()
    for query in parsed:
        execute(mart, query, scope=scope)
    return (time.perf_counter() - started) * 1000


def new_generation(hub) -> None:
    """A finished ETL run in the OLTP store: the web process's answer cache starts afresh (cold)."""
    from etl.models import EtlRun, RunKind, RunStatus
    from hub.store.db import transaction
    from protocol.timestamps import utcnow

    with transaction(hub.sessions) as session:
        session.add(EtlRun(kind=RunKind.INCREMENTAL.value, status=RunStatus.FINISHED.value, started_at=utcnow(),
                           finished_at=utcnow(), rows_read=0, rows_written=0, rows_rejected=0))


def _page(pool, clients, urls) -> tuple[float, float]:
    """The six charts at once, as the browser asks them: (until the last arrived, the first) in ms."""
    started = time.perf_counter()
    charts = list(pool.map(lambda pair: _timed(pair[0], urls[pair[1]]), zip(clients, urls)))
    return (time.perf_counter() - started) * 1000, min(elapsed for elapsed, _ in charts)


def measure_user(base: str, hub, mart, username: str, repeats: int) -> dict:
    """Each endpoint, then the whole page (six in parallel), as ``username``, cold (the first view after
    a new ETL run: the answer cache is empty) and warm (the same view again); each cold endpoint timing
    paired with the yardstick measured right after it (this machine's load moves both alike)."""
    from hub.web.console.hospital import INDICATORS
    from hub.web.console.users import get_by_name, scope_of, signed_in
    from olap.cubes import parse_query

    clients = [login(base, username) for _ in INDICATORS]
    urls = {i.key: f"{base}/console/api/hospital/{i.key}?unit=month&as_of={AS_OF.isoformat()}{VIEWS[username]}"
            for i in INDICATORS}
    answers = {key: _timed(clients[0], url)[1] for key, url in urls.items()}
    with hub.sessions() as session:
        scope = scope_of(session, signed_in(get_by_name(session, username=username)))
    # the endpoint's own cube query, as it reports it: this period with its year-ago and the period before
    parsed = {key: [parse_query(answer["queries"]["cube"], answer["queries"]["current"], today=AS_OF)]
              for key, answer in answers.items()}
    runs = {"cold": {key: [] for key in urls}, "warm": {key: [] for key in urls}}
    direct: dict[str, list[float]] = {key: [] for key in urls}
    pages = {"cold": [], "warm": []}
    firsts = {"cold": [], "warm": []}
    page_direct = []
    with ThreadPoolExecutor(len(INDICATORS)) as pool:
        for index in range(repeats + 2):  # two rounds of warm-up
            new_generation(hub)
            cold_page, cold_first = _page(pool, clients, urls)
            warm_page, warm_first = _page(pool, clients, urls)
            new_generation(hub)
            this_round = {}
            for key, url in urls.items():
                cold = _timed(clients[0], url)[0]
                warm = _timed(clients[0], url)[0]
                this_round[key] = _execute(mart, parsed[key], scope)
                if index >= 2:
                    runs["cold"][key].append(cold)
                    runs["warm"][key].append(warm)
                    direct[key].append(this_round[key])
            if index >= 2:
                pages["cold"].append(cold_page)
                pages["warm"].append(warm_page)
                firsts["cold"].append(cold_first)
                firsts["warm"].append(warm_first)
                page_direct.append(sum(this_round.values()))
    endpoints = {}
    for key in urls:
        endpoints[key] = {"cold": _percentiles(runs["cold"][key]), "warm": _percentiles(runs["warm"][key]),
                          "yardstick": _percentiles(direct[key]),
                          "cells": len(answers[key]["cells"]), "level": answers[key]["level"]}
        endpoints[key]["cold_p50_over_yardstick"] = round(endpoints[key]["cold"]["p50_ms"]
                                                          / endpoints[key]["yardstick"]["p50_ms"], 2)
        values = endpoints[key]
        print(f"  {username:8s} {key:30s} cold p50 {values['cold']['p50_ms']:7.1f} p95 {values['cold']['p95_ms']:7.1f}"
              f"  warm p95 {values['warm']['p95_ms']:6.1f} ms   yardstick p50 {values['yardstick']['p50_ms']:7.1f}"
              f"  p95 {values['yardstick']['p95_ms']:7.1f} ms  ({values['cells']} cells)", flush=True)
    whole = {"cold": _percentiles(pages["cold"]), "warm": _percentiles(pages["warm"]),
             "first_chart_cold": _percentiles(firsts["cold"]), "first_chart_warm": _percentiles(firsts["warm"]),
             "yardstick_six_in_sequence": _percentiles(page_direct)}
    whole["cold_p50_over_yardstick"] = round(whole["cold"]["p50_ms"] / whole["yardstick_six_in_sequence"]["p50_ms"], 2)
    print(f"  {username:8s} {'whole page (6 in parallel)':30s} cold p50 {whole['cold']['p50_ms']:7.1f} p95 "
          f"{whole['cold']['p95_ms']:7.1f}  warm p50 {whole['warm']['p50_ms']:6.1f} p95 {whole['warm']['p95_ms']:6.1f} ms"
          f"   six in sequence p50 {whole['yardstick_six_in_sequence']['p50_ms']:7.1f}"
          f"  p95 {whole['yardstick_six_in_sequence']['p95_ms']:7.1f} ms; first chart cold p95 "
          f"{whole['first_chart_cold']['p95_ms']:.1f} ms", flush=True)
    return {"endpoints": endpoints, "page": whole, "meets_target_cold": whole["cold"]["p95_ms"] <= TARGET_P95_MS,
            "meets_target_warm": whole["warm"]["p95_ms"] <= TARGET_P95_MS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=10_000_000, help="visit facts (prescription lines: half)")
    parser.add_argument("--repeats", type=int, default=40, help="timed calls of each endpoint and of the page")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from olap import ChdbBackend

    report: dict = {"rows": args.rows, "inpatient_stays": args.rows // 20, "cores": os.cpu_count(),
                    "as_of": AS_OF.isoformat(), "target_page_p95_ms": TARGET_P95_MS, "users": {}}
    with tempfile.TemporaryDirectory(prefix="hie-bench-console-") as tmp:
        mart = ChdbBackend(Path(tmp) / "chdb", database="bench")
        print(f"chdb: building {args.rows:,} visits …", flush=True)
        started = time.perf_counter()
        report["build"] = build_clickhouse(mart, args.rows)
        _extra_facts(mart, args.rows)
        report["build"]["total_s"] = round(time.perf_counter() - started, 1)
        print(f"  built {report['build']}", flush=True)
        settings, hub = open_hub(Path(tmp) / "hub", _institutions(args.rows))
        server, thread, base = serve(settings, hub, mart)
        try:
            report["load_average_before"] = os.getloadavg()
            for username in USERS:
                report["users"][username] = measure_user(base, hub, mart, username, args.repeats)
            report["load_average_after"] = os.getloadavg()
        finally:
            server.should_exit = True
            thread.join(timeout=15)
            mart.close()
            hub.sessions.kw["bind"].dispose()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "console.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(json.dumps({user: values["page"] | {"meets_target_cold": values["meets_target_cold"],
                                              "meets_target_warm": values["meets_target_warm"]}
                      for user, values in report["users"].items()}, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
