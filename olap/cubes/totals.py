"""Which totals of a pivot may be published: none that lets a reader work out a withheld value.

A pivot's totals are sums of its cells (row, column, grand), so together with the published cells
they form linear equations. A withheld cell is exposed when those equations fix its value (a row
total minus the row's other cells, or the grand total minus the other row totals and then the row).
The test is exact for sums: an unknown is fixed iff its unit vector lies in the row space of the
equations restricted to the unknowns (no null-space vector moves it). For distinct counts the
equations are only bounds, so treating them as equations withholds more than needed, never less.
"""
from __future__ import annotations

import numpy as np

# a component of withheld entries larger than this is not rank-tested: all of it counts as exposed
_MAX_COMPONENT = 800


def protect_totals(cells: dict[tuple[int, int], bool], *, rows: int, columns: int, row_totals: dict[int, bool],
                   column_totals: dict[int, bool], grand: bool | None) -> set[tuple]:
    """The totals to withhold besides those the cube withheld, so that no withheld entry (cell or
    total) is determined by the published ones. ``cells`` maps the present cells to their withheld
    flag (absent cells are known zeros); ``rows`` / ``columns`` are 0 where that axis has no totals.
    Returns ``("row", r)``, ``("column", c)`` and ``("grand",)`` entries.

    Equations: each row total is the sum of its cells, each column total too, and the grand total
    the sum of the row totals and of the column totals. An entry is determined when it is fixed by
    the published values, i.e. its unit vector lies in the row space of the equations restricted to
    the withheld entries. Totals are withheld (the line's own first) until nothing protected is.
    """
    in_row: dict[int, list[tuple]] = {}
    in_column: dict[int, list[tuple]] = {}
    for r, c in cells:
        in_row.setdefault(r, []).append(("cell", r, c))
        in_column.setdefault(c, []).append(("cell", r, c))
    equations: list[tuple[tuple, list[tuple]]] = []
    equations += [(("row", r), in_row.get(r, [])) for r in range(rows)]
    equations += [(("column", c), in_column.get(c, [])) for c in range(columns)]
    if grand is not None:
        equations.append((("grand",), [("row", r) for r in range(rows)]))
        equations.append((("grand",), [("column", c) for c in range(columns)]))
    withheld = {("cell", r, c) for (r, c), flag in cells.items() if flag}
    withheld |= {("row", r) for r, flag in row_totals.items() if flag}
    withheld |= {("column", c) for c, flag in column_totals.items() if flag}
    if grand:
        withheld.add(("grand",))
    protected, added = set(withheld), set()
    while True:
        added |= _lone_unknowns(equations, withheld)
        exposed, components, oversized = _determined(equations, withheld)
        if oversized:  # too many withheld entries tied together to test: withhold every total they touch
            touching = {total for total, parts in equations if total not in withheld
                        and {components.get(item) for item in (total, *parts)} & oversized}
            if touching:
                withheld |= touching
                added |= touching
                continue
        targets = sorted(exposed & protected)
        if not targets:
            return added
        chosen = set()
        for target in targets:
            if any(total == target and not any(part in withheld for part in parts) for total, parts in equations):
                protected.discard(target)  # its own cells, all published, add up to it: no total can help
                continue
            near = [total for total, parts in equations if target == total or target in parts]
            rest = [total for total, parts in equations if components[target] in
                    {components.get(item) for item in (total, *parts)}]
            choice = next((total for total in (*near, *rest) if total not in withheld), None)
            if choice is None:  # fixed by published cells alone: the cube published them, nothing to do here
                protected.discard(target)
            else:
                chosen.add(choice)
        withheld |= chosen
        added |= chosen


def _lone_unknowns(equations: list[tuple[tuple, list[tuple]]], withheld: set[tuple]) -> set[tuple]:
    """The plain case, to a fixed point: a line with one withheld part loses its published total
    (the total minus the other parts would give it). Adds to ``withheld``; returns what it added."""
    added: set[tuple] = set()
    changed = True
    while changed:
        changed = False
        for total, parts in equations:
            if total not in withheld and sum(part in withheld for part in parts) == 1:
                withheld.add(total)
                added.add(total)
                changed = True
    return added


def _determined(equations: list[tuple[tuple, list[tuple]]],
                unknown: set[tuple]) -> tuple[set[tuple], dict[tuple, tuple], set[tuple]]:
    """The unknowns the equations fix, each unknown's component (unknowns sharing equations), and the
    components too large to test."""
    rows = []
    for total, parts in equations:
        coefficients = {item: -1.0 for item in parts if item in unknown}
        if total in unknown:
            coefficients[total] = 1.0
        if coefficients:
            rows.append(coefficients)
    parent = {item: item for item in unknown}

    def root(item: tuple) -> tuple:
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item
    for coefficients in rows:
        first, *others = list(coefficients)
        for other in others:
            parent[root(other)] = root(first)
    components = {item: root(item) for item in unknown}
    members: dict[tuple, list[tuple]] = {}
    for item in sorted(unknown):
        members.setdefault(components[item], []).append(item)
    lines: dict[tuple, list[dict]] = {}
    for coefficients in rows:
        lines.setdefault(components[next(iter(coefficients))], []).append(coefficients)
    determined: set[tuple] = set()
    oversized: set[tuple] = set()
    for component, equations_of in lines.items():
        items = members[component]
        if len(items) > _MAX_COMPONENT:
            oversized.add(component)
            continue
        index = {item: i for i, item in enumerate(items)}
        matrix = np.zeros((len(equations_of), len(items)))
        for row, coefficients in enumerate(equations_of):
            for item, coefficient in coefficients.items():
                matrix[row, index[item]] = coefficient
        _, singular, vt = np.linalg.svd(matrix)
        rank = int((singular > 1e-9 * max(float(singular.max()), 1.0)).sum())
        null = vt[rank:]
        for item, i in index.items():
            if not null.size or np.abs(null[:, i]).max() < 1e-9:
                determined.add(item)
    return determined, components, oversized


__all__ = ["protect_totals"]
