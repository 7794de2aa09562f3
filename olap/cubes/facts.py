"""The facts behind one cell of a cube query: the first fact keys (``<OLTP table>:<row id>``) of
the rows the cell counts, for the lineage view (``etl.lineage`` traces each key to its message).

Bounded (``MAX_FACT_KEYS``) and never for a withheld cell: the cell is first answered by the cube
query it was shown in (same scope, same suppression); a suppressed or absent cell is refused
before the fact table is read, so a withheld cell's facts cannot be listed — not even how many.
"""
from __future__ import annotations

from ..backend import Backend
from ..schema.versions import table as declared_table
from .catalog import get_cube
from .compile import Part, Scope, compile_fact_keys
from .errors import CubeError
from .execute import execute
from .query import Filter, Query

MAX_FACT_KEYS = 50


def cell_fact_keys(backend: Backend, query: Query, cell: dict[str, str], *, scope: Scope = Scope(),
                   limit: int = MAX_FACT_KEYS) -> dict:
    """The first ``limit`` fact keys (in key order) behind the cell of ``query`` at ``cell``
    (a value for every group-by level); ``access.denied`` when that cell is withheld."""
    cube = get_cube(query.cube)
    if set(cell) != set(query.group_by):
        raise CubeError("cube.query.invalid", "a cell names a value for every group-by level", field="/cell")
    for name in query.group_by:
        if not cube.has_level(name) or not cube.level(name).filterable:
            raise CubeError("cube.level.unknown", "the facts of a cell are listed by filterable levels only",
                            field="/cell")
    if "fact_key" not in declared_table(cube.fact).column_names:
        raise CubeError("cube.query.invalid", "this cube's facts carry no fact key", field="/cube")
    limit = max(1, min(int(limit), MAX_FACT_KEYS))
    shown = execute(backend, query, scope=scope)
    found = next((c for c in shown["cells"] if all(c.get(name) == value for name, value in cell.items())), None)
    if found is None:
        raise CubeError("cube.query.invalid", "no such cell in the query's answer", field="/cell")
    if found["suppressed"]:
        raise CubeError("access.denied", "the cell is withheld (small count): its facts are not listed")
    filters = (*query.filters, *(Filter(name, (value,)) for name, value in cell.items()))
    compiled = compile_fact_keys(Part(cube, (), (), filters, query.period), scope=scope,
                                 distributed=bool(getattr(backend, "cluster", None)), limit=limit + 1)
    keys = [str(key) for key in backend.query_df(compiled.sql, compiled.params)["m0"].tolist()]
    return {"cube": cube.name, "cell": dict(cell), "period": shown["period"],
            "fact_keys": keys[:limit], "complete": len(keys) <= limit}


__all__ = ["cell_fact_keys", "MAX_FACT_KEYS"]
