"""Checks shared by the registry writes: each failure is ``registry.invalid`` naming the field (a JSON
pointer to the argument), with a detail for operators that never quotes the input."""
from __future__ import annotations

import re

from protocol.errors import HubError

INSTITUTION_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
LOCAL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
MAX_RESULTS = 500


def invalid(field: str, detail: str) -> HubError:
    return HubError("registry.invalid", detail, field=f"/{field}")


def text(value, field: str, *, max_length: int, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise invalid(field, "missing")
        return None
    if not isinstance(value, str) or len(value.strip()) > max_length:
        raise invalid(field, "not a text of the allowed length")
    return value.strip()


def code(value, field: str, pattern: re.Pattern = LOCAL_CODE) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise invalid(field, "missing or malformed code")
    return value


def one_of(value, field: str, allowed, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if value not in allowed:
        raise invalid(field, "not a known code")
    return value


def updatable(changes: dict, allowed: frozenset) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"not updatable: {sorted(unknown)}")


def page(limit: int, offset: int) -> tuple[int, int]:
    if not isinstance(limit, int) or not 0 < limit <= MAX_RESULTS:
        raise invalid("limit", f"limit must be 1..{MAX_RESULTS}")
    if not isinstance(offset, int) or offset < 0:
        raise invalid("offset", "offset must not be negative")
    return limit, offset


__all__ = ["INSTITUTION_CODE", "LOCAL_CODE", "MAX_RESULTS", "invalid", "text", "code", "one_of", "updatable", "page"]
