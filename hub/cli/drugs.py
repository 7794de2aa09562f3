"""``hie drugs trace | recall | recalls | check``: drug traceability and recall from the operator's console.

A recall flagged here is recorded with the actor ``operator`` (the hub's operator acting for the
bureau), audited like one made over the JSON API. ``check`` brings the recalls up to date (the
institutions' confirmations, overdue notices' alerts); the processor does the same on each pass of
the drug workflow and by its clock (at least once a minute), ``check`` is for operators and a hub whose
processor is not running; it also judges the batches whose settle time has passed
(``hub.workflows.drugs.anomalies``).
"""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import click

_data_dir = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True)
_database_url = click.option("--database-url", default=None, help="SQLAlchemy URL (PostgreSQL in production).")
OPERATOR = "operator"


def _fail(error) -> click.ClickException:
    return click.ClickException(f"{error.code}: {error.message}")


@click.group()
def drugs() -> None:
    """Drug batches: where they went, recalls (docs/workflows.md)."""


@drugs.command("trace")
@_data_dir
@_database_url
@click.argument("batch")
@click.option("--drug", default=None, help="The drug's code, if the batch number is known under several.")
def drugs_trace(data_dir, database_url, batch, drug):
    """Where BATCH went and who holds it now (JSON; no patient)."""
    from protocol.errors import HubError

    from ..workflows.drugs import trace
    from .store import open_store

    try:
        with open_store(data_dir, database_url, create=False)() as session:
            found = [trace.as_trace(book) for book in trace.ledgers(session, batch=batch, drug=drug)]
    except HubError as error:
        raise _fail(error) from None
    click.echo(json.dumps(found, ensure_ascii=False, indent=2, sort_keys=True))


@drugs.command("recall")
@_data_dir
@_database_url
@click.argument("batch")
@click.option("--reason", required=True, help="Why the batch is recalled (sent to every affected institution).")
@click.option("--drug", default=None, help="The drug's code, if the batch number is known under several.")
@click.option("--confirm-within-hours", type=click.FloatRange(min=0, max=24 * 90, min_open=True), default=48.0, show_default=True)
def drugs_recall(data_dir, database_url, batch, reason, drug, confirm_within_hours):
    """Recall BATCH: each affected institution is sent a notice naming its own patients."""
    from protocol.errors import HubError
    from protocol.timestamps import utcnow

    from ..store.db import transaction
    from ..workflows.drugs import recall
    from .store import open_store

    try:
        with transaction(open_store(data_dir, database_url, create=False)) as session:
            found = recall.flag(session, batch=batch, drug=drug, reason=reason, actor=OPERATOR, now=utcnow(),
                                confirm_within=timedelta(hours=confirm_within_hours))
            answer = recall.as_dict(session, found)
    except HubError as error:
        raise _fail(error) from None
    click.echo(f"recall {answer['id']}: {answer['drug']} {answer['batch']}, "
               f"{len(answer['institutions'])} institution(s) notified")


@drugs.command("recalls")
@_data_dir
@_database_url
def drugs_recalls(data_dir, database_url):
    """Every recall with each institution's confirmation (JSON lines)."""
    from protocol.timestamps import utcnow

    from ..store.db import transaction
    from ..workflows.drugs import recall
    from .store import open_store

    with transaction(open_store(data_dir, database_url, create=False)) as session:
        recall.sync(session, now=utcnow())
        rows = [recall.as_dict(session, r) for r in recall.list_recalls(session)]
    if not rows:
        click.echo("no recalls")
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False, sort_keys=True))


@drugs.command("check")
@_data_dir
@_database_url
def drugs_check(data_dir, database_url):
    """Judge the settled batches' anomalies, read the recalls' confirmations, raise overdue notices' alerts."""
    from protocol.timestamps import utcnow

    from ..store.db import transaction
    from ..workflows.drugs import anomalies, recall
    from .store import open_store

    sessions = open_store(data_dir, database_url, create=False)
    judged, now = 0, utcnow()
    while True:  # a transaction per JUDGE_BATCH batches: the write lock is held for moments only
        with transaction(sessions) as session:
            if session.scalars(anomalies.due(now=now, limit=1)).first() is None:
                break
            judged += anomalies.judge_due(session, now=now)
    with transaction(sessions) as session:
        changed = recall.sync(session, now=utcnow())
    click.echo(f"{judged} alert(s) raised or updated; {changed} recall notice(s) confirmed or sent to new holders")


__all__ = ["drugs"]
