"""xs:dateTime in UTC as the profile writes and reads it (``2026-11-22T03:04:05.678Z``)."""
from __future__ import annotations

import re
from datetime import datetime, timezone

_PATTERN = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$")


def format_utc(moment: datetime) -> str:
    """Millisecond UTC timestamp with a ``Z`` suffix."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_utc(text: str | None) -> datetime | None:
    """Parse a profile timestamp; ``None`` when it is missing or not in the UTC ``Z`` form."""
    if text is None:
        return None
    match = _PATTERN.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro,
                        tzinfo=timezone.utc)
    except ValueError:
        return None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


__all__ = ["format_utc", "parse_utc", "utcnow"]
