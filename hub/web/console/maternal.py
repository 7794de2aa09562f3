"""Maternal and child health (妇幼保健): antenatal checkup coverage (产前检查覆盖率) and checkups
per woman, the health-management rate of children under 7 (7 岁以下儿童健康管理率) and immunization
(接种率（按活产数）: children vaccinated / declared live births), by district → institution and by
vaccine for the period, and over time. Coverage divides by declared live births / children under 7
per district: by institution the page shows the counts only (``district_only``)."""
from __future__ import annotations

from .dashboard import TIME, CubeChart, dashboard_routers

_MATERNAL = dict(measures=("antenatal_women", "antenatal_checkups", "women", "checkups"),
                 indicators=("antenatal_coverage", "antenatal_visits_per_woman"), district_only=("antenatal_coverage",))
_CHILD = dict(measures=("children", "checkups"), indicators=("child_checkup_coverage",),
              district_only=("child_checkup_coverage",))
# doses are a plain count (one fact per dose): their cells lead to their facts; children are distinct
_IMMUNIZATION = dict(measures=("children", "doses"), indicators=("coverage_per_live_births",),
                     plot="coverage_per_live_births", district_only=("coverage_per_live_births",))
CHARTS = (
    CubeChart("antenatal", "maternal", plot="antenatal_coverage", **_MATERNAL),
    CubeChart("child", "child", plot="child_checkup_coverage", **_CHILD),
    CubeChart("immunization", "immunization", **_IMMUNIZATION),
    CubeChart("vaccines", "immunization", by="vaccine.vaccine", **_IMMUNIZATION),
    CubeChart("antenatal_trend", "maternal", by=TIME, kind="line", plot="antenatal_women", **_MATERNAL),
    CubeChart("child_trend", "child", by=TIME, kind="line", plot="children", **_CHILD),
)

page, api = dashboard_routers(page="maternal", template="maternal.html", charts=CHARTS)

__all__ = ["CHARTS", "page", "api"]
