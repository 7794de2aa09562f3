"""Code lists (value sets): the shipped ``schemas/codes/*.csv`` plus what an operator imported.

One CSV per code system; the file name (without ``.csv``) is the system name. The first column is
the code; a column named ``display`` (or ``label`` / ``name``) is the display text; a ``parent``
column links a concept to its parent code; every other column lands in ``Concept.extra``.

The shipped lists are samples of several national lists (docs/code-lists.md). What ``hie codes import``
adds to them is kept by the hub, not in this package (an upgrade replaces ``schemas/codes``): a process
that validates or labels codes for a hub installs the hub's ``AdditionsSource`` (``use_additions``), and
``load_code_systems`` — the one place that merges — appends its rows to the shipped lists, add-only.
``code_systems()`` asks the source at most every ``REFRESH_S`` seconds whether anything was added, so a
running hub picks an import up without a restart; ``generation()`` changes whenever the lists do, for the
caches built from them (the validators, the mart's dimension frames).
"""
from __future__ import annotations

import csv
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from .. import CODES_DIR

log = logging.getLogger(__name__)
_DISPLAY_COLUMNS = ("display", "label", "name")
REFRESH_S = 5.0  # how stale a process's lists may be after an import (one cheap query per interval)

# An addition as a source gives it: {"code": …, "display": …, <other columns of the list>: …}
Addition = Mapping[str, str]


@dataclass(frozen=True)
class Concept:
    """One code of one code system."""

    system: str
    code: str
    display: str
    parent: str | None = None
    extra: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class CodeSystem:
    """A loaded code list: concepts in list order (shipped, then imported) and an index by code."""

    name: str
    concepts: tuple[Concept, ...]
    by_code: Mapping[str, Concept]
    columns: tuple[str, ...] = ()  # the shipped CSV's header, code column first
    imported: int = 0  # how many of ``concepts`` (the last ones) an operator imported

    @property
    def shipped(self) -> int:
        return len(self.concepts) - self.imported

    @property
    def display_column(self) -> str | None:
        return next((c for c in _DISPLAY_COLUMNS if c in self.columns), None)


class AdditionsSource(Protocol):
    """Where a hub keeps the codes imported into its lists (``hub.codes``: its database)."""

    def version(self) -> object:
        """A cheap token that changes whenever codes are added."""

    def additions(self) -> Mapping[str, Sequence[Addition]]:
        """The imported codes by system, in the order they were added."""


def read_code_system(path: Path) -> CodeSystem:
    """Read one CSV code list (UTF-8, header row)."""
    name = path.stem
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        code_col = header[0]
        display_col = next((c for c in _DISPLAY_COLUMNS if c in header), None)
        concepts = []
        for number, row in enumerate(reader, start=2):
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ValueError(f"{path.name} line {number}: {len(row)} columns, header has {len(header)}")
            values = dict(zip(header, (cell.strip() for cell in row)))
            extra = {k: v for k, v in values.items() if k not in (code_col, display_col, "parent")}
            concepts.append(Concept(system=name, code=values[code_col],
                                    display=values.get(display_col, "") if display_col else "",
                                    parent=values.get("parent") or None, extra=MappingProxyType(extra)))
    by_code = {c.code: c for c in concepts}
    if len(by_code) != len(concepts):
        raise ValueError(f"{path.name}: duplicate codes")
    return CodeSystem(name=name, concepts=tuple(concepts), by_code=MappingProxyType(by_code), columns=tuple(header))


def with_additions(shipped: CodeSystem, additions: Sequence[Addition]) -> CodeSystem:
    """``shipped`` with the imported codes appended; a listed code keeps its row (add-only), so stored
    documents keep their meaning. Columns the list does not have are dropped."""
    display = shipped.display_column
    others = [c for c in shipped.columns[1:] if c not in (display, "parent")]
    concepts, by_code = list(shipped.concepts), dict(shipped.by_code)
    for row in additions:
        code = row["code"]
        if code in by_code:
            continue
        concept = Concept(system=shipped.name, code=code, display=row.get("display", "") if display else "",
                          parent=(row.get("parent") or None) if "parent" in shipped.columns else None,
                          extra=MappingProxyType({c: row.get(c, "") for c in others}))
        concepts.append(concept)
        by_code[code] = concept
    return CodeSystem(name=shipped.name, concepts=tuple(concepts), by_code=MappingProxyType(by_code),
                      columns=shipped.columns, imported=len(concepts) - len(shipped.concepts))


def load_code_systems(directory: Path = CODES_DIR,
                      additions: Mapping[str, Sequence[Addition]] | None = None) -> dict[str, CodeSystem]:
    """Every ``*.csv`` code list in a directory by system name, with the ``additions`` of each merged in
    (additions to a system the directory lacks are ignored: there is no list to extend)."""
    shipped = {path.stem: read_code_system(path) for path in sorted(directory.glob("*.csv"))}
    return _merged(shipped, additions or {})


def _merged(shipped: dict[str, CodeSystem], additions: Mapping[str, Sequence[Addition]]) -> dict[str, CodeSystem]:
    return {name: with_additions(system, additions[name]) if additions.get(name) else system
            for name, system in shipped.items()}


# ----- this process's lists -----

class _Lists:
    def __init__(self):
        self.lock = threading.Lock()
        self.shipped: dict[str, CodeSystem] | None = None
        self.systems: dict[str, CodeSystem] | None = None
        self.source: AdditionsSource | None = None
        self.version: object = None
        self.checked_at = 0.0
        self.generation = 0
        self.loaded = True  # False: a source is installed that has not answered yet
        self.failing = False


_lists = _Lists()


def _shipped() -> dict[str, CodeSystem]:
    if _lists.shipped is None:
        _lists.shipped = load_code_systems()
    return _lists.shipped


def use_additions(source: AdditionsSource | None) -> None:
    """Make this process's lists the shipped ones plus ``source``'s additions (None: the shipped ones
    only), loaded now if the source answers; from then on ``code_systems()`` follows the source. A hub
    may start while its database is down: until the source first answers, the lists are the shipped ones
    and every ``code_systems()`` asks it again (no document is judged on lists missing its imports for
    longer than the database is down)."""
    with _lists.lock:
        if source is None and _lists.source is None:
            return  # already the shipped lists (and nothing for the caches to redo)
        _lists.source, _lists.version, _lists.loaded = source, None, source is None
        _lists.systems = _shipped()
        _lists.generation += 1
        _lists.checked_at, _lists.failing = 0.0, False
        _reread()


def _reread() -> None:
    """Under the lock: ask the source for its version, reread its additions when it changed."""
    source = _lists.source
    if source is None:
        return
    _lists.checked_at = time.monotonic()
    try:
        version = source.version()
        if version != _lists.version or not _lists.loaded:
            _lists.systems = _merged(_shipped(), source.additions())
            _lists.version, _lists.loaded = version, True
            _lists.generation += 1
        _lists.failing = False
    except Exception as error:  # noqa: BLE001 - the lists in hand stay valid; ask again later
        if not _lists.failing:
            log.warning("imported codes not read (%s); using the lists loaded so far", type(error).__name__)
        _lists.failing = True


def _due() -> bool:
    return _lists.source is not None and (not _lists.loaded or time.monotonic() - _lists.checked_at >= REFRESH_S)


def _refresh() -> None:
    with _lists.lock:
        if _due():
            _reread()


def code_systems() -> dict[str, CodeSystem]:
    """The code lists of this process: shipped, plus the installed source's additions (rechecked at
    most every ``REFRESH_S`` seconds)."""
    if _due():
        _refresh()
    systems = _lists.systems
    if systems is None:
        with _lists.lock:
            if _lists.systems is None:
                _lists.systems = _shipped()
            systems = _lists.systems
    return systems


def generation() -> int:
    """A number that changes whenever this process's lists change (after an import reached it)."""
    code_systems()
    return _lists.generation


__all__ = ["Concept", "CodeSystem", "Addition", "AdditionsSource", "REFRESH_S", "read_code_system",
           "with_additions", "load_code_systems", "use_additions", "code_systems", "generation"]
