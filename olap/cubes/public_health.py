"""Public-health and exchange cubes: notifiable diseases, population, maternal and child checkups,
immunizations, exchange messages and the member list they are measured against."""
from __future__ import annotations

from .conformed import (
    AGE_BAND,
    DIVISION_JOIN,
    INSTITUTION_JOIN,
    INSTITUTION_KIND,
    INSTITUTION_SCOPE,
    RESIDENCE,
    SEX,
    VACCINE_JOIN,
    date_dimension,
    institution_dimension,
)
from .model import Cube, Dimension, Indicator, Level, Measure, MeasureKind, Render

ON_TIME_HOURS = 24  # a document is on time when it reaches the hub within a day of its effective time

DISEASE = Dimension("disease", (
    Level("class", "disease_class", title="甲/乙/丙类 (A/B/C)"),
    Level("disease", "disease_code", title="病种"),
), title="法定传染病")

DISEASES = Cube(
    name="diseases", title="传染病报告", fact="fact_disease_report",
    dimensions=(date_dimension(), institution_dimension(), INSTITUTION_KIND, RESIDENCE, DISEASE,
                Dimension("case", (Level("classification", "case_classification", title="病例分类"),), title="病例分类"),
                Dimension("case_first", (Level("first", "case_first", render=Render.INT,
                                               title="1 = 病例的首张报告卡, 0 = 同一病例的其他卡"),), title="病例首卡"),
                SEX, AGE_BAND),
    joins={"institution": INSTITUTION_JOIN, "division": DIVISION_JOIN},
    measures=(Measure("cases", "sum(case_first)", MeasureKind.SUM, "例",
                      "reported cases: a person's cards of one disease and episode, from any institution, count "
                      "once (the surveillance workflow's cases; date = the first card's diagnosis date)",
                      counts_rows=("case_first.first", "1")),
              Measure("cards", "count()", MeasureKind.COUNT, "张", "report cards (date = diagnosis date)")),
    indicators=(Indicator("incidence_per_100k", "cases", "population.population", 100_000.0, "1/10万", "报告发病率",
                          "reported cases / resident population of the year the period ends in × 100,000"),),
    privacy_measure="cases", scope=INSTITUTION_SCOPE,
)

# The population lives in a division; as a denominator for an institution's district it is the
# population of that district (catchment = district), declared here rather than hidden in SQL.
POPULATION = Cube(
    name="population", title="常住人口（申报数据）", fact="ref_population",
    date_column=None, year_column="year",
    dimensions=(Dimension("date", (Level("year", "year", render=Render.YEAR, title="年"),), title="年份"),
                Dimension("institution", (Level("city", "city_code", join="division", title="市"),
                                          Level("district", "division_code", title="区县")), title="机构所在区县"),
                Dimension("residence", (Level("city", "city_code", join="division", title="市"),
                                        Level("district", "division_code", title="区县")), title="现住址区县")),
    joins={"division": DIVISION_JOIN},
    measures=(Measure("population", "sum(population)", MeasureKind.SUM, "人", "resident population"),
              Measure("live_births", "sum(live_births)", MeasureKind.SUM, "人", "live births"),
              Measure("children_under_7", "sum(children_under_7)", MeasureKind.SUM, "人", "children aged 0-6")),
    scope={"district": "institution.district"},
    constant_over=frozenset({"date", "disease", "case", "case_first", "checkup", "institution_type", "vaccine", "dose"}),
)

MATERNAL = Cube(
    name="maternal", title="孕产妇保健", fact="fact_maternal_checkup",
    dimensions=(date_dimension(), institution_dimension(), INSTITUTION_KIND,
                Dimension("checkup", (Level("type", "checkup_type", title="antenatal | postnatal"),), title="检查类型"),
                AGE_BAND),
    joins={"institution": INSTITUTION_JOIN},
    measures=(Measure("checkups", "count()", MeasureKind.COUNT, "次", "maternal checkups"),
              Measure("women", "uniqExact(person_key)", MeasureKind.DISTINCT, "人", "women checked", privacy="women"),
              Measure("antenatal_checkups", "countIf(checkup_type = 'antenatal')", MeasureKind.COUNT, "次",
                      "antenatal checkups", privacy="antenatal_women"),
              Measure("antenatal_women", "uniqExactIf(person_key, checkup_type = 'antenatal')", MeasureKind.DISTINCT,
                      "人", "women with at least one antenatal checkup", privacy="antenatal_women")),
    indicators=(
        Indicator("antenatal_coverage", "antenatal_women", "population.live_births", 100.0, "%", "产前检查覆盖率",
                  "women with ≥1 antenatal checkup in the period / live births declared for the year × 100"),
        Indicator("antenatal_visits_per_woman", "antenatal_checkups", "antenatal_women", 1.0, "次",
                  "人均产前检查次数", "antenatal checkups / women with an antenatal checkup"),
    ),
    privacy_measure="women", scope=INSTITUTION_SCOPE,
)

CHILD = Cube(
    name="child", title="7 岁以下儿童健康管理", fact="fact_child_checkup", condition="age_months < 84",
    dimensions=(date_dimension(), institution_dimension(), INSTITUTION_KIND, SEX),
    joins={"institution": INSTITUTION_JOIN},
    measures=(Measure("checkups", "count()", MeasureKind.COUNT, "次", "checkups of children under 7"),
              Measure("children", "uniqExact(person_key)", MeasureKind.DISTINCT, "人", "children checked",
                      privacy="children")),
    indicators=(Indicator("child_checkup_coverage", "children", "population.children_under_7", 100.0, "%",
                          "7 岁以下儿童健康管理率",
                          "children under 7 with ≥1 checkup in the period / children under 7 declared × 100"),),
    privacy_measure="children", scope=INSTITUTION_SCOPE,
)

VACCINE = Dimension("vaccine", (
    Level("programme", "programme", join="vaccine", title="national (免疫规划) | optional (非免疫规划)"),
    Level("vaccine", "vaccine_code", title="疫苗"),
), title="疫苗")

# The exchange knows who was vaccinated, not who was due: coverage here divides by the live births the
# bureau declares for the district and year (the birth cohort's size), and says so in its name.
IMMUNIZATION = Cube(
    name="immunization", title="预防接种", fact="fact_immunization",
    dimensions=(date_dimension(), institution_dimension(), INSTITUTION_KIND, VACCINE,
                Dimension("dose", (Level("number", "dose_number", render=Render.INT, title="剂次"),), title="剂次"),
                SEX, AGE_BAND),
    joins={"institution": INSTITUTION_JOIN, "vaccine": VACCINE_JOIN},
    measures=(Measure("doses", "count()", MeasureKind.COUNT, "剂次", "doses administered (date = administration date)"),
              Measure("children", "uniqExact(person_key)", MeasureKind.DISTINCT, "人",
                      "persons vaccinated (distinct; children on the schedule, age.band splits out adults)",
                      privacy="children")),
    indicators=(Indicator("coverage_per_live_births", "children", "population.live_births", 100.0, "%",
                          "接种率（按活产数）",
                          "distinct persons given at least one dose (of the vaccines and doses the query selects) in "
                          "the period / live births declared for the district and the year the period ends in × 100"),),
    privacy_measure="children", scope=INSTITUTION_SCOPE,
)

EXCHANGE = Cube(
    name="exchange", title="数据报送", fact="fact_exchange_message",
    dimensions=(date_dimension(), institution_dimension(), INSTITUTION_KIND,
                Dimension("message", (Level("document_type", "document_type", title="文档类型"),
                                      Level("status", "status", title="状态"),
                                      Level("error", "error_code", title="错误码")), title="消息")),
    joins={"institution": INSTITUTION_JOIN},
    measures=(Measure("messages", "count()", MeasureKind.COUNT, "条", "messages received"),
              # by document type each message is a patient's document (privacy_levels): a count of some
              # of them (a 0/1 flag summed is one too) is checked itself
              Measure("rejected", "sum(is_rejected)", MeasureKind.SUM, "条", "messages rejected", privacy="rejected"),
              Measure("timed", "countIf(isNotNull(lateness_hours))", MeasureKind.COUNT, "条",
                      "messages whose document has an effective time", privacy="timed"),
              Measure("on_time", f"countIf(isNotNull(lateness_hours) AND assumeNotNull(lateness_hours) >= 0 "
                      f"AND assumeNotNull(lateness_hours) <= {ON_TIME_HOURS})", MeasureKind.COUNT, "条", "received within a day of the effective time",
                      privacy="on_time"),
              Measure("reporting_members", "uniqExact(institution_code)", MeasureKind.DISTINCT, "家",
                      "members that sent")),
    indicators=(
        Indicator("rejection_rate", "rejected", "messages", 100.0, "%", "拒收率", "rejected / received messages"),
        Indicator("timeliness", "on_time", "timed", 100.0, "%", "及时率",
                  f"messages received within {ON_TIME_HOURS} h of the document's effective time / timed messages"),
    ),
    privacy_measure="messages", privacy_levels=frozenset({"message.document_type"}),
    scope=INSTITUTION_SCOPE,
)

# The members expected to report: active institutions of the registry except bureaus (which read, not send).
MEMBERS = Cube(
    name="members", title="成员机构", fact="dim_institution", date_column=None,
    condition="department_code = '' AND status = 'active' AND kind != 'bureau'",
    dimensions=(Dimension("institution", (Level("city", "city_code", title="市"),
                                          Level("district", "district_code", title="区县"),
                                          Level("institution", "institution_code", title="机构")), title="机构"),
                Dimension("institution_type", (Level("kind", "kind", title="机构类别"),), title="机构类别")),
    measures=(Measure("members", "count()", MeasureKind.COUNT, "家", "active member institutions"),),
    indicators=(Indicator("reporting_rate", "exchange.reporting_members", "members", 100.0, "%", "报送率",
                          "members that sent at least one message in the period / active members"),),
    scope=INSTITUTION_SCOPE, constant_over=frozenset({"date", "message"}),
)

PUBLIC_HEALTH_CUBES = (DISEASES, POPULATION, MATERNAL, CHILD, IMMUNIZATION, EXCHANGE, MEMBERS)

__all__ = ["DISEASES", "POPULATION", "MATERNAL", "CHILD", "IMMUNIZATION", "EXCHANGE", "MEMBERS", "PUBLIC_HEALTH_CUBES",
           "ON_TIME_HOURS"]
