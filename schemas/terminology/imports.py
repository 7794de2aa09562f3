"""Read a national or regional list from a file into additions to a code list (``hie codes import``).

The file is CSV with a header row, UTF-8 (with or without BOM) or GB 18030 (GBK), as the national lists
are published: a code column and a name column, under the headers the list's publisher uses
(``PUBLISHED``: 行政区划代码 / 单位名称 for GB/T 2260 …) or the generic ones (``code`` / ``编码`` / ``代码``,
``display`` / ``name`` / ``label`` / ``名称``); columns named as the shipped list's other columns
(``atc``, ``dosage_form`` …) are kept, the rest ignored. A cell never spans lines: a quote left open
(which would make the following lines part of one name) is refused naming the line where it opened.

Only the sample lists of a larger national list can be extended (``importable``: the systems with a
form); a complete list (``sex``, ``marital-status`` …) or the hub's own (``identifier-roots``,
``case-classification`` …) is refused ``codes.system.closed``: a code it lacks is wrong, not missing.

The import only **adds**: a code already listed keeps its row (documents stored under it keep their
meaning), a new code is appended. For ICD-10 a new code's ``parent`` is its longest prefix listed or
earlier in the file and its ``level`` ``category`` (3 characters) or ``subcategory``, as the cubes'
diagnosis dimension reads them. A GB/T 2260 division's parent and level come from its digits
(``division_place``), and its parent must be listed, imported before or in the file. Every code must be
well-formed for its system where the system has a form (``forms.py``), and appear once; otherwise nothing
is added and the error names the line (never the value). Where the additions are kept is the hub's business (``hub.codes``: its database), not this
package's: an upgrade replaces ``schemas/codes``.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass

from .codes import CodeSystem
from .forms import has_form, well_formed

CODE_COLUMNS = ("code", "编码", "代码")
NAME_COLUMNS = ("display", "name", "label", "名称")
# The headers of the national lists as published, tried before the generic ones (docs/code-lists.md):
# system → (code headers, name headers), the list's own code first where a file holds several.
PUBLISHED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "divisions": (("行政区划代码",), ("单位名称",)),                      # 民政部 GB/T 2260 list
    "icd10": (("诊断编码", "疾病编码"), ("诊断名称", "疾病名称")),        # 国家临床版 2.0, GB/T 14396
    "drugs": (("药品编码", "药品代码", "药品本位码"), ("药品名称", "产品名称")),  # catalogues, NMPA 本位码
}
# GB/T 2260 province codes whose county-level divisions the province governs directly (the four
# municipalities' 市辖区 / 县 rows are absent from the Ministry's list): their parent may be the province.
_MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
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


def headers(system: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The code and the name headers accepted for ``system``, in the order they are looked for."""
    codes, names = PUBLISHED.get(system, ((), ()))
    return codes + CODE_COLUMNS, names + NAME_COLUMNS


def _column(header: list[str], names: tuple[str, ...], what: str) -> int:
    for name in names:
        if name in header:
            return header.index(name)
    raise CodeListError("codes.import.invalid", f"no {what} column (one of: {', '.join(names)})")


def _icd10_row(code: str, listed: set[str]) -> dict[str, str]:
    parent = next((code[:end] for end in range(len(code) - 1, 2, -1) if code[:end] in listed), "")
    return {"parent": parent, "level": "category" if len(code) == 3 else "subcategory"}


def division_place(code: str) -> tuple[tuple[str, ...], str] | None:
    """Where a well-formed GB/T 2260 code lies by its digits (province 2, city 4, county 6): the parents
    it may have, nearest first, and its level as the shipped list names it; None when the digits name no
    place (county digits under city digits 00).

    County digits 01–20 are a 市辖区 (``district``), 21–80 a 县 (``county``), 81–99 a 县级市
    (``county_city``); under city digits 90 (省直辖县级行政区划) 01–20 are county-level cities. A
    municipality's districts and counties, and the 90 group, may hang from the province itself."""
    province, city, county = code[:2], code[2:4], code[4:]
    if city == "00" and county == "00":
        return (), "province"
    if county == "00":
        return (province + "0000",), "city"
    if city == "00":
        return None
    number = int(county)
    level = "district" if number <= 20 else "county" if number <= 80 else "county_city"
    if city == "90" and number <= 20:
        level = "county_city"
    parents = (code[:4] + "00",)
    if province in _MUNICIPALITIES or city == "90":
        parents += (province + "0000",)
    return parents, level


def _division_rows(added: list[tuple[int, dict[str, str]]], listed: set[str]) -> None:
    """Give each new division the parent and level its digits say; the parent must be in ``listed`` (the
    list as it is, plus the file's codes), else the line is refused."""
    for number, row in added:
        place = division_place(row["code"])
        if place is None:
            raise CodeListError("codes.import.invalid", f"line {number}: the code names no GB/T 2260 place "
                                                        "(county digits under no city)")
        parents, level = place
        parent = next((p for p in parents if p in listed), None)
        if parents and parent is None:
            above = "province" if level == "city" else "city"
            raise CodeListError("codes.import.invalid",
                                f"line {number}: the {above} it lies in is neither listed nor in the file")
        row.update(parent=parent or "", level=level)


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
    header = [cell.strip() for cell in rows[0][1]]
    code_names, name_names = headers(system)
    code_at, name_at = _column(header, code_names, "code"), _column(header, name_names, "name")
    if len(rows) - 1 > MAX_ROWS:
        raise CodeListError("codes.import.invalid", f"more than {MAX_ROWS} rows")
    display = target.display_column
    kept_columns = [c for c in target.columns[1:] if c != display and c in header]
    seen, added, known = set(), [], set(target.by_code)
    for number, row in rows[1:]:
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
        added.append((number, new))
    if system == "divisions":
        _division_rows(added, known | seen)
    return Imported(system=system, rows=tuple(new for _, new in added), already_listed=len(seen) - len(added))


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """The CSV rows, each with the line it starts on; a file the csv module cannot read (a cell over its
    field limit, a stray quote) is a one-line error naming the line, not a traceback.

    No name of a national list spans lines, so a cell that does is a quote opened by mistake: read as CSV
    allows it, it would swallow the following lines into one name (and their codes with it)."""
    reader = csv.reader(io.StringIO(text), strict=True)
    rows = []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return rows
        except csv.Error as error:  # its text names the rule broken, never the cell
            if str(error).startswith("unexpected end of data"):
                raise CodeListError("codes.import.invalid",
                                    f"line {start}: a quote opened on this line is never closed") from None
            raise CodeListError("codes.import.invalid", f"line {start}: not readable as CSV ({error})") from None
        if any("\n" in cell or "\r" in cell for cell in row):
            raise CodeListError("codes.import.invalid", f"line {start}: a quote opened on this line runs over "
                                                        f"{reader.line_num - start} line break(s) before it closes")
        rows.append((start, row))


__all__ = ["CODE_COLUMNS", "NAME_COLUMNS", "PUBLISHED", "MAX_DISPLAY", "headers", "division_place", "CodeListError",
           "Imported", "read_import", "importable"]
