"""Normalizers: one pure function per (document type, schema version), from a document to rows.

A normalizer takes the validated document, its header and a namespace-bound reader, and returns
``Normalized``: rows as ``(table name, column values)``. The store adds the columns every row
shares (document, institution, person). Adding a document type is adding a module here that
registers itself with ``@normalizer``.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

from lxml import etree

from protocol.errors import RecordError
from schemas.reader import Reader

from ..header import DocumentHeader

Row = tuple[str, dict]


@dataclass
class Normalized:
    rows: list[Row] = field(default_factory=list)
    cancels: tuple[str, str] | None = None  # (id root, document id) a Cancellation retracts


Normalizer = Callable[[etree._Element, DocumentHeader, Reader], Normalized]
_REGISTRY: dict[tuple[str, int], Normalizer] = {}
_loaded = False


def normalizer(type_name: str, version: int = 1):
    """Register the decorated function as the normalizer of ``type_name`` at schema ``version``."""
    def register(function: Normalizer) -> Normalizer:
        key = (type_name, version)
        if key in _REGISTRY:
            raise ValueError(f"two normalizers for {key}")
        _REGISTRY[key] = function
        return function
    return register


def registered() -> dict[tuple[str, int], Normalizer]:
    global _loaded
    if not _loaded:
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")
        _loaded = True
    return _REGISTRY


def normalizer_for(type_name: str, version: int) -> Normalizer:
    try:
        return registered()[(type_name, version)]
    except KeyError:
        raise RecordError("record.type.unknown", "no normalizer for this type and version") from None


__all__ = ["Row", "Normalized", "Normalizer", "normalizer", "normalizer_for", "registered"]
