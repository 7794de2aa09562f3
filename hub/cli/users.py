"""``hie users add | list | disable``: the bureau console's users (docs/console.md).

A user has a role (analyst, operator, institution_admin) and one scope: a registry region
(``--region``, a GB/T 2260 division code) or a registered institution (``--institution``). The
password is read from a prompt (or ``HIE_CONSOLE_PASSWORD`` for scripts), never from the command line.
"""
from __future__ import annotations

from pathlib import Path

import click

_data_dir = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True)
_database_url = click.option("--database-url", default=None)


def _run(data_dir, database_url, action, *, create: bool):
    from protocol.errors import HubError

    from ..store.db import transaction
    from .store import open_store

    try:
        with transaction(open_store(data_dir, database_url, create=create)) as session:
            return action(session)
    except HubError as error:
        field = error.fields.get("field")
        raise click.ClickException(f"{error.code}: {error.detail or error.message}"
                                   + (f" ({field})" if field else "")) from None


@click.group()
def users() -> None:
    """Users of the bureau console (/console/): add, list, disable."""


@users.command("add")
@_data_dir
@_database_url
@click.option("--username", required=True, help="2-48 of a-z 0-9 . _ -")
@click.option("--role", type=click.Choice(["analyst", "operator", "institution_admin"]), required=True)
@click.option("--region", default=None, help="Scope: a division code of the registry's regions (e.g. 330106).")
@click.option("--institution", default=None, help="Scope: a registered member code (e.g. H01).")
@click.option("--name", "display_name", default=None, help="The name shown in the console.")
@click.option("--password", envvar="HIE_CONSOLE_PASSWORD", default=None, hidden=True,
              help="Read from HIE_CONSOLE_PASSWORD; else prompted for. At least 10 characters.")
def users_add(data_dir, database_url, username, role, region, institution, display_name, password):
    """Add a console user bound to a region or an institution (the password is prompted for,
    or read from HIE_CONSOLE_PASSWORD)."""
    from protocol.timestamps import utcnow

    from ..web.console.users import create
    from .store import open_store

    open_store(data_dir, database_url, create=False)  # no hub there: said before any prompt
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    _run(data_dir, database_url, lambda session: create(
        session, username=username, password=password, role=role, now=utcnow(), region_code=region,
        institution_code=institution, display_name=display_name), create=False)
    scope = f"region {region}" if region else f"institution {institution}"
    click.echo(f"user {username}: {role}, {scope}")


@users.command("list")
@_data_dir
@_database_url
def users_list(data_dir, database_url):
    """Every console user: name, role, scope, state."""
    from ..web.console.users import list_all

    rows = _run(data_dir, database_url, lambda session: [
        (u.username, u.role, f"region {u.region_code}" if u.region_code else f"institution {u.institution_code}",
         "disabled" if u.disabled_at else "active") for u in list_all(session)], create=False)
    if not rows:
        click.echo("no console users (hie users add)")
    for row in rows:
        click.echo("  ".join(row))


@users.command("disable")
@_data_dir
@_database_url
@click.argument("username")
def users_disable(data_dir, database_url, username):
    """Disable USERNAME: it can no longer sign in, and its open sessions end."""
    from protocol.timestamps import utcnow

    from ..web.console.users import disable

    _run(data_dir, database_url, lambda session: disable(session, username=username, now=utcnow()), create=False)
    click.echo(f"user {username} disabled")


__all__ = ["users"]
