"""The one error root of ``olap``: every failure carries a dotted machine code and structured fields.

Messages never echo parameter values (they may hold patient-derived data); the engine's own text is
cut before the C++ stack trace that ClickHouse 18.16 appends to every exception.
"""
from __future__ import annotations

from typing import Any


class OlapError(Exception):
    """Root of every error raised by ``olap``: a dotted machine code, a fixed detail, structured fields.

    Arguments in the order of every error root of the project: ``(code, detail, **fields)``. Each
    subclass's ``code`` names its family (``olap.query.failed`` …); an instance's code refines it.
    """

    code = "olap.error"

    def __init__(self, code: str, detail: str = "", **fields: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.fields = fields

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class ParameterError(OlapError):
    """A query parameter is missing, unused, of the wrong type or not representable."""

    code = "olap.param.invalid"


class QueryError(OlapError):
    """The engine refused or failed a statement; ``engine_code`` is ClickHouse's numeric code."""

    code = "olap.query.failed"


class BackendUnavailable(OlapError):
    """The engine cannot be opened or reached (library missing, wrong chDB path, server down)."""

    code = "olap.backend.unavailable"


class SchemaError(OlapError):
    """The mart's schema cannot be applied (unknown version, newer mart than this code)."""

    code = "olap.schema.invalid"


def engine_message(text: str, limit: int = 300) -> str:
    """An engine's message without its stack trace, on one line and shortened: enough to diagnose."""
    text = str(text).split("Stack trace", 1)[0]
    return " ".join(text.split())[:limit]


__all__ = ["OlapError", "ParameterError", "QueryError", "BackendUnavailable", "SchemaError", "engine_message"]
