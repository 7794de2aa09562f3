"""Drug use (药品使用): the top drugs of the period by amount and by prescription lines, the
antibiotic prescription rate (处方抗菌药物使用率, ATC J01) by place and over time, and amounts by
district → institution. Money is the cube's fen, shown in yuan."""
from __future__ import annotations

from .dashboard import TIME, CubeChart, dashboard_routers

TOP = 10
CHARTS = (
    CubeChart("top_amount", "prescriptions", measures=("amount_fen", "lines"), by="drug.drug", top=TOP),
    CubeChart("top_lines", "prescriptions", measures=("lines", "amount_fen"), by="drug.drug", top=TOP),
    CubeChart("antibiotic", "prescriptions", measures=("prescriptions", "antibiotic_prescriptions"),
              indicators=("antibiotic_rate",), plot="antibiotic_rate"),
    CubeChart("antibiotic_trend", "prescriptions", measures=("prescriptions", "antibiotic_prescriptions"),
              indicators=("antibiotic_rate",), by=TIME, plot="antibiotic_rate", kind="line"),
    CubeChart("places", "prescriptions", measures=("amount_fen", "lines")),
)

page, api = dashboard_routers(page="drugs", template="drugs.html", charts=CHARTS)

__all__ = ["CHARTS", "TOP", "page", "api"]
