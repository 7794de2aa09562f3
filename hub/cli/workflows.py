"""``hie workflows run`` (one pass of the workflows' runner) and ``hie alerts list | ack | close``.

``hie serve``'s processor runs the workflows after its processing ticks by itself; ``workflows run``
is for tests and operators (catch up now, see what each handler did). Alerts acted on here are
recorded with the actor ``operator`` (the hub's operator at its console), with the note given.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from .errors import ROW_ID

_data_dir = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True)
_database_url = click.option("--database-url", default=None, help="SQLAlchemy URL (PostgreSQL in production).")
OPERATOR = "operator"


@click.group()
def workflows() -> None:
    """The workflows over stored documents (docs/workflows.md)."""


@workflows.command("run")
@_data_dir
@_database_url
def workflows_run(data_dir, database_url):
    """Run every workflow handler once over what changed since its watermark."""
    from ..store.lease import DEFAULT_TTL_S, Lease
    from ..workflows.concurrency import LEASE
    from ..workflows.runner import run_pass
    from .store import open_store

    sessions = open_store(data_dir, database_url, create=False)
    settings = (sessions.kw.get("info") or {}).get("settings")
    lease = Lease(sessions, LEASE, ttl_s=getattr(settings, "lease_ttl_s", DEFAULT_TTL_S))
    result = run_pass(sessions, lease=lease)  # one runner writes at a time, a processor's or this one
    if result.busy:
        state = lease.state()
        holder = f" ({state.holder}, until {state.expires_at:%H:%M:%S} UTC)" if state else ""
        raise click.ClickException(f"workflow.busy: another runner holds the lease {LEASE}{holder}; its pass does "
                                   "this work, or try again later")
    for name, count in result.changes.items():
        click.echo(f"{name}: {count} change(s)" + ("  FAILED (retried next pass)" if name in result.failed else ""))
    if result.failed:
        raise click.ClickException(f"workflow.failed: {', '.join(result.failed)} (the operators' log says where)")


@click.group()
def alerts() -> None:
    """Alerts raised by the workflows: list, acknowledge, close."""


@alerts.command("list")
@_data_dir
@_database_url
@click.option("--state", type=click.Choice(["open", "acknowledged", "closed"]), default=None)
@click.option("--kind", default=None, help="An alert kind, e.g. disease.class_a.")
@click.option("--district", default=None, help="A district's division code, e.g. 330102.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per alert.")
def alerts_list(data_dir, database_url, state, kind, district, as_json):
    """Alerts, newest first."""
    from ..workflows import alerts as service
    from .store import open_store

    with open_store(data_dir, database_url, create=False)() as session:
        rows = [service.as_dict(a) for a in service.list_alerts(session, state=state, kind=kind, district=district)]
    if not rows:
        click.echo("no alerts")
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False, sort_keys=True))
        else:
            click.echo(f"{row['id']}  {row['state']:<12}  {row['kind']}  {row['key']}  count {row['count']}  "
                       f"updated {row['updated_at']}  {row['title_zh']}")


def _move(data_dir, database_url, alert_id: int, note: str | None, action) -> None:
    from protocol.errors import HubError
    from protocol.timestamps import utcnow

    from ..store.db import transaction
    from .store import open_store

    try:
        with transaction(open_store(data_dir, database_url, create=False)) as session:
            alert = action(session, alert_id=alert_id, actor=OPERATOR, now=utcnow(), note=note)
            click.echo(f"alert {alert.id}: {alert.state}")
    except HubError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from None


@alerts.command("ack")
@_data_dir
@_database_url
@click.argument("alert_id", type=ROW_ID)
@click.option("--note", default=None, help="Why (kept in the alert's history).")
def alerts_ack(data_dir, database_url, alert_id, note):
    """Acknowledge an open alert."""
    from ..workflows.alerts import acknowledge

    _move(data_dir, database_url, alert_id, note, acknowledge)


@alerts.command("close")
@_data_dir
@_database_url
@click.argument("alert_id", type=ROW_ID)
@click.option("--note", default=None, help="Why (kept in the alert's history).")
def alerts_close(data_dir, database_url, alert_id, note):
    """Close an open or acknowledged alert."""
    from ..workflows.alerts import close

    _move(data_dir, database_url, alert_id, note, close)


__all__ = ["workflows", "alerts"]
