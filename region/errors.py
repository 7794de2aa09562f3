"""The synthetic region's one error root: a dotted machine code, one human line, structured fields.

Arguments in the order of every error root of the project: ``(code, detail, **fields)``.
"""
from __future__ import annotations

from typing import Any


class RegionError(Exception):
    """Root of every error raised by ``region`` (``region.files.version``, ``region.files.missing``, ``region.size``)."""

    def __init__(self, code: str, detail: str = "", **fields: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.fields = fields

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


__all__ = ["RegionError"]
