"""Value conversions every source adapter shares: timestamps, dates, decimals, versions.

Clinic systems write times as HL7 timestamps (``20261122093000+0800``), ISO-like text
(``2026-11-22 09:30``) or database ``datetime`` objects, usually without an offset. The canonical
documents require an offset, so a configured default (China: ``+08:00``) is applied to local
times. Conversion failures raise ``SourceProblem``, whose message is fixed text: the value itself is
never quoted, since it may be patient data.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

DEFAULT_OFFSET = "+08:00"
# Versions are seconds since this instant: monotonic in the source's own change time and small
# enough for the hub's 32-bit version column until 2068.
_VERSION_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
_HL7_TS = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?")
_CJK = re.compile(r"[\u3400-\u9fff\U00020000-\U0003ffff]")  # CJK ideographs, extension A and B onwards
_ISO_TS = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?"
                     r"\s*(Z|[+-]\d{2}:?\d{2})?")


class SourceProblem(Exception):
    """A source record cannot be mapped; becomes a ``Quarantine`` with the same fields."""

    def __init__(self, code: str, message: str, field: str = ""):
        super().__init__(code)
        self.code = code
        self.message = message
        self.field = field


def _offset(text: str | None, default: str) -> timezone:
    raw = (text or default).replace(":", "")
    if raw in ("Z", "z"):
        return timezone.utc
    sign = -1 if raw[0] == "-" else 1
    hours, minutes = int(raw[1:3]), int(raw[3:5])
    if hours > 14 or minutes > 59:
        raise ValueError("offset out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_datetime(value: Any, *, field: str, default_offset: str = DEFAULT_OFFSET,
                   code: str = "source.value.datetime") -> datetime:
    """An aware datetime from an HL7 timestamp, ISO-like text or a ``datetime``/``date`` object."""
    try:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=_offset(None, default_offset))
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=_offset(None, default_offset))
        text = str(value).strip()
        match = _HL7_TS.fullmatch(text) or _ISO_TS.fullmatch(text)
        if match is None or (match.re is _HL7_TS and match.group(3) is None):
            raise ValueError("not a timestamp")
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups()[:6])
        return datetime(year, month, day, hour, minute, second, tzinfo=_offset(match.group(7), default_offset))
    except (ValueError, TypeError, IndexError):
        raise SourceProblem(code, "not a valid date and time", field) from None


def iso_datetime(value: Any, *, field: str, default_offset: str = DEFAULT_OFFSET,
                 code: str = "source.value.datetime") -> str:
    """``xs:dateTime`` text with an offset, as the canonical documents require."""
    return parse_datetime(value, field=field, default_offset=default_offset, code=code).isoformat()


def iso_date(value: Any, *, field: str, code: str = "source.value.date") -> str:
    """``xs:date`` text from an HL7 date/timestamp, ISO-like text or a date object."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(?:\d{0,6}(?:\.\d+)?)?(?:[+-]\d{4})?", text) or \
        re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?", text)
    try:
        if match is None:
            raise ValueError("not a date")
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3))).isoformat()
    except ValueError:
        raise SourceProblem(code, "not a valid date", field) from None


def year_month(value: Any, *, field: str, code: str = "source.value.date") -> str:
    """``xs:gYearMonth`` text (``2026-10``) from ``2026-10``, ``2026/10``, ``202610``, a date or a full date."""
    if isinstance(value, date):
        return f"{value.year:04d}-{value.month:02d}"
    text = str(value).strip()
    match = re.fullmatch(r"(\d{4})[-/.](\d{1,2})(?:[-/.]\d{1,2}(?:[ T].*)?)?", text) or \
        re.fullmatch(r"(\d{4})(\d{2})(?:\d{2}\d*)?", text)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise SourceProblem(code, "not a valid year and month", field)
    return f"{match.group(1)}-{int(match.group(2)):02d}"


_TRUE = {"1", "true", "t", "y", "yes", "是"}
_FALSE = {"0", "false", "f", "n", "no", "否"}


def boolean_text(value: Any, *, field: str, code: str = "source.value.boolean") -> str:
    """``true`` / ``false`` from 1/0, true/false, y/n, yes/no, 是/否 (any case) or a bool."""
    text = str(value).strip().lower()
    if text in _TRUE:
        return "true"
    if text in _FALSE:
        return "false"
    raise SourceProblem(code, "not a yes/no value", field)


def count_text(value: Any, *, field: str, code: str = "source.value.number") -> str:
    """A whole number as text (``28``, also from ``28.0``); a fraction is not a count."""
    text = decimal_text(value, field=field, places=3, trim=True, code=code)
    if "." in text:
        raise SourceProblem(code, "not a whole number", field)
    return text


def version_of(moment: datetime) -> int:
    """A document version that grows with the source's change time (seconds since 2000, ≥ 1)."""
    return max(1, int((moment - _VERSION_EPOCH).total_seconds()))


def decimal_text(value: Any, *, field: str, places: int, trim: bool = False,
                 code: str = "source.value.number") -> str:
    """A plain decimal string rounded to ``places`` (amounts 2, quantities 3)."""
    try:
        number = Decimal(str(value).strip().replace(",", ""))
        if not number.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise SourceProblem(code, "not a valid number", field) from None
    text = f"{number.quantize(Decimal(1).scaleb(-places)):f}"
    # Money keeps its two decimals; quantities lose trailing zeros ("2", not "2.000").
    return text.rstrip("0").rstrip(".") if trim and "." in text else text


def clean_text(value: Any) -> str:
    """Whitespace collapsed; ``None`` becomes the empty string."""
    return " ".join(str(value).split()) if value is not None else ""


def person_name(*parts: Any) -> str:
    """A name from its parts in order (family, given): no space between Chinese parts, one between Latin ones.

    诸葛 + 明远 is 诸葛明远 (a space would make it another name to the matcher); Smith + John is
    ``Smith John``. Every source adapter joins names with this one rule.
    """
    kept = [text for text in map(clean_text, parts) if text]
    return clean_text(("" if any(_CJK.search(text) for text in kept) else " ").join(kept))


__all__ = ["DEFAULT_OFFSET", "SourceProblem", "parse_datetime", "iso_datetime", "iso_date", "year_month",
           "boolean_text", "count_text", "version_of", "decimal_text", "clean_text", "person_name"]
