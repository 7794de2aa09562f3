"""``hie codes list | import SYSTEM FILE``: the code lists the hub validates against (docs/code-lists.md).

``import`` adds the codes of a national or regional list (ICD-10 国家临床版 2.0, GB/T 2260, a drug
catalogue …) to the shipped sample of that system, checked code by code (``schemas.terminology.imports``;
a complete list or the hub's own is never extended: ``codes.system.closed``);
it is audited (``codes.import``, the system and how many codes were added). Running processes read the
lists once: restart ``hie serve`` after an import. A wrong file changes nothing and is one line:
``error: codes.import.invalid: line 12: the code is not a well-formed icd10 code``.
"""
from __future__ import annotations

from pathlib import Path

import click

from schemas import CODES_DIR

_codes_dir = click.option("--codes-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
                          default=CODES_DIR, show_default=False,
                          help="Directory of the code lists (default: the hub's own, schemas/codes).")


@click.group()
def codes() -> None:
    """The code lists (ICD-10, divisions, departments, drugs …): which are samples, loading the full lists."""


@codes.command("list")
@_codes_dir
def codes_list(codes_dir):
    """Each code list: its system name, how many codes it holds, whether it can be imported into and
    what becomes of a document with a code it lacks (docs/code-lists.md)."""
    from schemas.terminology.codes import load_code_systems
    from schemas.terminology.imports import importable
    from schemas.validation import open_code_systems

    systems = load_code_systems(codes_dir)
    if not systems:
        raise click.ClickException(f"codes.missing: no code lists (*.csv) in {codes_dir}")
    kept = open_code_systems()
    for name, system in systems.items():
        click.echo(f"{name}\t{len(system.concepts)}\t{_kind(importable(name), name in kept)}")


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
              help="The hub's data directory (the import is audited in its database).")
@click.option("--database-url", default=None)
@_codes_dir
@click.argument("system")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def codes_import(data_dir, database_url, codes_dir, system, file):
    """Add the codes of FILE (CSV, UTF-8 or GB 18030, code and name columns) to the code list SYSTEM."""
    from schemas.terminology.imports import CodeListError, import_code_list

    from ..audit import record
    from ..store.db import transaction
    from .store import open_store

    sessions = open_store(data_dir, database_url, create=False)
    try:
        done = import_code_list(system=system, raw=file.read_bytes(), codes_dir=codes_dir)
    except CodeListError as error:
        raise click.ClickException(f"{error.code}: {error.detail}") from None
    with transaction(sessions) as session:
        record(session, "codes.import", code=system,
               detail=f"{done.added} added, {done.already_listed} already listed")
    click.echo(f"{system}: {done.added} codes added, {done.already_listed} already listed"
               + (" (restart hie serve to use them)" if done.added else ""))
