"""Every kind of event of the region, planned per member and month: the extension point of the generator.

A member-month is planned by the outpatient visits first (visits.py), then by each planner in
``PLANNERS`` in turn; a planner gets the ``MonthContext`` (the region, the residents, the member,
the month, the seed and the events planned before it, so that prescriptions can follow visits and
monthly statistics can count them) and returns its own events. Like the visits, a planner seeds
its random stream by ``(seed, kind, member, month)`` alone, so any member-month can be re-planned on
its own and the truth and the documents always agree.

An event is anything with the ``Event`` attributes: it renders its canonical document on demand
and says who it is about (``person_id``, or ``None`` for a member's own reports and drug movements).
A planner module may keep truth of its own: ``TRUTH`` factories (``Truth``: ``add`` each event it
cares for, then ``files()`` → {relative path: (columns, rows)}) are written into ``DIR/truth/`` by
``generate``.

    for member, year, month, events in plan_all(region, pools, seed=7, periods=[(2025, 1)]):
        for event in events:
            document = event.render(region)
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from lxml import etree

from .model import Institution, Region
from .visits import Pools, Visit, plan_month


class Event(Protocol):
    record_id: str          # the document id (extension of the document id root)
    institution: str        # the sending member
    person_id: str | None   # the true person the document is about (None: no patient)

    @property
    def kind(self) -> str: ...           # the canonical document type, e.g. "OutpatientVisit"

    @property
    def month(self) -> str: ...          # "YYYY-MM" of the event

    def render(self, region: Region) -> etree._Element: ...


@dataclass(frozen=True)
class MonthContext:
    region: Region
    pools: Pools
    member: Institution
    seed: int
    year: int
    month: int
    planned: tuple          # the events planned before this planner (visits first)


class Truth(Protocol):
    def add(self, event: Event) -> None: ...

    def files(self) -> dict[str, tuple[tuple[str, ...], Iterable[tuple]]]: ...


Planner = Callable[[MonthContext], list]
# Planners run in this order after the visits. Each module appends itself here (one line each).
PLANNERS: list[Planner] = []
# Truth keepers: factories of ``Truth`` objects (one fresh object per ``generate``).
TRUTHS: list[Callable[[], Truth]] = []


def senders(region: Region) -> tuple[Institution, ...]:
    """The members that send documents, in code order: the care givers and the distributor."""
    return tuple(sorted((i for i in region.institutions if i.sees_patients or i.kind == "distributor"),
                        key=lambda i: i.code))


def plan(region: Region, pools: Pools, member: Institution, *, seed: int, year: int, month: int) -> list:
    """All events of ``member`` in ``year``-``month``: its visits, then each planner's events."""
    events: list = (plan_month(region, pools, member, seed=seed, year=year, month=month)
                    if member.sees_patients else [])
    for planner in PLANNERS:
        events.extend(planner(MonthContext(region, pools, member, seed, year, month, tuple(events))))
    return events


def plan_all(region: Region, pools: Pools, *, seed: int, periods: list[tuple[int, int]]
             ) -> Iterator[tuple[Institution, int, int, list]]:
    """Every sending member × month with all its events (member by member, month by month)."""
    for member in senders(region):
        for year, month in periods:
            yield member, year, month, plan(region, pools, member, seed=seed, year=year, month=month)


__all__ = ["Event", "MonthContext", "Truth", "Planner", "PLANNERS", "TRUTHS", "senders", "plan", "plan_all",
           "Visit"]
