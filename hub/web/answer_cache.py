"""The cube API's answers kept between ETL runs: a bounded LRU in the web process.

The mart changes only when an ETL run finishes, so an answer is keyed by (cube, the parsed query,
the caller's scope, the mart's generation). The generation is the id of the latest *finished* run in
the OLTP ``etl_run`` table, which every process sees: a new run makes every older entry unreachable
(and they age out of the LRU). With no finished run there is no generation and nothing is kept — a
mart filled some other way is read afresh each time.

The parsed query carries its resolved period (relative periods resolve against today), and the scope
is part of the key, so two scopes never share an answer and suppression stays per scope.
"""
from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..store.metadata import metadata

FINISHED = "finished"  # etl.models.RunStatus.FINISHED (the hub reads etl's table by name, as the monitor does)
DEFAULT_SIZE = 300  # a few hundred answers: the dashboards' charts for every scope in use


def mart_generation(session: Session) -> int | None:
    """The id of the latest finished ETL run (None: none has finished)."""
    runs = metadata().tables["etl_run"]
    return session.scalar(select(func.max(runs.c.id)).where(runs.c.status == FINISHED))


class AnswerCache:
    """Answers by (key, generation), least recently used dropped past ``size``; thread-safe."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._answers: OrderedDict[tuple, dict] = OrderedDict()
        self._generation: int | None = None
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._answers)

    def get_or_compute(self, key: Hashable, *, generation: int | None, compute: Callable[[], dict]) -> dict:
        """The answer kept for ``key`` at ``generation``, else ``compute()`` kept; a copy either way
        (callers may change what they get)."""
        if generation is None:
            return compute()
        with self._lock:
            if generation != self._generation:  # a new ETL run: every kept answer is stale
                self._answers.clear()
                self._generation = generation
            kept = self._answers.get(key)
            if kept is not None:
                self._answers.move_to_end(key)
                self.hits += 1
                return copy.deepcopy(kept)
            self.misses += 1
        fresh = compute()  # outside the lock: two misses of one key both compute, and agree
        with self._lock:
            if generation == self._generation:
                self._answers[key] = copy.deepcopy(fresh)
                self._answers.move_to_end(key)
                while len(self._answers) > self.size:
                    self._answers.popitem(last=False)
        return fresh


class LabelCache:
    """Names of level codes (districts, institutions, …) by mart generation: the dimensions change only
    with an ETL run, so a dashboard's six charts, which name the same codes, ask the engine once (the
    first asks, the others wait for it) instead of a statement each. Names are not scoped: a code is
    only looked up when it is in a caller's cells. Thread-safe."""

    def __init__(self) -> None:
        self._generation: int | None = None
        self._names: dict[str, dict[str, str | None]] = {}
        self._lock = threading.Lock()
        self._asking: dict[str, threading.Lock] = {}  # per level: one statement in flight
        self.statements = 0

    def names(self, level: str, codes: list[str], *, generation: int | None,
              fetch: Callable[[list[str]], dict[str, str]]) -> dict[str, str]:
        """{code: name} of ``codes`` (codes without a name left out), fetching only codes not kept."""
        if generation is None:
            return fetch(codes)
        with self._lock:
            if generation != self._generation:
                self._names, self._asking, self._generation = {}, {}, generation
            kept = self._names.setdefault(level, {})
            asking = self._asking.setdefault(level, threading.Lock())
        with asking:
            missing = [code for code in codes if code not in kept]
            if missing:
                fetched = fetch(missing)
                self.statements += 1
                kept.update({code: fetched.get(code) for code in missing})
            return {code: kept[code] for code in codes if kept[code]}


__all__ = ["AnswerCache", "LabelCache", "mart_generation", "DEFAULT_SIZE"]
