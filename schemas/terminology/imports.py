"""Read a national or regional list from a file into additions to a code list (``hie codes import``).

The file is CSV with a header row, UTF-8 (with or without BOM) or GB 18030 (GBK), as the national lists
are published: a code column (``code``, ``编码``, ``代码``, ``疾病编码``, ``诊断编码``, ``药品编码``) and a name
column (``display``, ``name``, ``label``, ``名称``, ``疾病名称``, ``诊断名称``, ``药品名称``); columns named as
the shipped list's other columns (``atc``, ``dosage_form``, ``parent`` …) are kept, the rest ignored.

Only the sample lists of a larger national list can be extended (``importable``: the systems with a
form); a complete list (``sex``, ``marital-status`` …) or the hub's own (``identifier-roots``,
``case-classification`` …) is refused ``codes.system.closed``: a code it lacks is wrong, not missing.

The import only **adds**: a code already listed keeps its row (documents stored under it keep their
meaning), a new code is appended. For ICD-10 a new code's ``parent`` is its longest prefix listed or
earlier in the file and its ``level`` ``category`` (3 characters) or ``subcategory``, as the cubes'
diagnosis dimension reads them. Every code must be well-formed for its system where the system has a
form (``forms.py``), and appear once; otherwise nothing is added and the error names the line (never the
value). Where the additions are kept is the hub's business (``hub.codes``: its database), not this
package's: an upgrade replaces ``schemas/codes``.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass

from .codes import CodeSystem
from .forms import has_form, well_formed

CODE_COLUMNS = ("code", "编码", "代码", "疾病编码", "诊断编码", "药品编码")
NAME_COLUMNS = ("display", "name", "label", "名称", "疾病名称", "诊断名称", "药品名称")
MAX_ROWS = 200_000
MAX_DISPLAY = 500  # the stored name's column (hub.codes.models)


def importable(system: str) -> bool:
    """Whether a code list may be extended by an import: the one place that says so (docs/code-lists.md).

    The importable lists are the samples of a larger national or regional list, which are exactly the
    systems with a form (``forms.FORMS``: ICD-10, divisions, departments, countries, occupation,
    relationship, abnormal flags, LOINC, drugs). A list without a form is complete (GB/T 2261, closed
    tables) or the hub's own (identifier roots, document types, vaccines …): appending to it would make
    a wrong code valid — a new identifier root would even make the MPI read its values as resident IDs."""
    return has_form(system)


class CodeListError(ValueError):
    """A code list file that cannot be imported: a dotted code and one line for the operator."""

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class Imported:
    """What an import adds: the system, the new codes' rows (``codes.Addition``), how many were listed."""

    system: str
    rows: tuple[dict[str, str], ...]
    already_listed: int

    @property
    def added(self) -> int:
        return len(self.rows)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("gb18030")
        except UnicodeDecodeError:
            raise CodeListError("codes.import.invalid", "the file is neither UTF-8 nor GB 18030 text") from None


def _column(header: list[str], names: tuple[str, ...], what: str) -> int:
    for name in names:
        if name in header:
            return header.index(name)
    raise CodeListError("codes.import.invalid", f"no {what} column (one of: {', '.join(names)})")


def _icd10_row(code: str, listed: set[str]) -> dict[str, str]:
    parent = next((code[:end] for end in range(len(code) - 1, 2, -1) if code[:end] in listed), "")
    return {"parent": parent, "level": "category" if len(code) == 3 else "subcategory"}


def read_import(*, system: str, raw: bytes, listed: Mapping[str, CodeSystem]) -> Imported:
    """The codes of ``raw`` (a CSV file's bytes) that ``listed[system]`` lacks, checked, as rows to add
    (``{"code", "display", <the list's other columns>}``); nothing is written here."""
    target = listed.get(system)
    if target is None:
        raise CodeListError("codes.system.unknown", "no such code list (hie codes list shows them)")
    if not importable(system):
        raise CodeListError("codes.system.closed",
                            f"{system} is a complete list or the hub's own: its codes are not imported")
    rows = _rows(_decode(raw))
    if not rows:
        raise CodeListError("codes.import.invalid", "the file is empty")
    header = [cell.strip() for cell in rows[0]]
    code_at, name_at = _column(header, CODE_COLUMNS, "code"), _column(header, NAME_COLUMNS, "name")
    if len(rows) - 1 > MAX_ROWS:
        raise CodeListError("codes.import.invalid", f"more than {MAX_ROWS} rows")
    display = target.display_column
    kept_columns = [c for c in target.columns[1:] if c != display and c in header]
    seen, added, known = set(), [], set(target.by_code)
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise CodeListError("codes.import.invalid", f"line {number}: {len(row)} columns, the header has {len(header)}")
        code = row[code_at].strip()
        if not code:
            raise CodeListError("codes.import.invalid", f"line {number}: the code is empty")
        if has_form(system) and not well_formed(system, code):
            raise CodeListError("codes.import.invalid", f"line {number}: the code is not a well-formed {system} code")
        if code in seen:
            raise CodeListError("codes.import.invalid", f"line {number}: the code is repeated")
        seen.add(code)
        if code in target.by_code:
            continue
        new = {"code": code, "display": row[name_at].strip()}
        if len(new["display"]) > MAX_DISPLAY:
            raise CodeListError("codes.import.invalid", f"line {number}: the name is over {MAX_DISPLAY} characters")
        new.update({c: row[header.index(c)].strip() for c in kept_columns})
        if system == "icd10":
            new.update(_icd10_row(code, known))
        known.add(code)
        added.append(new)
    return Imported(system=system, rows=tuple(added), already_listed=len(seen) - len(added))


def _rows(text: str) -> list[list[str]]:
    """The CSV rows; a file the csv module cannot read (a cell over its field limit, a stray quote) is a
    one-line error naming the line, not a traceback."""
    reader = csv.reader(io.StringIO(text))
    try:
        return list(reader)
    except csv.Error as error:  # its text names the rule broken, never the cell
        raise CodeListError("codes.import.invalid", f"line {reader.line_num}: not readable as CSV ({error})") from None


__all__ = ["CODE_COLUMNS", "NAME_COLUMNS", "MAX_DISPLAY", "CodeListError", "Imported", "read_import", "importable"]
