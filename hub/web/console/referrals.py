"""Two-way referrals (双向转诊): referrals by direction (上转 / 下转) over time, sent by each
institution (转出) and received by each target (转入), by district → institution.

The cube counts referrals as sent (``fact_referral``; the place is the sending institution), so a
viewer's scope bounds the senders: "received" means received from senders within the scope. The
OLTP records no outcome yet, so acceptance and turnaround are not offered (docs/cubes.md)."""
from __future__ import annotations

from .dashboard import TIME, CubeChart, dashboard_routers

CHARTS = (
    CubeChart("trend", "referrals", measures=("referrals",), by=TIME, series="referral.direction", kind="line"),
    CubeChart("sent", "referrals", measures=("referrals", "up", "down")),
    CubeChart("received", "referrals", measures=("referrals", "up", "down"), by="target.institution"),
)

page, api = dashboard_routers(page="referrals", template="referrals.html", charts=CHARTS)

__all__ = ["CHARTS", "page", "api"]
