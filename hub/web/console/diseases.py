"""Disease surveillance (疾病监测): reported cases of the notifiable diseases and their incidence per
100,000 residents, by disease over the window's months, weeks or years, and by district → institution.

Incidence divides by the declared population (``population.population``), which is per district:
the by-place and by-disease charts draw it (cases stay in their tables); by institution, where it is
left out (``district_only``), they draw cases."""
from __future__ import annotations

from .dashboard import TIME, CubeChart, dashboard_routers

CHARTS = (
    CubeChart("total_trend", "diseases", measures=("cases",), indicators=("incidence_per_100k",), by=TIME, kind="line",
              district_only=("incidence_per_100k",)),
    CubeChart("trend", "diseases", measures=("cases",), indicators=("incidence_per_100k",), by=TIME,
              series="disease.disease", kind="line", district_only=("incidence_per_100k",)),
    CubeChart("places", "diseases", measures=("cases",), indicators=("incidence_per_100k",),
              plot="incidence_per_100k", district_only=("incidence_per_100k",)),
    CubeChart("by_disease", "diseases", measures=("cases",), indicators=("incidence_per_100k",), by="disease.disease",
              plot="incidence_per_100k", district_only=("incidence_per_100k",)),
)

page, api = dashboard_routers(page="diseases", template="diseases.html", charts=CHARTS)

__all__ = ["CHARTS", "page", "api"]
