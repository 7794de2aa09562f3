"""The region's outpatient visits as visit facts, and a scaled copy of them for ``bench.cubes`` and ``bench.etl``.

The full region (``region.Generated.build(seed, "full")``) has about 308,000 outpatient visits of 14
care givers over the 12 months of 2025. ``base_visits`` plans them (no documents are rendered) into
one row each: the member's index, the day of the year, the department and diagnosis, outpatient or
emergency, the true person, sex and age band, the charges in fen. The rows are put in a seeded random
order, so that any prefix of them is a uniform sample of the year.

``Scale`` says how a bigger fact table is made of them: copy ``c`` of the region is institution
group ``c // 2`` (its 14 members renamed ``I{1000 + 14·group + index}``, in districts of their own, its
residents renamed apart from every other group's) in year ``2025 + c % 2``; fact ``n = c·B + i`` is
row ``i`` of copy ``c`` and only ``n < rows`` are kept (the last copy a uniform sample). So the
seasonality, the diagnoses, the charges and the institutions' sizes are the region's, two years long.
The engines replicate the rows themselves (``INSERT … SELECT`` from the base table × the copy
numbers): the same integer formulas on ClickHouse and PostgreSQL give the same facts on both.
"""
from __future__ import annotations

import math
import multiprocessing
import time
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd

FIRST_DAY = date(2025, 1, 1)   # day 0 of the base rows (region.YEAR's first day)
YEARS = 2                      # copies alternate between 2025 and 2026
# the 13 districts of 杭州市 that copies spread over (the region's own three first)
DISTRICTS = ("330102", "330105", "330106", "330108", "330109", "330110", "330111", "330112", "330113", "330114",
             "330122", "330127", "330182")
BASE_COLUMNS = ("i", "institution_index", "day", "department_code", "kind", "person_index", "sex", "age_band",
                "primary_diagnosis_code", "total_fen", "drug_fen")


def care_givers(seed: int) -> list:
    """The region's members that see patients, in code order (their index in the base rows)."""
    from region import build_region

    return sorted((m for m in build_region(seed=seed).institutions if m.sees_patients), key=lambda m: m.code)


_worker: dict = {}


def _init(seed: int, size: str = "full") -> None:
    from region import Generated

    _worker["generated"] = Generated.build(seed=seed, size=size)
    _worker["pools"] = _worker["generated"].pools()
    _worker["people"] = {p.id: p for p in _worker["generated"].people}


def _member_rows(args: tuple[int, str]) -> dict[str, list]:
    """The base rows (without ``i``) of one member's year of visits."""
    from region.people import age_band
    from region.visits import plan_month

    index, code = args
    generated, pools, people = _worker["generated"], _worker["pools"], _worker["people"]
    member = generated.region.institution(code)
    rows: dict[str, list] = {name: [] for name in BASE_COLUMNS[1:]}
    for year, month in generated.periods:
        for visit in plan_month(generated.region, pools, member, seed=generated.seed, year=year, month=month):
            day = visit.time.date()
            person = people[visit.person_id]
            rows["institution_index"].append(index)
            rows["day"].append((day - FIRST_DAY).days)
            rows["department_code"].append(visit.standard_department)
            rows["kind"].append("emergency" if visit.emergency else "outpatient")
            rows["person_index"].append(int(person.id[1:]))
            rows["sex"].append(person.sex)
            rows["age_band"].append(age_band(person.age_at(day)))
            rows["primary_diagnosis_code"].append(visit.diagnosis)
            rows["total_fen"].append(visit.total_fen)
            rows["drug_fen"].append(visit.drug_fen)
    return rows


def base_visits(seed: int, *, size: str = "full", processes: int = 2) -> pd.DataFrame:
    """Every outpatient visit of the region (``size``) as one row (``BASE_COLUMNS``), in a seeded random order."""
    members = [(index, m.code) for index, m in enumerate(care_givers(seed))]
    members.sort(key=lambda item: (not item[1].startswith("RH"), item[1]))  # the hospitals first: the most visits
    if processes > 1:
        with multiprocessing.get_context("spawn").Pool(processes, initializer=_init, initargs=(seed, size)) as pool:
            parts = pool.map(_member_rows, members, chunksize=1)
    else:
        _init(seed, size)
        parts = [_member_rows(member) for member in members]
    frame = pd.concat([pd.DataFrame(part) for part in parts], ignore_index=True)
    frame = frame.iloc[np.random.default_rng(seed).permutation(len(frame))].reset_index(drop=True)
    frame.insert(0, "i", np.arange(len(frame), dtype=np.uint32))
    return frame.astype({"institution_index": np.uint8, "day": np.uint16, "person_index": np.uint32,
                         "total_fen": np.int64, "drug_fen": np.int64})


@lru_cache(maxsize=2)
def region_visits(seed: int) -> pd.DataFrame:
    """``base_visits(seed)``, planned once per process (~15-30 s on 2 cores), with a line saying so."""
    started = time.perf_counter()
    base = base_visits(seed)
    print(f"the region's visits: {len(base):,} planned in {time.perf_counter() - started:.1f} s", flush=True)
    return base


@dataclass(frozen=True)
class Scale:
    """``rows`` facts made of ``base`` region visits: copies, institution groups, institutions."""

    base: int
    rows: int
    members: int = 14

    @property
    def copies(self) -> int:
        return max(1, math.ceil(self.rows / self.base))

    @property
    def groups(self) -> int:
        return math.ceil(self.copies / YEARS)

    @property
    def institutions(self) -> int:
        return self.groups * self.members


def institution_code(group: int, index: int, members: int = 14) -> str:
    return f"I{1000 + group * members + index}"


def institutions(scale: Scale, seed: int) -> pd.DataFrame:
    """The copies' institutions: code, the region member it copies (kind, level), its district (group g's
    members sit in the region's districts shifted by 3·g over ``DISTRICTS``)."""
    members = care_givers(seed)
    own = {code: n for n, code in enumerate(("330102", "330105", "330106"))}
    rows = []
    for group in range(scale.groups):
        for index, member in enumerate(members):
            rows.append({"institution_code": institution_code(group, index, len(members)),
                         "copy_of": member.code, "kind": member.kind, "level": member.level or "",
                         "district_code": DISTRICTS[(own[member.division] + 3 * group) % len(DISTRICTS)]})
    return pd.DataFrame(rows)


def replicate(base: pd.DataFrame, rows: int, members: int = 14) -> pd.DataFrame:
    """The scaled copy in pandas (what the engines' formulas make; ``bench.etl`` and the tests use it)."""
    scale = Scale(len(base), rows, members)
    copy = np.repeat(np.arange(scale.copies, dtype=np.int64), len(base))[:rows]
    row = np.tile(np.arange(len(base), dtype=np.int64), scale.copies)[:rows]
    out = base.iloc[row].reset_index(drop=True)
    group, year = copy // YEARS, copy % YEARS
    out.insert(0, "n", copy * len(base) + row)
    out["institution_code"] = "I" + (1000 + group * members + out["institution_index"].astype(np.int64)).astype(str)
    day = pd.Timestamp(FIRST_DAY) + pd.to_timedelta(out["day"].astype(np.int64), unit="D")
    out["date"] = day + pd.to_timedelta(year * 365, unit="D")  # 2025 has 365 days: the same date a year on
    out["person_key"] = (group * 1_000_000 + out["person_index"].astype(np.int64)).astype(str)
    return out


__all__ = ["DISTRICTS", "FIRST_DAY", "BASE_COLUMNS", "Scale", "base_visits", "care_givers", "institution_code",
           "institutions", "region_visits", "replicate"]
