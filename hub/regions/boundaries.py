"""A region's district boundaries as GeoJSON (RFC 7946): read, checked against the registry's districts.

The operator gives a FeatureCollection whose features are Polygons or MultiPolygons, one per district,
each naming its GB/T 2260 division code in the property ``code`` (``adcode``, as the usual Chinese
boundary files name it, is read too). :func:`read_boundaries` returns the map as the hub keeps it:
only the geometry, the code and the registry's name for it, and whether the map is schematic. Any
other property is dropped. A wrong file is ``region.map.invalid`` with the JSON pointer of the fault;
the message never quotes the file.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping

from protocol.errors import HubError

MAX_BYTES = 20 * 1024 * 1024  # a detailed city map is a few MB; a file of this size is not a district map
MAX_FEATURES = 1000
CODE = re.compile(r"[1-9]\d{5}")
GEOMETRIES = ("Polygon", "MultiPolygon")


def _invalid(detail: str, field: str) -> HubError:
    return HubError("region.map.invalid", detail, field=field)


def _refuse_constant(name: str):
    raise ValueError(name)


def parse_json(raw: bytes) -> object:
    """The file as JSON (UTF-8, no NaN or Infinity), within :data:`MAX_BYTES`."""
    if len(raw) > MAX_BYTES:
        raise _invalid(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB", "/")
    try:
        return json.loads(raw.decode("utf-8-sig"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _invalid("not a JSON document (UTF-8)", "/") from None


def _position(value, field: str) -> list[float]:
    if not isinstance(value, list) or len(value) not in (2, 3) or not all(
            isinstance(n, (int, float)) and not isinstance(n, bool) and math.isfinite(n) for n in value):
        raise _invalid("a position is [longitude, latitude]", field)
    if not (-180 <= value[0] <= 180 and -90 <= value[1] <= 90):
        raise _invalid("a position is outside longitude -180..180, latitude -90..90", field)
    return [value[0], value[1]]


def _polygon(value, field: str) -> list[list[list[float]]]:
    if not isinstance(value, list) or not value:
        raise _invalid("a polygon is a list of linear rings", field)
    rings = []
    for r, ring in enumerate(value):
        if not isinstance(ring, list) or len(ring) < 4:
            raise _invalid("a linear ring has at least four positions", f"{field}/{r}")
        positions = [_position(p, f"{field}/{r}/{i}") for i, p in enumerate(ring)]
        if positions[0] != positions[-1]:
            raise _invalid("a linear ring ends where it starts", f"{field}/{r}")
        rings.append(positions)
    return rings


def _geometry(value, field: str) -> dict:
    if not isinstance(value, dict) or value.get("type") not in GEOMETRIES:
        raise _invalid("a district's geometry is a Polygon or a MultiPolygon", f"{field}/type")
    coordinates = value.get("coordinates")
    if value["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": _polygon(coordinates, f"{field}/coordinates")}
    if not isinstance(coordinates, list) or not coordinates:
        raise _invalid("a MultiPolygon is a list of polygons", f"{field}/coordinates")
    return {"type": "MultiPolygon",
            "coordinates": [_polygon(p, f"{field}/coordinates/{i}") for i, p in enumerate(coordinates)]}


def _code(properties, field: str) -> str:
    if not isinstance(properties, dict):
        raise _invalid("a feature's properties name its division code", field)
    key = "code" if "code" in properties else "adcode"
    code = properties.get(key)
    code = str(code) if isinstance(code, int) and not isinstance(code, bool) else code
    if not isinstance(code, str) or not CODE.fullmatch(code):
        raise _invalid("a district's code is its 6-digit GB/T 2260 division code", f"{field}/{key}")
    return code


def read_boundaries(raw: bytes, *, districts: Mapping[str, str]) -> dict:
    """The map of ``raw`` as the hub keeps it, every feature a district of ``districts`` (code → name).

    ``region.map.invalid`` (field: where) for anything else: not JSON, not a FeatureCollection, no
    features, a geometry other than Polygon / MultiPolygon or a malformed one, a code that is not a
    district of the registry, the same district twice."""
    document = parse_json(raw)
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise _invalid("not a GeoJSON FeatureCollection", "/type")
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise _invalid("a FeatureCollection with no features", "/features")
    if len(features) > MAX_FEATURES:
        raise _invalid(f"more than {MAX_FEATURES} features", "/features")
    kept, seen = [], set()
    for index, feature in enumerate(features):
        field = f"/features/{index}"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise _invalid("every member of features is a Feature", f"{field}/type")
        code = _code(feature.get("properties"), f"{field}/properties")
        if code not in districts:
            raise _invalid("not a district of the registry", f"{field}/properties/code")
        if code in seen:
            raise _invalid("the same district twice (give one MultiPolygon)", f"{field}/properties/code")
        seen.add(code)
        kept.append({"type": "Feature", "properties": {"code": code, "name": districts[code]},
                     "geometry": _geometry(feature.get("geometry"), f"{field}/geometry")})
    collection = document.get("properties")
    schematic = isinstance(collection, dict) and collection.get("schematic") is True
    return {"type": "FeatureCollection", "properties": {"schematic": schematic}, "features": kept}


def in_scope(region_map: dict, districts: frozenset[str] | None) -> dict:
    """The map with only the features of ``districts`` (None: every feature)."""
    if districts is None:
        return region_map
    return {**region_map, "features": [f for f in region_map["features"] if f["properties"]["code"] in districts]}


__all__ = ["read_boundaries", "parse_json", "in_scope", "MAX_BYTES", "MAX_FEATURES", "GEOMETRIES"]
