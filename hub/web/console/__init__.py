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
    from .lineage import api as lineage_api
    from .lineage import page as lineage_page
    from .monitor import api as monitor_api
    from .monitor import page as monitor_page
    from .pages import router as shell
    from .pivot import api as pivot_api
    from .pivot import page as pivot_page

    for router in (shell, hospital_page, hospital_api, pivot_page, pivot_api, monitor_page, monitor_api,
                   lineage_page, lineage_api):
        app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=Path(__file__).parent / "static"), name="console-static")


__all__ = ["install", "ConsoleUser", "ConsoleSession"]
