"""The demo's analytics part: the hub's own ETL has loaded the mart; the bureau asks two cube queries.

The bureau (BUREAU, a registry organization of kind ``bureau``) gets a bearer token and asks the
JSON cube API (``POST /api/cubes/{cube}/query``) for exchange health per member — counts of
messages, not of persons, so nothing is withheld — and for 诊疗人次 and charge per visit last month,
per district and per institution. The synthetic visits (demo_visits.py) put a dozen visits in each
institution's month, above the small-cell threshold; a cell below it would still come back withheld.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
import requests

from .demo_visits import periods


def run_analytics_demo(*, data_dir: Path, base_url: str, since: datetime) -> None:
    from etl.jobs import status as etl_status

    from ..auth import issue
    from ..settings import Settings
    from ..store.db import make_engine, session_factory, transaction

    engine = make_engine(Settings.load(data_dir).db_url)
    sessions = session_factory(engine)
    try:
        with transaction(sessions) as session:
            token = issue(session, member="BUREAU", label="demo analyst", now=datetime.now(timezone.utc))
        run = _wait_for_etl(sessions, etl_status, since)
    finally:
        engine.dispose()
    click.echo(f"\nanalytics (the hub's ETL run {run['id']} loaded {run['rows_written']} fact rows; "
               "hie etl status shows every run)")
    headers = {"Authorization": f"Bearer {token}"}
    year = {"from": f"{since.year}-01-01", "to": f"{since.year}-12-31"}
    health = requests.post(f"{base_url}/api/cubes/exchange/query", headers=headers, timeout=60, json={
        "measures": ["messages", "rejected"], "indicators": ["rejection_rate"],
        "group_by": ["institution.institution"], "period": year}).json()
    click.echo("  exchange health per member this year (POST /api/cubes/exchange/query, as BUREAU):")
    for cell in health.get("cells", []):
        click.echo(f"    {cell['institution.institution']:<9} messages {cell['messages']:>3}  rejected "
                   f"{cell['rejected']:>2}  rejection rate {cell['rejection_rate']:.1f} %")
    if "cells" not in health:
        click.echo(f"    refused: {health.get('code')}")
    month, following = periods(since)[1]  # last month: a whole month of the synthetic visits
    body = {"measures": ["visits"], "indicators": ["charge_per_visit"], "labels": True,
            "period": {"from": month.date().isoformat(), "to": (following - timedelta(days=1)).date().isoformat()}}
    for level, title in (("institution.district", "district"), ("institution.institution", "institution")):
        answer = requests.post(f"{base_url}/api/cubes/visits/query", headers=headers, timeout=60,
                               json={**body, "group_by": [level], "sort": [{"by": level}]}).json()
        cells = answer.get("cells", [])
        withheld = sum(1 for cell in cells if cell.get("suppressed"))
        click.echo(f"  诊疗人次 and 门诊次均费用 per {title}, {month:%Y-%m} (POST /api/cubes/visits/query): "
                   f"{len(cells)} cells, {withheld} withheld (fewer than "
                   f"{answer.get('suppression', {}).get('threshold', 5)} behind them)")
        names = answer.get("labels", {}).get(level, {})
        for cell in cells:
            code = cell[level]
            label = f"{code} {names.get(code, '')}".strip()
            if cell.get("suppressed"):
                click.echo(f"    {label:<22} withheld")
            else:
                click.echo(f"    {label:<22} visits {cell['visits']:>4}  "
                           f"charge per visit ¥{cell['charge_per_visit']:.2f}")


def _wait_for_etl(sessions, etl_status, since: datetime, timeout: float = 60.0) -> dict:
    """The first ETL run the hub started after ``since`` and finished (it runs every few seconds here)."""
    from etl.models import RunStatus

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in etl_status(sessions, last=5)["runs"]:
            if run["status"] == RunStatus.FINISHED and datetime.fromisoformat(run["started_at"]) > since:
                return run
        time.sleep(0.5)
    raise click.ClickException("the hub's ETL did not run (see the hub's log)")
