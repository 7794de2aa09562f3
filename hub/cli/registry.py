"""``hie registry add | list | import`` (the members the registry knows), ``hie registry population
import | list`` (the bureau's population figures) and ``hie grants issue | revoke | list``
(identified-record access for bureau-role members).

Who may read what is decided by the registry (``hub.records.access``): an unregistered member reads
nothing personal. A bureau sees aggregates; reading identified records needs a grant. The operator
registers members and gives and ends grants here; every change is audited (actor ``hub``). Grants
name members, never persons.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from .errors import ROW_ID

_data_dir = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True)
_database_url = click.option("--database-url", default=None)


@click.group()
def grants() -> None:
    """Identified-record access grants for bureau-role organizations (audited)."""


def _run(data_dir, database_url, action, *, create: bool = True):
    from protocol.errors import HubError

    from ..store.db import transaction
    from .store import open_store

    if database_url is None:
        data_dir.mkdir(parents=True, exist_ok=True)  # a fresh hand-run hub: the registry comes first
    try:
        with transaction(open_store(data_dir, database_url, create=create)) as session:
            return action(session)
    except HubError as error:
        if error.fields.get("row"):
            raise click.ClickException(_where(error)) from None
        field = error.fields.get("field")
        raise click.ClickException(f"{error.code}: {error.message}" + (f" ({field})" if field else "")) from None


@grants.command("issue")
@_data_dir
@_database_url
@click.option("--member", required=True, help="The bureau-role member (registry kind 'bureau').")
@click.option("--days", type=click.IntRange(1, 36_500), default=None,
              help="Expire after this many days (default: until revoked).")
def grants_issue(data_dir, database_url, member, days):
    """Grant MEMBER identified access; prints the grant id."""
    from protocol.timestamps import utcnow

    from ..registry.access import create_grant
    from ..registry.actor import HUB_OPERATOR

    now = utcnow()
    expires = now + timedelta(days=days) if days else None
    grant_id = _run(data_dir, database_url, lambda session: create_grant(
        session, actor=HUB_OPERATOR, member=member, expires_at=expires, now=now).id)
    click.echo(f"grant {grant_id}: {member} may read identified records"
               + (f" until {expires.isoformat(timespec='minutes')}" if expires else " until revoked"))


@grants.command("revoke")
@_data_dir
@_database_url
@click.argument("grant_id", type=ROW_ID)
def grants_revoke(data_dir, database_url, grant_id):
    """End grant GRANT_ID now."""
    from ..registry.access import revoke_grant
    from ..registry.actor import HUB_OPERATOR

    member = _run(data_dir, database_url, lambda session: revoke_grant(
        session, actor=HUB_OPERATOR, grant_id=grant_id).member)
    click.echo(f"grant {grant_id} of {member} revoked")


@grants.command("list")
@_data_dir
@_database_url
@click.option("--active", is_flag=True, help="Only grants in force now.")
def grants_list(data_dir, database_url, active):
    """Every grant (or those in force), oldest first."""
    from protocol.timestamps import utcnow

    from ..registry.access import query_grants

    rows = _run(data_dir, database_url, lambda session: [
        (g.id, g.member, g.granted_at, g.expires_at, g.revoked_at)
        for g in query_grants(session, now=utcnow() if active else None)], create=False)
    for grant_id, member, granted, expires, revoked in rows:
        state = f"revoked {revoked:%Y-%m-%d}" if revoked else (f"expires {expires:%Y-%m-%d}" if expires else "open")
        click.echo(f"{grant_id:>5}  {member:<12} granted {granted:%Y-%m-%d %H:%M}  {state}")
    if not rows:
        click.echo("no grants")


@click.group()
def registry() -> None:
    """Members in the registry (WS/T 790 institution registry): kind, division, status (audited)."""


@registry.command("add")
@_data_dir
@_database_url
@click.option("--code", required=True, help="The member code (the one in its certificate).")
@click.option("--name", required=True)
@click.option("--kind", required=True, help="hospital, community_center, clinic, bureau, cdc, pharmacy, supplier or "
                                             "distributor.")
@click.option("--division", "division_code", required=True, help="GB/T 2260 division code, e.g. 330102.")
@click.option("--level", default=None, help="Hospital grade: 3, 2, 1 or 9.")
@click.option("--parent", "parent_code", default=None, help="The member it belongs to (a station's centre).")
@click.option("--inactive", is_flag=True, help="Register (or set) it as inactive: it reads nothing personal.")
def registry_add(data_dir, database_url, code, name, kind, division_code, level, parent_code, inactive):
    """Register a member, or update its entry."""
    from ..registry.actor import HUB_OPERATOR
    from ..registry.models import EntryStatus
    from ..registry.service import register_institution

    status = (EntryStatus.INACTIVE if inactive else EntryStatus.ACTIVE).value
    _run(data_dir, database_url, lambda session: register_institution(
        session, actor=HUB_OPERATOR, code=code, name=name, kind=kind, division_code=division_code, level=level,
        parent_code=parent_code, status=status))
    click.echo(f"{code}: {kind}, {status}")


@registry.command("import")
@_data_dir
@_database_url
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def registry_import(data_dir, database_url, file):
    """Register the regions, institutions, departments and practitioners of FILE (.csv or .json).

    All or nothing: a bad row is reported (row number and field) and nothing of the file is
    imported. Entries already registered as the file says are left alone, so importing the same
    file again changes nothing. The format: README.md, "Running a hub by hand"; a sample: schemas/examples/registry.csv.
    """
    from protocol.errors import HubError

    from ..registry.actor import HUB_OPERATOR
    from ..registry.importing import import_entries, read_entries

    try:
        entries = read_entries(file.read_bytes(), suffix=file.suffix)
    except HubError as error:
        raise click.ClickException(_where(error)) from None
    counts = _run(data_dir, database_url, lambda session: import_entries(session, actor=HUB_OPERATOR,
                                                                          entries=entries).counts)
    for entry, outcome in counts.items():
        if entry == "region":
            click.echo(f"regions        {outcome['checked']:>4} checked against the divisions code list")
        else:
            click.echo(f"{entry + 's':<14} {outcome['created']:>4} created  {outcome['updated']:>4} updated  "
                       f"{outcome['unchanged']:>4} unchanged")


def _where(error) -> str:
    """``registry.invalid: row 7, field division: <detail>`` — where, and why, never the content."""
    place = ", ".join(filter(None, (error.fields.get("row"), f"field {error.fields['field']}"
                                    if error.fields.get("field") else None)))
    return f"{error.code}: {place}: {error.detail or error.message}"


@registry.group("population")
def population() -> None:
    """The bureau's population figures per district and year (the denominators of rates)."""


@population.command("import")
@_data_dir
@_database_url
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def population_import(data_dir, database_url, file):
    """Load the population figures of FILE (CSV: division_code, year, population, live_births,
    children_under_7, source); they replace the reference figures of the same district and year.

    All or nothing: a bad row is reported (row number and field) and nothing of the file is
    imported. Importing the same file again changes nothing. The mart has them after the next ETL run.
    """
    from protocol.errors import HubError
    from protocol.timestamps import utcnow

    from ..registry.actor import HUB_OPERATOR
    from ..registry.population import import_population, read_population_file

    try:
        rows = read_population_file(file.read_bytes())
    except HubError as error:
        raise click.ClickException(_where(error)) from None
    counts = _run(data_dir, database_url, lambda session: import_population(
        session, actor=HUB_OPERATOR, rows=rows, now=utcnow()))
    click.echo(f"population     {counts.created:>4} created  {counts.updated:>4} updated  "
               f"{counts.unchanged:>4} unchanged")


@population.command("list")
@_data_dir
@_database_url
def population_list(data_dir, database_url):
    """The figures the bureau loaded: division, year, population, live births, children under 7, source."""
    from ..registry.population import query_population

    rows = _run(data_dir, database_url, lambda session: [
        (p.division_code, p.year, p.population, p.live_births, p.children_under_7, p.source)
        for p in query_population(session)], create=False)
    for code, year, people, births, children, source in rows:
        click.echo(f"{code:<7} {year}  {people:>11,}  {births:>9,}  {children:>9,}  {source}")
    if not rows:
        click.echo("no population figures loaded (the reference figures are used)")


@registry.command("list")
@_data_dir
@_database_url
def registry_list(data_dir, database_url):
    """Every registered member: code, kind, division, status, name."""
    from ..registry.checks import MAX_RESULTS
    from ..registry.service import query_institutions

    def every(session):
        found, offset = [], 0
        while page := query_institutions(session, limit=MAX_RESULTS, offset=offset):
            found += [(i.code, i.kind, i.division_code, i.status, i.name) for i in page]
            offset += len(page)
        return found

    rows = _run(data_dir, database_url, every, create=False)
    for code, kind, division, status, name in rows:
        click.echo(f"{code:<12} {kind:<17} {division:<7} {status:<9} {name}")
    if not rows:
        click.echo("no members registered")


__all__ = ["grants", "registry"]
