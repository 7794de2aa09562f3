"""Conformed dimensions: the same level names mean the same thing in every cube that uses them.

Drill-across (an indicator whose numerator and denominator live in different cubes) merges cells on
these names, so ``institution.district`` must be the reporting institution's district everywhere
(the population table declares it as the district the population lives in: see ``docs/cubes.md``).
"""
from __future__ import annotations

from .model import Dimension, Join, Label, Level, Render

INSTITUTION_JOIN = Join("dim_institution", "institution_code", "institution_code", "department_code = ''")
DIVISION_JOIN = Join("dim_division", "division_code", "code")
DRUG_JOIN = Join("dim_drug", "drug_code", "code")
DIAGNOSIS_JOIN = Join("dim_diagnosis", "primary_diagnosis_code", "code")
VACCINE_JOIN = Join("dim_vaccine", "vaccine_code", "code")


def date_dimension(column: str = "date") -> Dimension:
    """day -> week -> month -> quarter -> year over ``column`` (a Date, or ``assumeNotNull(…)`` of one).

    ISO weeks straddle months and years: a week nests in nothing, a day nests in its month."""
    return Dimension("date", (
        Level("year", f"toYear({column})", render=Render.YEAR, title="年"),
        Level("quarter", f"toYear({column}) * 10 + toQuarter({column})", render=Render.QUARTER, title="季度"),
        Level("month", f"toYYYYMM({column})", render=Render.MONTH, title="月"),
        Level("week", f"toMonday({column})", render=Render.WEEK, title="周（周一）", parent=""),
        Level("day", column, render=Render.DAY, title="日", parent="month"),
    ), title="日期")


def institution_dimension(*, department: bool = False) -> Dimension:
    """city -> district -> institution (-> department) of the reporting institution."""
    levels = [
        Level("city", "city_code", join="institution", title="市"),
        Level("district", "district_code", join="institution", title="区县"),
        Level("institution", "institution_code", title="机构"),
    ]
    if department:
        levels.append(Level("department", "department_code", title="科室"))
    return Dimension("institution", tuple(levels), title="机构")


INSTITUTION_KIND = Dimension("institution_type", (Level("kind", "kind", join="institution", title="机构类别"),),
                             title="机构类别")
SEX = Dimension("sex", (Level("sex", "sex", title="性别 (GB/T 2261.1)"),), title="性别")
AGE_BAND = Dimension("age", (Level("band", "age_band", title="年龄组"),), title="年龄组")
RESIDENCE = Dimension("residence", (
    Level("city", "city_code", join="division", title="市"),
    Level("district", "district_code", join="division", title="区县"),
    Level("division", "division_code", title="行政区划"),
), title="现住址")

_DIVISION = Label("dim_division", "code", "name")
_INSTITUTION = Label("dim_institution", "institution_code", "institution_name", "department_code = ''")
# The names a query with ``"labels": true`` returns for the codes of these levels, whichever cube
# they appear in (conformed: the same level name means the same codes everywhere).
LABELS: dict[str, Label] = {
    "institution.city": _DIVISION, "institution.district": _DIVISION, "institution.institution": _INSTITUTION,
    "target.institution": _INSTITUTION,
    "residence.city": _DIVISION, "residence.district": _DIVISION, "residence.division": _DIVISION,
    "drug.category": Label("dim_drug", "category_code", "category_name"), "drug.drug": Label("dim_drug", "code", "name"),
    "diagnosis.chapter": Label("dim_diagnosis", "chapter_code", "chapter_name"),
    "diagnosis.block": Label("dim_diagnosis", "block_code", "block_name"),
    "diagnosis.category": Label("dim_diagnosis", "category_code", "category_name"),
    "diagnosis.code": Label("dim_diagnosis", "code", "name"),
    "disease.class": Label("dim_disease", "class", "class_name"), "disease.disease": Label("dim_disease", "code", "name"),
    "vaccine.vaccine": Label("dim_vaccine", "code", "name"),
}

INSTITUTION_SCOPE = {"district": "institution.district", "institution": "institution.institution"}

__all__ = ["LABELS", "INSTITUTION_JOIN", "DIVISION_JOIN", "DRUG_JOIN", "DIAGNOSIS_JOIN", "VACCINE_JOIN", "date_dimension",
           "institution_dimension", "INSTITUTION_KIND", "SEX", "AGE_BAND", "RESIDENCE", "INSTITUTION_SCOPE"]
