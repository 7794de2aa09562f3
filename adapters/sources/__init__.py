"""Source adapters: clinic data (files, rows) → canonical documents. See ``base``."""
from __future__ import annotations

import importlib

from .base import SOURCES, Quarantine, SourceContext, SourceItem, items, source

_MODULES = ("canonical", "hl7v2", "cda", "csv_rows", "database")


def load_all() -> None:
    for name in _MODULES:
        importlib.import_module(f"{__name__}.{name}")


__all__ = ["SOURCES", "Quarantine", "SourceContext", "SourceItem", "items", "source", "load_all"]
