"""Periods and time buckets of the monitor: hours (UTC-aligned) and China-local days, on both databases.

A day is the local calendar day (China Standard Time, UTC+8, no daylight saving), as the ETL
counts days (``etl.transform.local_dates``). Buckets are grouped in SQL on a text key (SQLite
stores UTC times as naive ISO text; PostgreSQL formats them with ``to_char``), so a 92-day range
of a big inbox never travels to Python row by row.
"""
from __future__ import annotations

import enum
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, literal_column
from sqlalchemy.sql.elements import ColumnElement

from protocol.errors import HubError

LOCAL = timezone(timedelta(hours=8), "CST")  # China Standard Time: where the bureau's days begin
MAX_SPAN = {"hour": timedelta(days=92), "day": timedelta(days=731)}  # hourly ≤ a quarter, daily ≤ two years


class Grain(str, enum.Enum):
    HOUR = "hour"
    DAY = "day"


def aware(value: datetime, field: str) -> datetime:
    """``value`` in UTC; ``request.invalid`` for a time without its offset (which zone would it be?), or
    one whose UTC time falls outside years 1-9999 (``0001-01-01T00:00:00+14:00``)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise HubError("request.invalid", "a time needs its UTC offset", field=field)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise HubError("request.invalid", "a time outside years 1-9999 in UTC", field=field) from None


def asked_period(since: datetime | None, until: datetime | None, *, default: timedelta,
                 now: datetime) -> tuple[datetime, datetime]:
    """The period a request's optional ends name, in UTC: ``until`` defaults to ``now``, ``since`` to
    ``default`` before ``until``; unchecked for order and span (:func:`check_period` does that)."""
    until = aware(until, "/until") if until is not None else now
    if since is not None:
        return aware(since, "/since"), until
    try:
        return until - default, until
    except OverflowError:  # an ``until`` in year 1: no default start before it
        raise HubError("request.invalid", "no period of the default length ends at this time", field="/until") from None


def check_period(since: datetime, until: datetime, grain: Grain | str | None = None) -> tuple[datetime, datetime]:
    """[since, until) in UTC, checked: ordered, and no longer than ``MAX_SPAN`` of the grain (default: days)."""
    since, until = aware(since, "/since"), aware(until, "/until")
    if until <= since:
        raise HubError("request.invalid", "until must be after since", field="/until")
    span = MAX_SPAN[Grain(grain or Grain.DAY).value]
    if until - since > span:
        raise HubError("request.invalid", f"at most {span.days} days at this grain", field="/since")
    return since, until


def bucket_key(column, *, grain: Grain, dialect: str) -> ColumnElement:
    """A text key of ``column``'s bucket: ``YYYY-MM-DD HH`` (UTC hour) or ``YYYY-MM-DD`` (local day)."""
    if dialect == "sqlite":  # naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'
        return func.substr(column, 1, 13) if grain is Grain.HOUR else func.date(column, "+8 hours")
    utc = func.timezone("UTC", column)
    if grain is Grain.HOUR:
        return func.to_char(utc, "YYYY-MM-DD HH24")
    return func.to_char(utc + literal_column("interval '8 hours'"), "YYYY-MM-DD")


def bucket_start(key: str, grain: Grain) -> datetime:
    """Where the bucket of ``key`` begins, in local time."""
    if grain is Grain.HOUR:
        return datetime.strptime(key, "%Y-%m-%d %H").replace(tzinfo=timezone.utc).astimezone(LOCAL)
    return datetime.strptime(key, "%Y-%m-%d").replace(tzinfo=LOCAL)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


__all__ = ["LOCAL", "MAX_SPAN", "Grain", "aware", "asked_period", "check_period", "bucket_key", "bucket_start", "iso"]
