"""``hie codes list | import SYSTEM FILE``: the code lists the hub validates against (docs/code-lists.md).

``import`` adds the codes of a national or regional list (ICD-10 国家临床版 2.0, GB/T 2260, a drug
catalogue …) to the shipped sample of that system, checked code by code (``schemas.terminology.imports``;
a complete list or the hub's own is never extended: ``codes.system.closed``). The codes are kept in the
hub's database (``hub.codes``: its data directory's ``hub.db``, or the PostgreSQL all the deployment's
hubs share), never in the installation's ``schemas/codes``, so an upgrade keeps them; the import is
audited (``codes.import``) in the same transaction. Running hub processes pick the codes up within
``schemas.terminology.codes.REFRESH_S`` seconds, without a restart. A wrong file changes nothing and is
one line: ``error: codes.import.invalid: line 12: the code is not a well-formed icd10 code``. Imported
divisions are copied into the registry's region mirror at once (``registry.sync_regions``).
"""
from __future__ import annotations

from pathlib import Path

import click

from schemas import CODES_DIR

_codes_dir = click.option("--codes-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
                          default=CODES_DIR, show_default=False,
                          help="Directory of the shipped code lists (default: the installation's schemas/codes; "
                               "for tests).")
_database_url = click.option("--database-url", default=None, help="The hub's database (default: DATA/hub.db).")


@click.group()
def codes() -> None:
    """The code lists (ICD-10, divisions, departments, drugs …): which are samples, loading the full lists."""


@codes.command("list")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A hub's data directory: also count the codes imported into it (without it: shipped lists only).")
@_database_url
@_codes_dir
def codes_list(data_dir, database_url, codes_dir):
    """Each code list: its system name, how many codes it ships with, how many were imported and where they
    are kept, whether it can be imported into and what becomes of a document with a code it lacks."""
    from schemas.terminology.codes import load_code_systems
    from schemas.terminology.imports import importable
    from schemas.validation import open_code_systems

    systems = load_code_systems(codes_dir)
    if not systems:
        raise click.ClickException(f"codes.missing: no code lists (*.csv) in {codes_dir}")
    imported, place = {}, "-"
    if data_dir is not None or database_url:
        from ..codes import counts
        from ..settings import Settings
        from .store import open_store

        with open_store(data_dir, database_url, create=False)() as session:
            imported = counts(session)
        place = _place(Settings.load(data_dir, database_url=database_url))
    kept = open_code_systems()
    for name, system in systems.items():
        added = imported.get(name, 0)
        click.echo(f"{name}\t{len(system.concepts)} shipped\t{added} imported\t"
                   f"{_kind(importable(name), name in kept)}\t"
                   f"{codes_dir / (name + '.csv')}{' + ' + place if added else ''}")


def _place(settings) -> str:
    """Where imported codes are kept, said without a password."""
    if not settings.database_url:
        return f"code_addition in {settings.data_dir / 'hub.db'}"
    from sqlalchemy.engine import make_url

    return f"code_addition in {make_url(settings.database_url).render_as_string(hide_password=True)}"


def _kind(importable: bool, kept: bool) -> str:
    # Said as a document meets it: a drugs sample is importable, yet a prescription with an unlisted
    # drug is refused (its binding is strict), so "checked by form" alone would mislead an operator.
    if not importable:
        return "closed or hub's own: not importable; an unlisted code is refused"
    if kept:
        return "sample: importable; a well-formed unlisted code is kept with record.code.unverified where open"
    return "sample: importable; an unlisted code is refused until the full list is imported"


@codes.command("import")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="The hub's data directory (the codes are kept, and the import audited, in its database).")
@_database_url
@_codes_dir
@click.argument("system")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def codes_import(data_dir, database_url, codes_dir, system, file):
    """Add the codes of FILE (CSV, UTF-8 or GB 18030, code and name columns) to the code list SYSTEM."""
    from sqlalchemy.exc import IntegrityError

    from protocol.timestamps import utcnow
    from schemas.terminology.codes import load_code_systems
    from schemas.terminology.imports import CodeListError, read_import

    from ..audit import record
    from ..codes import add, additions
    from ..store.db import transaction
    from .store import open_store

    sessions = open_store(data_dir, database_url, create=False)
    raw = file.read_bytes()
    try:
        with transaction(sessions) as session:
            # checked against the lists as they are now: shipped plus every earlier import of this hub
            listed = load_code_systems(codes_dir, additions(session))
            done = read_import(system=system, raw=raw, listed=listed)
            add(session, system=system, rows=done.rows, now=utcnow())
            record(session, "codes.import", code=system,
                   detail=f"{done.added} added, {done.already_listed} already listed")
    except CodeListError as error:
        raise click.ClickException(f"{error.code}: {error.detail}") from None
    except IntegrityError:  # another import of the same codes committed first: nothing of this one is kept
        raise click.ClickException("codes.import.conflict: another import added some of these codes "
                                   "meanwhile; run this one again") from None
    if system == "divisions" and done.added:
        _mirror_regions(sessions)
    click.echo(f"{system}: {done.added} codes added, {done.already_listed} already listed"
               + (" (the running hub uses them within a few seconds, no restart)" if done.added else ""))


def _mirror_regions(sessions) -> None:
    """Bring the registry's copy of the divisions (``registry_region``, which scopes and the ETL's division
    dimension read) up to the list just imported, rather than at the next institution registered there."""
    from ..codes import watch
    from ..registry import sync_regions
    from ..registry.actor import HUB_OPERATOR
    from ..store.db import transaction

    watch(sessions)  # this command's lists now hold what it committed
    with transaction(sessions) as session:
        sync_regions(session, actor=HUB_OPERATOR)
