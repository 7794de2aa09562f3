"""The ETL's one error root: every failure it raises on purpose carries a dotted machine code.

Arguments in the order of every error root of the project: ``(code, detail, **fields)``. Details
are fixed text: no value read from the store (patient data) is ever put in them.
"""
from __future__ import annotations

from typing import Any


class EtlError(Exception):
    """Root of every error raised by ``etl``."""

    def __init__(self, code: str, detail: str = "", **fields: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.fields = fields

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class LineageError(EtlError):
    """A fact key that cannot name an OLTP row."""


class TransformError(EtlError):
    """A fact table without a transform, or a transform that misses one of its columns (a bug)."""


class MartLocationError(EtlError):
    """The mart's location (``HIE_MART_URL``) names no engine the ETL knows."""


__all__ = ["EtlError", "LineageError", "TransformError", "MartLocationError"]
