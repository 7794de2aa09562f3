"""The district map card: the region's boundaries (``hie region map import``) drawn as a choropleth of a
by-district card's own cells, on the hospital page and the disease page.

The map brings no numbers of its own: ``static/map.js`` colours each district with the value the page's
by-district card already received (the same cells; a withheld cell is drawn as no data), and a click
drills as the card's table does. This module serves the boundaries within the viewer's scope and tells
the templates (``_map_card.html``) whether, and from which cards, a page draws a map.

Scope: a viewer limited to some districts (a district analyst, an institution's administrator) gets
only those districts' features; a city-wide viewer every feature.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ...regions import in_scope, load_map
from ..errors import HubErrorRoute
from .auth import ApiViewer, Viewer
from .hospital import INDICATORS
from .pages import templates
from .users import scope_of


@dataclass(frozen=True)
class MapSource:
    """What the map can draw: a card of the page (its element id), the value of its cells, its label key."""

    card: str
    value: str
    label: str


MAP_SOURCES: dict[str, tuple[MapSource, ...]] = {
    "hospital": tuple(MapSource(f"card-{i.key}", "current", f"indicator.{i.key}") for i in INDICATORS),
    "diseases": (MapSource("card-places", "incidence_per_100k", "value.diseases.incidence_per_100k"),),
}


def map_card(request: Request, page: str, view) -> dict | None:
    """The map card of ``page`` (its sources), or None: no map imported, a page without one, or a view
    below districts (the cards then show institutions)."""
    if page not in MAP_SOURCES or view.district or view.institution:
        return None
    if load_map(request.app.state.hub.settings.data_dir) is None:
        return None
    return {"sources": [asdict(source) for source in MAP_SOURCES[page]]}


templates.env.globals["map_card"] = map_card


def boundaries(request: Request, viewer: Viewer) -> dict:
    """The region's map within the viewer's districts, or ``{"available": false}`` without one."""
    region_map = load_map(request.app.state.hub.settings.data_dir)
    if region_map is None:
        return {"available": False}
    with request.app.state.hub.sessions() as session:
        scope = scope_of(session, viewer.user)
    shown = in_scope(region_map, scope.districts)
    return {"available": True, "schematic": bool(region_map["properties"].get("schematic")),
            "districts": [feature["properties"]["code"] for feature in shown["features"]], "map": shown}


api = APIRouter(prefix="/console/api/map", route_class=HubErrorRoute, include_in_schema=False)


@api.get("")
async def region_boundaries(request: Request, viewer: ApiViewer) -> dict:
    """The district boundaries (GeoJSON) the viewer may see."""
    return await run_in_threadpool(boundaries, request, viewer)


__all__ = ["MapSource", "MAP_SOURCES", "map_card", "boundaries", "api"]
