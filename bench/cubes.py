"""``python -m bench.cubes --out DIR [--rows 10000000]``: dashboard cube queries over the region's visits, scaled.

1. Builds ``--rows`` outpatient visit facts as a scaled copy of the synthetic region's visits
   (``bench.region_facts``: the full region's ~308,000 visits of 14 members over 2025, copied into
   institution groups of their own and into 2026, so seasonality, diagnoses, charges and institution
   sizes are the region's) and half as many prescription lines (one per second visit, its drug charge),
   on chDB and on a ClickHouse server started on loopback: the region's rows are inserted once, the
   engine replicates them (one ``INSERT … SELECT`` from them per copy). It loads the institution
   and drug dimensions and builds the rollups with ``olap.rollups.refresh`` (the ETL's own path), then
   waits for the engine's background merges of that bulk load to finish (``settle_s``), so queries are
   timed in a dashboard's steady state.
2. Runs the dashboard queries through ``olap.cubes.execute`` (compile, SQL, suppression, JSON) many
   times each: p50 / p95 / p99. Target: p95 ≤ 100 ms on both engines.
3. Loads the same rows into PostgreSQL (the region's rows copied in, then the same integer formulas
   over ``generate_series``, so the data is identical — checked by comparing one answer) with indexes
   on (date, institution) and (institution, date), runs the same questions in plain SQL, and reports
   PostgreSQL ÷ ClickHouse.
4. Writes ``DIR/cubes.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas as pd

from .region_facts import BASE_COLUMNS, FIRST_DAY, YEARS, Scale, institutions, region_visits

ROOT = Path(__file__).resolve().parents[1]
SEED = 20251205  # the region's (hie region generate's default)
DAYS, START = 730, FIRST_DAY.isoformat()   # the facts span 2025 and 2026
AS_OF = date(2026, 12, 31)
P95_TARGET_MS, RATIO_TARGET = 100.0, 20.0
EXACT_REPEATS = 5  # the reference query over the facts (no rollup) takes seconds: a few runs suffice
BASE_TABLE = "bench_region_visits"

# One formula per replicated column, for ClickHouse and PostgreSQL: ``c`` is the copy, the other names
# the region's row (bench.region_facts.BASE_COLUMNS); fact n = c·B + i.
VISIT_COLUMNS = {
    "institution_code": ("concat('I', toString(1000 + intDiv(c, {years}) * {members} + institution_index))",
                         "'I' || (1000 + (c / {years}) * {members} + institution_index)"),
    "date": (f"toDate('{START}') + toUInt32(day + (c % {{years}}) * 365)",
             f"DATE '{START}' + (day + (c % {{years}}) * 365)::int"),  # 2025 has 365 days: the same date a year on
    "department_code": ("department_code", "department_code"),
    "kind": ("kind", "kind"),
    "person_key": ("toString(intDiv(c, {years}) * 1000000 + person_index)", "((c / {years}) * 1000000 + person_index)::text"),
    "total_fen": ("total_fen", "total_fen"),
    "drug_fen": ("drug_fen", "drug_fen"),
    "sex": ("sex", "sex"),
    "age_band": ("age_band", "age_band"),
    "primary_diagnosis_code": ("primary_diagnosis_code", "primary_diagnosis_code"),
}


def region_base(seed: int = SEED) -> pd.DataFrame:
    """The full region's visits, one row each (planned once per process)."""
    return region_visits(seed)


def _formulas(engine: int, scale: Scale) -> dict[str, str]:
    return {name: sql[engine].format(years=YEARS, members=scale.members) for name, sql in VISIT_COLUMNS.items()}


def _drugs() -> list[str]:
    return pd.read_csv(ROOT / "schemas" / "codes" / "drugs.csv", dtype=str)["code"].tolist()


def insert_visits(mart, rows: int, base: pd.DataFrame) -> None:
    """The region's rows inserted once, then visits and prescription lines replicated inside the engine."""
    scale = Scale(len(base), rows)
    mart.execute(f"DROP TABLE IF EXISTS {BASE_TABLE}")
    mart.execute(f"CREATE TABLE {BASE_TABLE} (i UInt32, institution_index UInt8, day UInt16, department_code String, "
                 "kind String, person_index UInt32, sex String, age_band String, primary_diagnosis_code String, "
                 "total_fen Int64, drug_fen Int64) ENGINE = Memory")
    mart.insert_df(BASE_TABLE, base[list(BASE_COLUMNS)])
    visit = ", ".join(f"{sql} AS {name}" for name, sql in _formulas(0, scale).items())
    for copy in range(scale.copies):  # one statement a copy: a cross join of all of them overflows 18.16's memory
        mart.execute(
            "INSERT INTO fact_outpatient_visit (fact_key, source_row_id, document_row_id, message_row_id, loaded_at, "
            f"version, deleted, {', '.join(VISIT_COLUMNS)}) "
            "SELECT concat('record_encounter:', toString(n)), n, n, n, toDateTime('2026-12-31 00:00:00', 'UTC'), 1, 0, "
            f"{', '.join(VISIT_COLUMNS)} FROM (SELECT c * {scale.base} + i AS n, {visit} FROM "
            f"(SELECT *, toUInt64({copy}) AS c FROM {BASE_TABLE}) AS one_copy) AS replicated WHERE n < {int(rows)}")
    mart.execute(f"DROP TABLE {BASE_TABLE}")
    drugs = _drugs()
    codes = "[" + ", ".join(f"'{code}'" for code in drugs) + "]"
    mart.execute(
        "INSERT INTO fact_medication (fact_key, source_row_id, document_row_id, message_row_id, loaded_at, person_key, sex, "
        "age_band, kind, drug_code, quantity, version, deleted, institution_code, date, amount_fen) "
        "SELECT concat('record_medication:', toString(intDiv(source_row_id, 2))), intDiv(source_row_id, 2), "
        "source_row_id, source_row_id, loaded_at, person_key, sex, age_band, 'prescription', "
        f"arrayElement({codes}, (source_row_id * 31) % {len(drugs)} + 1), 1.0, 1, 0, institution_code, date, drug_fen "
        "FROM fact_outpatient_visit WHERE source_row_id % 2 = 1")


def _dimensions(mart, table: pd.DataFrame) -> None:
    from olap.dimensions import drug_dimension, load_dimension

    codes = table["institution_code"].tolist()
    load_dimension(mart, "dim_institution", pd.DataFrame({
        "institution_code": codes, "department_code": "", "department_name": "", "standard_department_code": "",
        "standard_department_name": "", "institution_name": codes, "kind": table["kind"].tolist(),
        "level": table["level"].tolist(), "parent_institution_code": "", "district_code": table["district_code"].tolist(),
        "district_name": "", "city_code": "330100", "city_name": "杭州市", "status": "active"}), version=1)
    load_dimension(mart, "dim_drug", drug_dimension(), version=1)


def build_clickhouse(mart, rows: int, seed: int = SEED) -> dict:
    from olap import apply_schema
    from olap.rollups import ROLLUPS, refresh

    timings = {}
    base = region_base(seed)
    apply_schema(mart)
    started = time.perf_counter()
    insert_visits(mart, rows, base)
    timings["insert_s"] = round(time.perf_counter() - started, 1)
    _dimensions(mart, institutions(Scale(len(base), rows), seed))
    started = time.perf_counter()
    last = pd.Timestamp(START) + pd.Timedelta(days=DAYS - 1)
    for rollup in ROLLUPS.values():
        refresh(mart, rollup, date_from=date.fromisoformat(START), date_to=last.date(), version=1)
    timings["rollups_s"] = round(time.perf_counter() - started, 1)
    timings["settle_s"] = _settle(mart)
    return timings


def _settle(mart, limit_s: float = 180.0) -> float:
    """Wait until the engine's background merges of the bulk load are done (at most ``limit_s``):
    the queries are timed in the steady state a dashboard sees, not against a 10 M-row merge."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        if not int(mart.query_df("SELECT count() AS n FROM system.merges")["n"].iloc[0]):
            break
        time.sleep(0.5)
    return round(time.perf_counter() - started, 1)


def dashboard_queries() -> dict[str, tuple[str, dict]]:
    """The questions a bureau dashboard asks (name -> cube, query body), all as of 31 December 2026 (AS_OF)."""
    last_12 = {"last": 12, "unit": "month"}
    return {
        "institution_x_month": ("visits", {"measures": ["visits", "total_fen"], "indicators": ["charge_per_visit"],
                                           "group_by": ["institution.institution", "date.month"], "period": last_12}),
        "district_x_week": ("visits", {"measures": ["visits"], "indicators": ["drug_cost_per_visit"],
                                       "group_by": ["institution.district", "date.week"],
                                       "period": {"last": 12, "unit": "week"}}),
        "top_10_drugs": ("prescriptions", {"measures": ["amount_fen", "lines"], "group_by": ["drug.drug"],
                                           "period": last_12, "sort": [{"by": "amount_fen", "desc": True}],
                                           "top": 10}),
        "this_year_vs_last_year": ("visits", {"measures": ["visits"], "indicators": ["charge_per_visit"],
                                              "group_by": ["date.month"], "period": {"this": "year"},
                                              "compare": "year_ago"}),
        "exact_persons_district_x_month": ("visits", {"measures": ["persons"], "group_by": [
            "institution.district", "date.month"], "period": last_12}),
    }


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    pick = (lambda q: ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))])
    return {"n": len(ordered), "p50_ms": round(pick(0.5), 2), "p95_ms": round(pick(0.95), 2),
            "p99_ms": round(pick(0.99), 2), "mean_ms": round(statistics.fmean(ordered), 2)}


def run_cube_queries(mart, repeats: int) -> dict:
    from olap.cubes import execute, parse_query

    results = {}
    for name, (cube, body) in dashboard_queries().items():
        query = parse_query(cube, body, today=AS_OF)
        times = []
        answer = None
        runs = repeats if not name.startswith("exact_") else min(repeats, EXACT_REPEATS)  # seconds each: a few
        for index in range(runs + 3):
            started = time.perf_counter()
            answer = execute(mart, query)
            if index >= 3:  # warm-up: the first reads load marks and the dimension tables
                times.append((time.perf_counter() - started) * 1000)
        results[name] = _percentiles(times) | {"cells": len(answer["cells"]), "sources": answer["sources"],
                                               "period": answer["period"]}
        print(f"  {name:32s} p50 {results[name]['p50_ms']:8.2f}  p95 {results[name]['p95_ms']:8.2f}  "
              f"p99 {results[name]['p99_ms']:8.2f} ms  ({answer['sources']})", flush=True)
    return results


def _pg_sql(periods: dict[str, dict]) -> dict[str, str]:
    def between(name: str) -> str:
        return f"date BETWEEN DATE '{periods[name]['from']}' AND DATE '{periods[name]['to']}'"
    this_year = periods["this_year_vs_last_year"]
    return {
        "institution_x_month": "SELECT institution_code, date_trunc('month', date) AS m, count(*), sum(total_fen) "
                               f"FROM visits WHERE {between('institution_x_month')} GROUP BY 1, 2",
        "district_x_week": "SELECT i.district_code, date_trunc('week', v.date) AS w, count(*), sum(v.drug_fen) "
                           "FROM visits v JOIN institutions i USING (institution_code) "
                           f"WHERE v.{between('district_x_week')} GROUP BY 1, 2",
        "top_10_drugs": "SELECT drug_code, sum(amount_fen) AS amount, count(*) FROM medication "
                        f"WHERE kind = 'prescription' AND {between('top_10_drugs')} GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
        "this_year_vs_last_year": "SELECT date_trunc('month', date), count(*), sum(total_fen) FROM visits WHERE "
                                  f"date BETWEEN DATE '{int(this_year['from'][:4]) - 1}{this_year['from'][4:]}' "
                                  f"AND DATE '{this_year['to']}' GROUP BY 1",
        "exact_persons_district_x_month": "SELECT i.district_code, date_trunc('month', v.date), "
                                          "count(DISTINCT v.person_key) FROM visits v JOIN institutions i "
                                          f"USING (institution_code) WHERE v.{between('exact_persons_district_x_month')}"
                                          " GROUP BY 1, 2",
    }


def run_postgres(rows: int, periods: dict[str, dict], repeats: int, seed: int = SEED) -> dict:
    import psycopg

    from tests.support.pgserver import PostgresServer

    base = region_base(seed)
    scale = Scale(len(base), rows)
    server = PostgresServer()
    server.start()
    try:
        server.create_database("cubes")
        with psycopg.connect(autocommit=True, **server.connect_kwargs("cubes")) as connection:
            started = time.perf_counter()
            connection.execute("CREATE UNLOGGED TABLE base (i bigint, institution_index int, day int, department_code text, "
                               "kind text, person_index bigint, sex text, age_band text, primary_diagnosis_code text, "
                               "total_fen bigint, drug_fen bigint)")
            with connection.cursor() as cursor, cursor.copy(f"COPY base ({', '.join(BASE_COLUMNS)}) FROM STDIN") as copy:
                for row in zip(*(base[name].tolist() for name in BASE_COLUMNS)):
                    copy.write_row(row)
            visit = ", ".join(f"{sql} AS {name}" for name, sql in _formulas(1, scale).items())
            connection.execute(f"CREATE UNLOGGED TABLE visits AS SELECT * FROM (SELECT c * {scale.base} + i AS id, "
                               f"{visit} FROM base CROSS JOIN generate_series(0::bigint, {scale.copies - 1}) AS c) AS v "
                               f"WHERE id < {int(rows)}")
            drugs = "ARRAY[" + ", ".join(f"'{code}'" for code in _drugs()) + "]"
            connection.execute(f"CREATE UNLOGGED TABLE medication AS SELECT id / 2 AS id, 'prescription'::text AS kind, "
                               f"({drugs})[(id * 31) % {len(_drugs())} + 1] AS drug_code, institution_code, date, "
                               "drug_fen AS amount_fen FROM visits WHERE id % 2 = 1")
            connection.execute("DROP TABLE base")
            connection.execute("CREATE TABLE institutions (institution_code text PRIMARY KEY, district_code text)")
            with connection.cursor() as cursor:
                cursor.executemany("INSERT INTO institutions VALUES (%s, %s)", [
                    (row.institution_code, row.district_code) for row in institutions(scale, seed).itertuples()])
            for statement in ("CREATE INDEX ON visits (date, institution_code)",
                              "CREATE INDEX ON visits (institution_code, date)",
                              "CREATE INDEX ON medication (date, drug_code)", "VACUUM ANALYZE"):
                connection.execute(statement)
            load_s = round(time.perf_counter() - started, 1)
            results, answers = {}, {}
            for name, sql in _pg_sql(periods).items():
                times = []
                for index in range(repeats + 1):
                    started = time.perf_counter()
                    answers[name] = connection.execute(sql).fetchall()
                    if index:
                        times.append((time.perf_counter() - started) * 1000)
                results[name] = _percentiles(times)
                print(f"  postgres {name:32s} p50 {results[name]['p50_ms']:9.1f} ms", flush=True)
            version = connection.execute("SHOW server_version").fetchone()[0]
        return {"load_and_index_s": load_s, "queries": results, "version": version,
                "institution_x_month_visits": sum(int(row[2]) for row in answers["institution_x_month"])}
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=10_000_000, help="visit facts (prescription lines: half)")
    parser.add_argument("--repeats", type=int, default=50, help="timed runs of each query on ClickHouse")
    parser.add_argument("--pg-repeats", type=int, default=5, help="timed runs of each query on PostgreSQL")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from olap import ChdbBackend, ServerBackend
    from olap.cubes import execute, parse_query
    from tests.support.chserver import ClickhouseServer

    report: dict = {"rows": args.rows, "prescription_lines": args.rows // 2, "cores": os.cpu_count(),
                    "facts": "a scaled copy of the synthetic region's outpatient visits (bench.region_facts)",
                    "as_of": AS_OF.isoformat(), "targets": {"p95_ms": P95_TARGET_MS, "postgres_ratio": RATIO_TARGET},
                    "engines": {}}
    scale = Scale(len(region_base()), args.rows)
    report["scale"] = {"region_visits": scale.base, "copies": scale.copies, "institution_groups": scale.groups,
                       "institutions": scale.institutions, "years": [2025, 2026]}
    server = ClickhouseServer(max_memory_usage=8_000_000_000)  # the tests' 2 GB is too little for 100 M rows
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="hie-bench-cubes-") as tmp:
            for engine, open_mart in (("chdb", lambda: ChdbBackend(Path(tmp) / "chdb", database="bench")),
                                      ("server", lambda: ServerBackend(server.host, server.tcp_port, database="bench"))):
                mart = open_mart()
                print(f"{engine}: building {args.rows:,} visits …", flush=True)
                built = build_clickhouse(mart, args.rows)
                print(f"  built {built}", flush=True)
                queries = run_cube_queries(mart, args.repeats)
                check = execute(mart, parse_query(*_check_query(), today=AS_OF))["cells"][0]["visits"]
                report["engines"][engine] = {"build": built, "queries": queries, "version": ".".join(
                    map(str, mart.version())), "institution_x_month_visits": check}
                if engine == "server":
                    mart.drop_database()
                mart.close()
    finally:
        server.stop()
    periods = {name: values["period"] for name, values in report["engines"]["chdb"]["queries"].items()}
    if not args.skip_postgres:
        print("postgres: loading the same rows …", flush=True)
        report["postgres"] = run_postgres(args.rows, periods, args.pg_repeats)
        report["same_answer"] = report["postgres"]["institution_x_month_visits"] == \
            report["engines"]["chdb"]["institution_x_month_visits"] == \
            report["engines"]["server"]["institution_x_month_visits"]
    report["summary"] = _summary(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cubes.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(json.dumps(report["summary"], indent=2), flush=True)
    return 0


def _check_query() -> tuple[str, dict]:
    cube, body = dashboard_queries()["institution_x_month"]
    return cube, {"measures": ["visits"], "period": body["period"]}


def _summary(report: dict) -> dict:
    """p95 per dashboard query and engine against the target, and PostgreSQL ÷ ClickHouse (medians)."""
    summary = {}
    for name in dashboard_queries():
        row = {}
        for engine, values in report["engines"].items():
            p95 = values["queries"][name]["p95_ms"]
            row[f"{engine}_p95_ms"] = p95
            if not name.startswith("exact_"):
                row[f"{engine}_meets_p95"] = p95 <= P95_TARGET_MS
            if "postgres" in report:
                row[f"postgres_over_{engine}"] = round(
                    report["postgres"]["queries"][name]["p50_ms"] / values["queries"][name]["p50_ms"], 1)
        if "postgres" in report:
            row["postgres_p50_ms"] = report["postgres"]["queries"][name]["p50_ms"]
        summary[name] = row
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
