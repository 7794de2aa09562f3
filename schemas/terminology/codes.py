"""Code lists (value sets) loaded once from ``schemas/codes/*.csv``.

One CSV per code system; the file name (without ``.csv``) is the system name. The first column is
the code; a column named ``display`` (or ``label`` / ``name``) is the display text; a ``parent``
column links a concept to its parent code; every other column lands in ``Concept.extra``.
"""
from __future__ import annotations

import csv
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from .. import CODES_DIR

_DISPLAY_COLUMNS = ("display", "label", "name")


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
    """A loaded code list: concepts in file order and an index by code."""

    name: str
    concepts: tuple[Concept, ...]
    by_code: Mapping[str, Concept]


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
    return CodeSystem(name=name, concepts=tuple(concepts), by_code=MappingProxyType(by_code))


def load_code_systems(directory: Path = CODES_DIR) -> dict[str, CodeSystem]:
    """Every ``*.csv`` code list in a directory, by system name."""
    return {path.stem: read_code_system(path) for path in sorted(directory.glob("*.csv"))}


_lock = threading.Lock()
_systems: dict[str, CodeSystem] | None = None


def code_systems() -> dict[str, CodeSystem]:
    """The code lists of this process (loaded on first use, then cached)."""
    global _systems
    if _systems is None:
        with _lock:
            if _systems is None:
                _systems = load_code_systems()
    return _systems


__all__ = ["Concept", "CodeSystem", "read_code_system", "load_code_systems", "code_systems"]
