"""The bureau console at ``/console/``: users bound to a region or an institution, server-side
sessions, Chinese pages (English on request) and dashboards over the cube API (docs/console.md).

The hub's app calls :func:`install`; the tables (``models``) are importable without FastAPI's parts.
"""
from __future__ import annotations

from .models import ConsoleSession, ConsoleUser


def install(app) -> None:
    """Serve the console on ``app``: every page's router and the static files (no CDN)."""
    from pathlib import Path

    from fastapi.staticfiles import StaticFiles

    from .hospital import api as hospital_api
    from .hospital import page as hospital_page
    from .pages import router as shell
    from .pivot import api as pivot_api
    from .pivot import page as pivot_page

    for router in (shell, hospital_page, hospital_api, pivot_page, pivot_api):
        app.include_router(router)
    from . import diseases, drugs, maternal, referrals  # the public-health dashboards (dashboard.py)

    for module in (diseases, drugs, referrals, maternal):
        app.include_router(module.page)
        app.include_router(module.api)
    app.mount("/console/static", StaticFiles(directory=Path(__file__).parent / "static"), name="console-static")


__all__ = ["install", "ConsoleUser", "ConsoleSession"]
