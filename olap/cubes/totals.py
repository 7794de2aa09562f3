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
        exposed, components = _determined(equations, withheld)
        targets = sorted(exposed & protected)
        if not targets:
            return added
        # first the plain case: a line whose only withheld entry is exposed loses its published total
        direct = next((total for total, parts in equations if total not in withheld and
                       [part for part in parts if part in withheld] in ([t] for t in targets)), None)
        if direct is not None:
            withheld.add(direct)
            added.add(direct)
            continue
        target = targets[0]
        near = [total for total, parts in equations if target == total or target in parts]
        rest = [total for total, parts in equations if components.get(target) in
                {components.get(item) for item in (total, *parts)}]
        choice = next((total for total in (*near, *rest) if total not in withheld), None)
        if choice is None:  # fixed by published cells alone: the cube published them, nothing to do here
            protected.discard(target)
            continue
        withheld.add(choice)
        added.add(choice)


def _determined(equations: list[tuple[tuple, list[tuple]]], unknown: set[tuple]) -> tuple[set, dict]:
    """The unknowns the equations fix, and each unknown's component (unknowns sharing equations)."""
    rows = []
    for total, parts in equations:
        coefficients = {item: -1.0 for item in parts if item in unknown}
        if total in unknown:
            coefficients[total] = 1.0
        if coefficients:
            rows.append(coefficients)
    parent = {item: item for item in unknown}

    def root(item):
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item
    for coefficients in rows:
        first, *others = list(coefficients)
        for other in others:
            parent[root(other)] = root(first)
    components = {item: root(item) for item in unknown}
    determined: set[tuple] = set()
    for component in set(components.values()):
        members = sorted(item for item, c in components.items() if c == component)
        index = {item: i for i, item in enumerate(members)}
        matrix = []
        for coefficients in rows:
            if components[next(iter(coefficients))] == component:
                line = [0.0] * len(members)
                for item, coefficient in coefficients.items():
                    line[index[item]] = coefficient
                matrix.append(line)
        if not matrix:
            continue
        if len(members) > _MAX_COMPONENT:  # too large to test: count everything in it as exposed
            determined.update(members)
            continue
        a = np.array(matrix)
        _, singular, vt = np.linalg.svd(a)
        rank = int((singular > 1e-9 * max(singular.max(), 1.0)).sum())
        null = vt[rank:]
        for item, i in index.items():
            if not null.size or np.abs(null[:, i]).max() < 1e-9:
                determined.add(item)
    return determined, components


__all__ = ["protect_totals"]
