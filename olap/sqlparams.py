"""The one place where values become SQL: typed ``{name:Type}`` placeholders and identifiers.

Every query of the mart is written with ClickHouse's own placeholder syntax, ``{name:Type}``, and
both backends bind it here, client-side, into ``CAST(<literal> AS Type)``:

- ClickHouse 18.16 has no server-side parameters on the native protocol;
- chDB's ``params=`` reads values in the TSV *escaped* format, so ``a\\b`` arrives as ``a<BS>`` and a
  tab is refused — measured on chDB 4.4. One literal renderer used by both engines means both see
  the same SQL text and there is one function to test against hostile strings.

Substitution is a single pass, so a value is never rescanned for placeholders. Values are checked
against the declared type before rendering; a value that cannot be represented exactly (NaN, a
naive datetime, a lone surrogate) is refused, never coerced.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .errors import ParameterError

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):([^{}]*)\}")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# A type name with nested arguments, e.g. Array(Nullable(String)), Decimal(18, 2): letters, digits,
# underscores, commas, spaces and parentheses only (checked for balance below).
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\([A-Za-z0-9_(), ]*\))?$")
_ESCAPES = {"\\": "\\\\", "'": "\\'", "\0": "\\0", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPE_RE = re.compile("[\\\\'\0\n\r\t]")

_INTEGER_TYPES = {f"{sign}Int{bits}" for sign in ("", "U") for bits in (8, 16, 32, 64)}
_FLOAT_TYPES = {"Float32", "Float64"}


def identifier(name: str) -> str:
    """A database, table or column name, checked: only ``[A-Za-z_][A-Za-z0-9_]*`` is ever accepted."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ParameterError("olap.identifier.invalid", "not a plain identifier")
    return name


def quote_string(text: str) -> str:
    """A ClickHouse string literal: quote, backslash, NUL and control characters escaped."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ParameterError("olap.param.invalid", "string is not valid Unicode text (lone surrogate)") from None
    return "'" + _ESCAPE_RE.sub(lambda match: _ESCAPES[match.group(0)], text) + "'"


def render_literal(value: Any) -> str:
    """The SQL literal of one Python value (None, bool, int, float, Decimal, str, date, datetime, list)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ParameterError("olap.param.invalid", "float parameter is not finite")
        return repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ParameterError("olap.param.invalid", "decimal parameter is not finite")
        return str(value)
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ParameterError("olap.param.invalid", "naive datetime parameter: give an aware (UTC) datetime")
        # Epoch seconds: independent of the engine's time zone (chDB takes the process's).
        return str(int(value.timestamp()))
    if isinstance(value, date):
        return quote_string(value.isoformat())
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render_literal(item) for item in value) + "]"
    raise ParameterError("olap.param.invalid", f"unsupported parameter type {type(value).__name__}")


def _split_type(type_name: str) -> tuple[str, str]:
    """``Array(Nullable(String))`` -> (``Array``, ``Nullable(String)``); ``UInt8`` -> (``UInt8``, '')."""
    head, _, rest = type_name.partition("(")
    return head, rest[:-1] if rest else ""


def _check_type(type_name: str) -> str:
    type_name = type_name.strip()
    depth = 0
    for char in type_name:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if not _TYPE.match(type_name) or depth != 0:
        raise ParameterError("olap.param.type", "placeholder type is not a ClickHouse type name")
    return type_name


def _check_value(type_name: str, value: Any) -> None:
    """Refuse a value that does not fit its declared type (the engine would refuse it less clearly)."""
    head, inner = _split_type(type_name)
    if head == "Nullable":
        if value is not None:
            _check_value(inner, value)
        return
    if value is None:
        raise ParameterError("olap.param.invalid", "NULL given for a non-Nullable placeholder")
    if head == "Array":
        if not isinstance(value, (list, tuple)):
            raise ParameterError("olap.param.invalid", "Array placeholder needs a list or tuple")
        for item in value:
            _check_value(inner, item)
        return
    expected: tuple[type, ...] | None = None
    if head in _INTEGER_TYPES:
        expected = (int,)
        if isinstance(value, int) and head.startswith("U") and value < 0:
            raise ParameterError("olap.param.invalid", "negative value for an unsigned placeholder")
    elif head in _FLOAT_TYPES or head.startswith("Decimal"):
        expected = (int, float, Decimal)
    elif head in ("String", "FixedString"):
        expected = (str,)
    elif head == "Date":
        expected = (date,)
        if isinstance(value, datetime):
            raise ParameterError("olap.param.invalid", "datetime given for a Date placeholder")
    elif head == "DateTime":
        expected = (datetime,)
    if isinstance(value, bool) and head != "UInt8":
        raise ParameterError("olap.param.invalid", "bool given for a placeholder that is not a UInt8 flag")
    if expected is not None and not isinstance(value, expected):
        raise ParameterError("olap.param.invalid", f"{type(value).__name__} does not fit placeholder type {head}")


def bind(sql: str, params: Mapping[str, Any] | None) -> str:
    """Replace every ``{name:Type}`` in ``sql`` by ``CAST(<literal> AS Type)``; refuse missing or unused names."""
    params = dict(params or {})
    used: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        name, type_name = match.group(1), _check_type(match.group(2))
        if name not in params:
            raise ParameterError("olap.param.missing", "query placeholder has no value", name=name)
        value = params[name]
        _check_value(type_name, value)
        used.add(name)
        return f"CAST({render_literal(value)} AS {type_name})"

    bound = _PLACEHOLDER.sub(substitute, sql)
    unused = sorted(set(params) - used)
    if unused:
        raise ParameterError("olap.param.unused", "parameters given that the query does not use", names=unused)
    return bound


__all__ = ["identifier", "quote_string", "render_literal", "bind"]
