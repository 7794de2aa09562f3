"""DataFrame <-> ClickHouse column conversions, so that both engines give the same frames.

chDB's own DataFrame output is the reference (it is the embedded default and the fast path); the
server's columnar results are converted to the same dtypes:

====================================  =====================================================
ClickHouse type                       pandas dtype
====================================  =====================================================
(U)Int8…64                            numpy ``(u)int8…64``; with NULLs present: ``Int64``…
Float32 / Float64                     ``float32`` / ``float64``
Decimal(P, S)                         ``float64`` (the mart keeps money as Int64 fen instead)
String, LowCardinality(String)        ``str``
Date                                  ``datetime64[s]``
DateTime('UTC')                       ``datetime64[s, UTC]``
Array(T)                              ``object`` (one list / array per row)
====================================  =====================================================
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

_INT_DTYPES = {f"{sign}Int{bits}": f"{sign.lower()}int{bits}" for sign in ("", "U") for bits in (8, 16, 32, 64)}


def base_type(ch_type: str) -> str:
    """Strip ``Nullable(…)`` and ``LowCardinality(…)`` wrappers: ``LowCardinality(Nullable(String))`` -> ``String``."""
    for wrapper in ("Nullable(", "LowCardinality("):
        while ch_type.startswith(wrapper):
            ch_type = ch_type[len(wrapper):-1]
    return ch_type


def _int_series(values: Sequence[Any], ch_type: str) -> pd.Series:
    numpy_dtype = _INT_DTYPES[ch_type]
    if any(value is None for value in values):
        nullable = numpy_dtype.replace("uint", "UInt").replace("int", "Int")
        return pd.Series(pd.array(list(values), dtype=nullable))
    return pd.Series(np.asarray(values, dtype=numpy_dtype))


def series_from_column(values: Sequence[Any], ch_type: str) -> pd.Series:
    """One result column from the native protocol as the pandas series chDB would give."""
    kind = base_type(ch_type)
    if kind in _INT_DTYPES:
        return _int_series(values, kind)
    if kind in ("Float32", "Float64"):
        return pd.Series(np.asarray([np.nan if v is None else v for v in values], dtype=kind.lower()))
    if kind.startswith("Decimal"):
        return pd.Series(np.asarray([np.nan if v is None else float(v) for v in values], dtype="float64"))
    if kind == "Date":
        return pd.Series(pd.to_datetime(list(values)).astype("datetime64[s]"))
    if kind.startswith("DateTime"):
        stamps = pd.to_datetime(list(values))
        stamps = stamps.tz_localize("UTC") if stamps.tz is None else stamps.tz_convert("UTC")
        return pd.Series(stamps.astype("datetime64[s, UTC]"))
    if kind in ("String",) or kind.startswith("FixedString"):
        return pd.Series(list(values), dtype="str")
    return pd.Series(list(values), dtype="object")


def frame_from_columns(columns: Sequence[Sequence[Any]], types: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """A DataFrame from clickhouse-driver's ``columnar=True, with_column_types=True`` answer."""
    if not columns:
        columns = [[] for _ in types]
    data = {name: series_from_column(values, ch_type) for values, (name, ch_type) in zip(columns, types)}
    return pd.DataFrame(data, columns=[name for name, _ in types])


def normalize_chdb_frame(frame: pd.DataFrame, types: Mapping[str, str]) -> pd.DataFrame:
    """chDB's empty frame with text columns as ``str`` (chDB gives ``object`` for LowCardinality ones)."""
    text = {name: "str" for name, ch_type in types.items()
            if name in frame.columns and (base_type(ch_type) == "String" or base_type(ch_type).startswith("FixedString"))}
    return frame.astype(text)


def column_for_insert(series: pd.Series, ch_type: str) -> list[Any]:
    """One DataFrame column as the Python values clickhouse-driver writes for ``ch_type``.

    A naive timestamp is taken as UTC (the mart stores UTC only); NA becomes None.
    """
    kind = base_type(ch_type)
    if kind == "Date" or kind.startswith("DateTime"):
        stamps = pd.to_datetime(series)
        missing = stamps.isna().tolist()
        if kind == "Date":
            values = stamps.dt.date.tolist()
        else:
            stamps = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps.dt.tz_convert("UTC")
            values = list(stamps.dt.to_pydatetime())
        return [None if gone else value for value, gone in zip(values, missing)]
    mask = series.isna().tolist() if not kind.startswith("Array") else [False] * len(series)
    values = series.tolist()
    if any(mask):
        values = [None if missing else value for value, missing in zip(values, mask)]
    if kind.startswith("Array"):
        values = [list(value) for value in values]
    return values


def conform(df: pd.DataFrame, types: Mapping[str, str]) -> pd.DataFrame:
    """``df`` with each column cast to the dtype :func:`series_from_column` gives for its ClickHouse type.

    Loaders conform their frames so that a frame read back from the mart compares equal to the
    frame that was loaded (this is what lets dimension loads skip unchanged rows).
    """
    out = {}
    for name in df.columns:
        series, kind = df[name], base_type(types[name])
        if kind in _INT_DTYPES:
            numpy_dtype = _INT_DTYPES[kind]
            nullable = numpy_dtype.replace("uint", "UInt").replace("int", "Int")
            series = series.astype(nullable) if series.isna().any() else series.astype(numpy_dtype)
        elif kind in ("Float32", "Float64"):
            series = series.astype(kind.lower())
        elif kind == "Date":
            series = pd.to_datetime(series).astype("datetime64[s]")
        elif kind.startswith("DateTime"):
            stamps = pd.to_datetime(series)
            stamps = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps.dt.tz_convert("UTC")
            series = stamps.astype("datetime64[s, UTC]")
        elif kind == "String" or kind.startswith("FixedString"):
            series = series.astype("str")
        out[name] = series.reset_index(drop=True)
    return pd.DataFrame(out, columns=list(df.columns))


__all__ = ["base_type", "series_from_column", "frame_from_columns", "normalize_chdb_frame", "column_for_insert",
           "conform"]
