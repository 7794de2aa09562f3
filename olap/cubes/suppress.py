"""Small-cell suppression: person-level counts below 5 are withheld, and stay unrecoverable.

Primary: a cell whose person-level count is 1–4 is suppressed: all of its measures and the
indicators that use them are withheld. The person-level counts ("sensitive") are the cube's privacy
measure (visits, cases, prescription lines …) and the declared ``privacy`` of each measure asked —
a conditional count is checked against the persons under the same condition (``down`` referrals
against themselves, antenatal checkups against the antenatal women). Zero is published (an empty
cell reveals no one).

Complementary: a user can ask the same cube for the margins of a result — the total over any of
its group-by levels (down to the grand total over all of them), or a level's parent (institution ->
district -> city, day -> month -> year) — and subtract the published cells from it. So in every
such margin group, until nothing changes:

- a group that holds exactly one suppressed cell among several gets its smallest published cell
  suppressed as well (subtraction then yields only the sum of two or more withheld cells);
- for each sensitive measure, the withheld cells' total in the group must be 0 or at least
  THRESHOLD: two departments withheld beside a published 5 of an institution's 7 visits would be
  1 and 1. Otherwise the smallest published cell with some of that measure is suppressed too.

Margins that are themselves small are suppressed by the primary rule in their own query. A filter
that selects cells of a grouped level is lifted before this runs and applied after (``execute``),
so the margins are those of the unfiltered answer.
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
                  parents: dict[str, tuple[str, ...]], basis: str, sensitive: list[str] | None = None) -> pd.Series:
    """``mask`` grown until no margin group holds exactly one suppressed cell among several, nor
    withheld cells whose total of a ``sensitive`` measure (default: ``basis``) is 1 to THRESHOLD - 1."""
    mask = mask.copy()
    if not mask.any():
        return mask
    sensitive = list(dict.fromkeys(sensitive or [basis]))
    groups = []
    for keys in _margins(visible, parents):
        groups.append(frame.groupby(keys, sort=False).ngroup().to_numpy() if keys
                      else pd.Series(0, index=frame.index).to_numpy())
    changed = True
    while changed:
        changed = False
        for group in groups:
            for rule, name in (("lone", basis), *(("short", name) for name in sensitive)):
                # one rule at a time, on the mask as grown so far: a cell one adds may satisfy the next
                chosen = (_lone if rule == "lone" else _short)(frame, mask, group, name)
                if len(chosen):
                    mask.loc[chosen] = True
                    changed = True
    return mask


def _lone(frame: pd.DataFrame, mask: pd.Series, group, basis: str) -> pd.Index:
    """The smallest published cell of each group holding exactly one suppressed cell among several."""
    work = pd.DataFrame({"_group": group, "_suppressed": mask.astype(int).to_numpy(),
                         "_basis": frame[basis].to_numpy()}, index=frame.index)
    counts = work.groupby("_group")["_suppressed"].agg(["sum", "size"])
    lonely = counts[(counts["sum"] == 1) & (counts["size"] > 1)].index
    if not len(lonely):
        return pd.Index([])
    candidates = work[work["_group"].isin(lonely) & ~mask].sort_values("_basis", kind="stable")
    return candidates.groupby("_group").head(1).index


def _short(frame: pd.DataFrame, mask: pd.Series, group, name: str) -> pd.Index:
    """The smallest published cell with some of ``name`` in each group whose withheld cells hold
    1 to THRESHOLD - 1 of it (a group with none left to add is small as a margin: withheld there)."""
    values = frame[name].astype("float64").fillna(0).to_numpy()
    work = pd.DataFrame({"_group": group, "_value": values}, index=frame.index)
    withheld = work[mask.to_numpy()].groupby("_group")["_value"].sum()
    short = withheld[(withheld > 0) & (withheld < THRESHOLD)].index
    if not len(short):
        return pd.Index([])
    candidates = work[work["_group"].isin(short) & ~mask & (work["_value"] > 0)].sort_values("_value", kind="stable")
    return candidates.groupby("_group").head(1).index


__all__ = ["THRESHOLD", "primary", "complementary"]
