"""What every source adapter returns, and the registry the agent looks adapters up in.

A source adapter is pure mapping: it receives what the agent collected (the bytes of one file,
or the rows of one query) and yields ``SourceItem``s. It opens no network connection and no
database session of its own. Each item has a ``key`` that is stable for the same source record
(the agent derives the message id from it, so re-reading the same file or row never sends a
second copy) and either a canonical document, validated with ``schemas.validation.validate``,
or a ``Quarantine`` that says, without echoing any patient data, why it could not be built.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

from lxml import etree


@dataclass(frozen=True)
class Quarantine:
    """Why a source record could not become a canonical document (never carries patient data)."""

    code: str  # e.g. "source.hl7.segment.missing", or the hub's record.* code from validation
    message: str  # short English phrase
    field: str = ""  # where: "PID-3", "column visit_date", an XPath, ...


@dataclass(frozen=True)
class SourceItem:
    key: str  # stable identity of the source record, unique within the source
    document: etree._Element | None = None
    problem: Quarantine | None = None

    def __post_init__(self):
        if (self.document is None) == (self.problem is None):
            raise ValueError("a SourceItem has either a document or a problem")


@dataclass(frozen=True)
class SourceContext:
    """What a source needs to know about the organization it runs for."""

    institution: str  # the member's code: the author institution of every document built (its certificate's)
    institution_name: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)  # the source's own section of the agent config


class Source(Protocol):
    def __call__(self, payload: Any, context: SourceContext) -> Iterator[SourceItem]: ...


SOURCES: dict[str, Source] = {}


def source(kind: str) -> Callable[[Source], Source]:
    """Register an adapter under the ``kind`` name used in the agent's TOML config."""

    def register(function: Source) -> Source:
        if kind in SOURCES:
            raise ValueError(f"source kind {kind!r} registered twice")
        SOURCES[kind] = function
        return function

    return register


_MODULES = ("canonical", "hl7v2", "cda", "csv_rows", "database")


def load_all() -> None:
    """Import every source module, so each registers its kind."""
    for name in _MODULES:
        importlib.import_module(f"{__package__}.{name}")


def items(kind: str, payload: Any, context: SourceContext) -> Iterable[SourceItem]:
    load_all()
    try:
        adapter = SOURCES[kind]
    except KeyError:
        raise ValueError(f"unknown source kind {kind!r}; known: {', '.join(sorted(SOURCES))}") from None
    return adapter(payload, context)
