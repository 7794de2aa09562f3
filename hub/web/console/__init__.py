"""The bureau console at ``/console/``: users bound to a region or an institution, server-side
sessions, Chinese pages (English on request) and dashboards over the cube API (docs/console.md).

The hub's app calls :func:`install`; the tables (``models``) are importable without FastAPI's parts.
"""
from __future__ import annotations

from .models import ConsoleLoginAttempt, ConsoleSession, ConsoleUser


def install(app) -> None:
    """Serve the console on ``app``: every page's router and the static files (no CDN)."""
    from pathlib import Path

    from fastapi.staticfiles import StaticFiles

    from . import diseases, drugs, exports, geo, hospital, lineage, maternal, monitor, pivot, quality, referrals
    from .pages import router as shell

    app.include_router(shell)
    # each module: its page's router and its JSON API's
    for page in (hospital, pivot, diseases, drugs, referrals, maternal, monitor, quality, lineage, exports):
        app.include_router(page.page)
        app.include_router(page.api)
    app.include_router(geo.api)  # the district map's boundaries (no page of its own)
    from . import alerts_page, drug_trace, recalls, referral_worklist

    # the workflow pages (docs/console.md)
    for page in (alerts_page, referral_worklist, drug_trace, recalls):
        app.include_router(page.page)
        app.include_router(page.api)
    app.mount("/console/static", StaticFiles(directory=Path(__file__).parent / "static"), name="console-static")


__all__ = ["install", "ConsoleUser", "ConsoleSession", "ConsoleLoginAttempt"]
