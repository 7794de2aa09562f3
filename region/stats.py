"""Institution monthly statistics (InstitutionMonthlyStats) of every care giver, consistent with its events.

Planned after every other kind (its module is imported last), it reads the member-month's planned
events: ``outpatientVisits`` is the number of its outpatient visits, ``inpatientDischarges`` the
stays it discharged (RH01 only; the others have no wards and send neither the element nor beds),
and each revenue category is those events' charges of that category, plus in ``other`` 3-8 % more
(registration, services that send no document). Staff on duty are the member's registered doctors
and, per doctor, 2.4 others at a hospital (nurses, technicians, administration), 1.6 at a centre and
1 at a station, give or take one a month. RH01's approved beds fit its planned stays at 85 %
occupancy over the year (winter fuller), a few of them closed in some months; fixed assets are a
hospital's 180,000 yuan a staff member and 250,000 a bed (a community member's 120,000 a staff
member), growing 0.2 % a month.
The report for a month is sent on the 5th of the next.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from lxml import etree

from .events import PLANNERS, TRUTHS, MonthContext
from .model import Institution, Region
from .public_health import add_months, document
from .stays import VISITS_PER_ADMISSION, Stay, yuan
from .visits import CHINA, DOC, Pools, Visit, expected_visits

CATEGORIES = ("drugs", "examinations", "treatment", "other")
OTHER_STAFF = {"hospital": 2.4, "community_center": 1.6, "clinic": 1.0}  # per registered doctor
MEAN_STAY_DAYS, OCCUPANCY = 8.7, 0.85  # the stays' mean (measured: 8.5-9.0 a month)
ASSETS_PER_STAFF = {"hospital": 18_000_000, "community_center": 12_000_000, "clinic": 12_000_000}  # fen
ASSETS_PER_BED = 25_000_000
ASSETS_GROWTH = 0.002  # a month
OTHER_REVENUE = (0.03, 0.08)


@dataclass(frozen=True)
class MonthlyStats:
    record_id: str
    institution: str
    year: int
    period: int               # the month reported
    staff: int
    approved_beds: int
    open_beds: int
    fixed_assets_fen: int
    visits: int
    discharges: int | None    # None: no wards, the element is left out
    revenue_fen: tuple[tuple[str, int], ...]
    person_id: None = None
    kind: ClassVar[str] = "InstitutionMonthlyStats"

    @property
    def month(self) -> str:
        return f"{self.year}-{self.period:02d}"

    def render(self, region: Region) -> etree._Element:
        sent = datetime(self.year, self.period, 1, 8, tzinfo=CHINA)
        sent = datetime.combine(add_months(sent.date(), 1), sent.timetz()) + timedelta(days=4)
        doc = document(region, kind=self.kind, record_id=self.record_id, effective=sent,
                       institution=self.institution, practitioner=None, patient=None)
        body = doc.find(f"{DOC}body")
        body.find(f"{DOC}period").set("value", self.month)
        for name, value in (("staffOnDuty", self.staff), ("approvedBeds", self.approved_beds),
                            ("openBeds", self.open_beds), ("fixedAssets", yuan(self.fixed_assets_fen)),
                            ("outpatientVisits", self.visits)):
            body.find(f"{DOC}{name}").text = str(value)
        discharges = body.find(f"{DOC}inpatientDischarges")
        if self.discharges is None:
            body.remove(discharges)
        else:
            discharges.text = str(self.discharges)
        for revenue in body.findall(f"{DOC}revenue"):
            body.remove(revenue)
        for category, fen in self.revenue_fen:
            etree.SubElement(body, f"{DOC}revenue", category=category, amount=yuan(fen))
        return doc


def approved_beds(region: Region, pools: Pools, member: Institution) -> int:
    """Beds for the year's planned stays at ``OCCUPANCY`` on average (more in winter); 0 without wards."""
    if not member.inpatient:
        return 0
    admissions = sum(expected_visits(region, pools, member, month) for month in range(1, 13)) / VISITS_PER_ADMISSION
    return max(1, math.ceil(admissions * MEAN_STAY_DAYS / 365 / OCCUPANCY))


def plan_stats(ctx: MonthContext) -> list[MonthlyStats]:
    """The monthly statistics of ``ctx.member`` (a care giver) for the month, from its planned events."""
    member = ctx.member
    if not member.sees_patients:
        return []
    rng = random.Random(f"{ctx.seed}:stats:{member.code}:{ctx.year}-{ctx.month:02d}")
    visits = [e for e in ctx.planned if isinstance(e, Visit)]
    stays = [e for e in ctx.planned if isinstance(e, Stay)]
    revenue = dict.fromkeys(CATEGORIES, 0)
    for event in (*visits, *stays):
        for category, fen in event.charges_fen:
            revenue[category] += fen
    revenue["other"] += round(sum(revenue.values()) * rng.uniform(*OTHER_REVENUE))
    doctors = sum(1 for p in ctx.region.practitioners if p.institution == member.code)
    staff = doctors + max(0, round(doctors * OTHER_STAFF[member.kind]) + rng.randint(-1, 1))
    beds = approved_beds(ctx.region, ctx.pools, member)
    open_beds = beds - (rng.randrange(max(1, beds // 20)) if beds else 0)
    base = doctors * (1 + OTHER_STAFF[member.kind]) * ASSETS_PER_STAFF[member.kind] + beds * ASSETS_PER_BED
    assets = round(base * (1 + ASSETS_GROWTH * (ctx.month - 1)))
    return [MonthlyStats(f"{member.code}-SYN-ST-{ctx.year}{ctx.month:02d}-00001", member.code, ctx.year, ctx.month,
                         staff, beds, open_beds, assets, len(visits), len(stays) if member.inpatient else None,
                         tuple(revenue.items()))]


STATS_COLUMNS = ("institution", "month", "staff_on_duty", "approved_beds", "open_beds", "fixed_assets_fen",
                 "outpatient_visits", "inpatient_discharges", *(f"revenue_{c}_fen" for c in CATEGORIES), "revenue_fen")


@dataclass
class StatsTruth:
    """The monthly statistics per institution × month, as the institution_month cube sums them."""

    rows: list = field(default_factory=list)

    def add(self, event) -> None:
        if isinstance(event, MonthlyStats):
            revenue = dict(event.revenue_fen)
            discharges = "" if event.discharges is None else event.discharges
            self.rows.append((event.institution, event.month, event.staff, event.approved_beds, event.open_beds,
                              event.fixed_assets_fen, event.visits, discharges,
                              *(revenue[c] for c in CATEGORIES), sum(revenue.values())))

    def files(self):
        return {"stats.csv": (STATS_COLUMNS, sorted(self.rows))}


PLANNERS.append(plan_stats)
TRUTHS.append(StatsTruth)

__all__ = ["MonthlyStats", "StatsTruth", "plan_stats", "approved_beds", "STATS_COLUMNS", "CATEGORIES"]
