"""Small-cell suppression: person-level counts below 5 are withheld, and stay unrecoverable.

Primary: a cell whose person-level count (the cube's privacy measure — visits, cases, prescription
lines … — or any distinct-person measure asked for) is 1–4 is suppressed: all of its measures and
the indicators that use them are withheld. Zero is published (an empty cell reveals no one).

Complementary: a user can ask the same cube for the margins of a result — the total over any of
its group-by levels (down to the grand total over all of them), or a level's parent (institution ->
district -> city, day -> month -> year) — and subtract the published cells from it. So in every such margin group that holds exactly one
suppressed cell among several, the smallest published cell is suppressed as well (repeated until
no group has a lone suppressed cell). Subtraction then yields only the sum of two or more withheld
cells. Margins that are themselves small are suppressed by the primary rule in their own query.
"""
from __future__ import annotations

from itertools import combinations

import pandas as pd

THRESHOLD = 5


def primary(frame: pd.DataFrame, sensitive: list[str]) -> pd.Series:
    """Cells where any sensitive count is between 1 and THRESHOLD - 1."""
    mask = pd.Series(False, index=frame.index)
    for name in sensitive:
        values = frame[name]
        mask |= (values > 0) & (values < THRESHOLD)
    return mask


def _margins(visible: list[str], parents: dict[str, tuple[str, ...]]) -> list[list[str]]:
    """Group keys of every margin a user can ask for: any set of the levels dropped (down to the
    grand total, which drops them all), or one level coarsened to a parent."""
    margins = []
    for size in range(len(visible) - 1, -1, -1):  # the finest margins first
        margins += [list(kept) for kept in combinations(visible, size)]
    for level in visible:
        others = [name for name in visible if name != level]
        for parent in parents.get(level, ()):
            margins.append(list(dict.fromkeys([*others, parent])))
    return margins


def complementary(frame: pd.DataFrame, mask: pd.Series, *, visible: list[str],
                  parents: dict[str, tuple[str, ...]], basis: str) -> pd.Series:
    """``mask`` grown until no margin group holds exactly one suppressed cell among several."""
    mask = mask.copy()
    if not mask.any():
        return mask
    margins = _margins(visible, parents)
    changed = True
    while changed:
        changed = False
        for keys in margins:
            work = frame[keys].copy() if keys else pd.DataFrame(index=frame.index)
            work["_group"] = work.groupby(keys, sort=False).ngroup() if keys else 0
            work["_suppressed"] = mask.astype(int)
            work["_basis"] = frame[basis]
            counts = work.groupby("_group")["_suppressed"].agg(["sum", "size"])
            lonely = counts[(counts["sum"] == 1) & (counts["size"] > 1)].index
            if not len(lonely):
                continue
            candidates = work[work["_group"].isin(lonely) & ~mask].sort_values("_basis", kind="stable")
            chosen = candidates.groupby("_group").head(1).index
            mask.loc[chosen] = True
            changed = True
    return mask


__all__ = ["THRESHOLD", "primary", "complementary"]
