"""Hospital cubes: visits, admissions, discharges, institution months, prescriptions, referrals.

The seed's hospital indicators (per institution and period) are declared here as
numerator / denominator × factor; ``docs/cubes.md`` gives each definition in words.
"""
from __future__ import annotations

from .conformed import (
    AGE_BAND, DIAGNOSIS_JOIN, DRUG_JOIN, INSTITUTION_JOIN, INSTITUTION_KIND, INSTITUTION_SCOPE, SEX, date_dimension,
    institution_dimension,
)
from .model import Cube, CubeRollup, Dimension, Indicator, Level, Measure, MeasureKind, Render

# 医院统计口径: 251 working days a year (医师日均担负诊疗人次 = 诊疗人次 / 平均医师人数 / 251).
WORKING_DAYS_PER_MONTH = 251 / 12
_DAYS_IN_MONTH = "toDayOfMonth(addDays(addMonths(toStartOfMonth(date), 1), -1))"
_PERSONS = Measure("persons", "uniqExact(person_key)", MeasureKind.DISTINCT, "人", "distinct persons",
                   privacy="persons")

DIAGNOSIS = Dimension("diagnosis", (
    Level("chapter", "chapter_code", join="diagnosis", title="ICD-10 章"),
    Level("block", "block_code", join="diagnosis", title="ICD-10 节"),
    Level("category", "substring(primary_diagnosis_code, 1, 3)", title="ICD-10 类目", parent=""),
    Level("code", "primary_diagnosis_code", title="ICD-10 编码"),
), title="主要诊断")

# every visits rollup re-aggregates the same way
_VISIT_SUMS = {"visits": "sum(visits)", "total_fen": "sum(total_fen)", "drug_fen": "sum(drug_fen)"}
_MEDICATION_SUMS = {"lines": "sum(lines)", "amount_fen": "sum(amount_fen)"}

VISITS = Cube(
    name="visits", title="门急诊人次", fact="fact_outpatient_visit",
    dimensions=(date_dimension(), institution_dimension(department=True), INSTITUTION_KIND,
                Dimension("visit", (Level("kind", "kind", title="outpatient | emergency"),), title="就诊类别"),
                DIAGNOSIS, SEX, AGE_BAND),
    joins={"institution": INSTITUTION_JOIN, "diagnosis": DIAGNOSIS_JOIN},
    measures=(Measure("visits", "count()", MeasureKind.COUNT, "人次", "诊疗人次 (outpatient + emergency)"),
              _PERSONS,
              Measure("total_fen", "sum(total_fen)", MeasureKind.SUM, "分", "charges"),
              Measure("drug_fen", "sum(drug_fen)", MeasureKind.SUM, "分", "drug charges")),
    indicators=(
        Indicator("charge_per_visit", "total_fen", "visits", 0.01, "元", "门诊次均费用",
                  "total charges of the visits / visits"),
        Indicator("drug_cost_per_visit", "drug_fen", "visits", 0.01, "元", "门诊次均药费",
                  "drug charges of the visits / visits"),
        Indicator("drug_share", "drug_fen", "total_fen", 100.0, "%", "药占比", "drug charges / total charges"),
    ),
    rollups=(CubeRollup("rollup_visits_institution_month",
                        frozenset({"date", "institution_code", "kind"}),
                        _VISIT_SUMS,
                        grain="month"),
             CubeRollup("rollup_visits_district_week", frozenset({"date", "district_code", "kind"}),
                        _VISIT_SUMS, grain="week", attributes={"institution.district_code": "district_code"}),
             CubeRollup("rollup_visits_institution_week",
                        frozenset({"date", "institution_code", "kind"}),
                        _VISIT_SUMS,
                        grain="week"),
             CubeRollup("rollup_visits_institution_day",
                        frozenset({"date", "institution_code", "department_code", "kind"}),
                        _VISIT_SUMS)),
    privacy_measure="visits", scope=INSTITUTION_SCOPE,
)

_STAY_DIMENSIONS = (institution_dimension(department=True), INSTITUTION_KIND, DIAGNOSIS, SEX, AGE_BAND)

ADMISSIONS = Cube(
    name="admissions", title="入院人数", fact="fact_inpatient_stay",
    dimensions=(date_dimension(), *_STAY_DIMENSIONS),
    joins={"institution": INSTITUTION_JOIN, "diagnosis": DIAGNOSIS_JOIN},
    measures=(Measure("admissions", "count()", MeasureKind.COUNT, "人", "admissions in the period"), _PERSONS),
    rollups=(CubeRollup("rollup_admissions_institution_month",
                        frozenset({"date", "institution_code", "department_code"}),
                        {"admissions": "sum(admissions)"}, grain="month"),),
    privacy_measure="admissions", scope=INSTITUTION_SCOPE,
)

DISCHARGES = Cube(
    name="discharges", title="出院人数", fact="fact_inpatient_stay",
    date_column="discharge_date",
    dimensions=(date_dimension("assumeNotNull(discharge_date)"), *_STAY_DIMENSIONS),
    joins={"institution": INSTITUTION_JOIN, "diagnosis": DIAGNOSIS_JOIN},
    measures=(Measure("discharges", "count()", MeasureKind.COUNT, "人", "discharges in the period"),
              _PERSONS,
              Measure("bed_days", "sum(bed_days)", MeasureKind.SUM, "床日", "bed-days of the discharged stays"),
              Measure("total_fen", "sum(total_fen)", MeasureKind.SUM, "分", "charges of the discharged stays")),
    indicators=(
        Indicator("average_length_of_stay", "bed_days", "discharges", 1.0, "日", "出院者平均住院日",
                  "bed-days of the stays discharged in the period / discharges"),
        Indicator("charge_per_bed_day", "total_fen", "bed_days", 0.01, "元", "住院床日均费用",
                  "charges of the discharged stays / their bed-days"),
    ),
    # dated by discharge_date like the cube, so the cube's date levels and period read it unchanged
    rollups=(CubeRollup("rollup_discharges_institution_month",
                        frozenset({"discharge_date", "institution_code", "department_code"}),
                        {"discharges": "sum(discharges)", "bed_days": "sum(bed_days)", "total_fen": "sum(total_fen)"},
                        grain="month"),),
    privacy_measure="discharges", scope=INSTITUTION_SCOPE,
)

INSTITUTION_MONTH = Cube(
    name="institution_month", title="机构月报", fact="fact_institution_month",
    dimensions=(date_dimension(), institution_dimension(), INSTITUTION_KIND),
    joins={"institution": INSTITUTION_JOIN},
    measures=(Measure("reports", "count()", MeasureKind.COUNT, "份", "monthly reports"),
              Measure("staff_months", "sum(staff_on_duty)", MeasureKind.SUM, "人·月", "staff on duty, summed over months"),
              Measure("reported_visits", "sum(ifNull(outpatient_visits, 0))", MeasureKind.SUM, "人次",
                      "诊疗人次 as reported in the monthly statistics"),
              Measure("open_bed_days", f"sum(open_beds * {_DAYS_IN_MONTH})", MeasureKind.SUM, "床日",
                      "open beds × days of the month"),
              Measure("fixed_assets_fen", "sum(fixed_assets_fen)", MeasureKind.SUM, "分",
                      "fixed assets, summed over months"),
              Measure("revenue_fen", "sum(revenue_drugs_fen + revenue_examinations_fen + revenue_treatment_fen"
                      " + revenue_other_fen)", MeasureKind.SUM, "分", "revenue (all kinds)")),
    indicators=(
        Indicator("daily_workload_per_staff", "reported_visits", "staff_months", 1 / WORKING_DAYS_PER_MONTH, "人次",
                  "职工日均担负诊疗人次", "reported visits / staff-months / (251 / 12) working days a month"),
        Indicator("revenue_per_100_fixed_assets", "revenue_fen", "fixed_assets_fen", 100.0, "元",
                  "每百元固定资产业务收入（月）", "monthly revenue / that month's fixed assets × 100, pooled"),
        Indicator("bed_occupancy_rate", "discharges.bed_days", "open_bed_days", 100.0, "%", "病床使用率",
                  "bed-days of the stays discharged in the period / open bed-days × 100"),
    ),
    scope=INSTITUTION_SCOPE,
)

DRUG = Dimension("drug", (
    Level("category", "category_code", join="drug", title="ATC 解剖学大类"),
    Level("antibiotic", "is_antibiotic", join="drug", render=Render.INT, title="抗菌药物 (ATC J01) 1/0", parent=""),
    Level("drug", "drug_code", title="药品", parent="category"),
), title="药品")

PRESCRIPTIONS = Cube(
    name="prescriptions", title="处方", fact="fact_medication", condition="kind = 'prescription'",
    dimensions=(date_dimension(), institution_dimension(), INSTITUTION_KIND, DRUG, SEX, AGE_BAND),
    joins={"institution": INSTITUTION_JOIN, "drug": DRUG_JOIN},
    measures=(Measure("lines", "count()", MeasureKind.COUNT, "条", "prescription lines"),
              Measure("amount_fen", "sum(amount_fen)", MeasureKind.SUM, "分", "amount of the lines"),
              # a prescription is one person's event: fewer prescriptions than lines, so checked itself
              Measure("prescriptions", "uniqExact(document_row_id)", MeasureKind.DISTINCT, "张", "prescriptions",
                      privacy="prescriptions"),
              Measure("antibiotic_prescriptions", "uniqExactIf(document_row_id, {drug.is_antibiotic} = 1)",
                      MeasureKind.DISTINCT, "张", "prescriptions with at least one antibiotic (ATC J01) line",
                      privacy="antibiotic_prescriptions"),
              _PERSONS),
    indicators=(Indicator("antibiotic_rate", "antibiotic_prescriptions", "prescriptions", 100.0, "%",
                          "处方抗菌药物使用率", "prescriptions with an antibiotic / prescriptions"),),
    rollups=(CubeRollup("rollup_medication_drug_month", frozenset({"date", "drug_code", "kind"}),
                        _MEDICATION_SUMS, grain="month"),
             CubeRollup("rollup_medication_institution_month",
                        frozenset({"date", "institution_code", "drug_code", "kind"}),
                        _MEDICATION_SUMS, grain="month"),),
    privacy_measure="lines", scope=INSTITUTION_SCOPE,
)

# the case states (hub/workflows/referral/states.py) each counts: every state reached through an
# acceptance is accepted, rejected is the other decision. A fact carries its referral's live case: a
# redirected referral's target is the hospital it was redirected to, and counts by that hospital's
# decision; the hospital that redirected it counts a redirect (``redirected`` by ``redirect.institution``)
_ACCEPTED = "'accepted', 'arrived', 'discharged', 'followed_up', 'closed'"
_DECIDED = _ACCEPTED + ", 'rejected'"

REFERRALS = Cube(
    name="referrals", title="双向转诊", fact="fact_referral",
    dimensions=(date_dimension(), institution_dimension(), INSTITUTION_KIND,
                Dimension("referral", (Level("direction", "direction", title="up | down"),), title="转诊方向"),
                Dimension("target", (Level("institution", "to_institution_code", title="接收机构"),), title="接收机构"),
                Dimension("redirect", (Level("institution", "redirected_by", title="改转机构"),),
                          title="改转机构"),
                SEX, AGE_BAND),
    joins={"institution": INSTITUTION_JOIN},
    measures=(Measure("referrals", "count()", MeasureKind.COUNT, "人次", "referrals sent"),
              Measure("up", "countIf(direction = 'up')", MeasureKind.COUNT, "人次", "上转", privacy="up"),
              Measure("down", "countIf(direction = 'down')", MeasureKind.COUNT, "人次", "下转", privacy="down"),
              # the up-referral's case (hub/workflows/referral): the receiver's decision, its turnaround,
              # and the round trips completed (down-referral back and follow-up confirmed by the clinic)
              Measure("decided", f"countIf(status IN ({_DECIDED}))", MeasureKind.COUNT, "人次",
                      "up-referrals the receiving hospital accepted or rejected",
                      privacy="decided"),
              Measure("accepted", f"countIf(status IN ({_ACCEPTED}))", MeasureKind.COUNT, "人次",
                      "up-referrals the receiving hospital accepted", privacy="accepted"),
              Measure("turnaround_hours", "sumIf(turnaround_hours, isNotNull(turnaround_hours))", MeasureKind.SUM,
                      "小时", "hours from request to decision, summed over the decided up-referrals"),
              Measure("median_turnaround_hours", "quantileExactIf(0.5)(turnaround_hours, isNotNull(turnaround_hours))",
                      MeasureKind.QUANTILE, "小时", "median hours from request to decision"),
              Measure("round_trips", "countIf(status = 'followed_up')", MeasureKind.COUNT, "人次",
                      "completed round trips: accepted, referred back down, follow-up confirmed",
                      privacy="round_trips"),
              Measure("redirected", "countIf(redirected_by != '')", MeasureKind.COUNT, "人次",
                      "up-referrals a hospital redirected to another (by redirect.institution: the redirecting one)",
                      privacy="redirected")),
    indicators=(Indicator("acceptance_rate", "accepted", "decided", 100.0, "%", "上转接收率",
                          "accepted up-referrals / up-referrals decided"),
                Indicator("mean_turnaround_hours", "turnaround_hours", "decided", 1.0, "小时", "转诊平均响应时间",
                          "hours from request to the receiving hospital's decision / up-referrals decided")),
    privacy_measure="referrals", scope=INSTITUTION_SCOPE,
)

HOSPITAL_CUBES = (VISITS, ADMISSIONS, DISCHARGES, INSTITUTION_MONTH, PRESCRIPTIONS, REFERRALS)

__all__ = ["VISITS", "ADMISSIONS", "DISCHARGES", "INSTITUTION_MONTH", "PRESCRIPTIONS", "REFERRALS",
           "HOSPITAL_CUBES", "WORKING_DAYS_PER_MONTH"]
