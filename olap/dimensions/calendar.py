"""The date dimension: one row per day with its week, month, quarter and year."""
from __future__ import annotations

from datetime import date

import pandas as pd


def date_dimension(start: date, end: date) -> pd.DataFrame:
    """Days from ``start`` to ``end`` inclusive; weeks are ISO weeks (Monday first)."""
    days = pd.date_range(start, end, freq="D")
    iso = days.isocalendar()
    return pd.DataFrame({
        "date": days.astype("datetime64[s]"),
        "year": days.year, "quarter": days.quarter, "month": days.month,
        "year_month": days.year * 100 + days.month,
        "week_start": (days - pd.to_timedelta(days.day_of_week, unit="D")).astype("datetime64[s]"),
        "iso_year": iso["year"].to_numpy(), "iso_week": iso["week"].to_numpy(),
        "day_of_week": days.day_of_week + 1, "is_weekend": (days.day_of_week >= 5).astype(int),
    })


__all__ = ["date_dimension"]
