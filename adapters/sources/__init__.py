"""Source adapters: clinic data (files, rows) → canonical documents. See ``base``."""
from __future__ import annotations

from .base import SOURCES, Quarantine, SourceContext, SourceItem, items, load_all, source

__all__ = ["SOURCES", "Quarantine", "SourceContext", "SourceItem", "items", "source", "load_all"]
