"""``hie region map import | show`` (hub/cli/regions.py) and the checks behind it (hub/regions/): a wrong
file is one line with ``region.map.invalid`` and the JSON pointer of the fault, and changes nothing."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from hub.cli.main import main
from hub.regions import MAP_FILE, load_map, read_boundaries, schematic_map
from hub.registry.models import Region
from hub.settings import Settings
from hub.store.db import make_engine, migrate
from protocol.errors import HubError

DISTRICTS = {"330105": "拱墅区", "330106": "西湖区", "330109": "萧山区"}
SQUARE = [[[120.0, 30.0], [120.1, 30.0], [120.1, 30.1], [120.0, 30.1], [120.0, 30.0]]]


def _feature(code, geometry=None, **properties):
    return {"type": "Feature", "properties": {"code": code, **properties},
            "geometry": geometry or {"type": "Polygon", "coordinates": SQUARE}}


def _collection(*features, **extra):
    return {"type": "FeatureCollection", "features": list(features), **extra}


@pytest.fixture(scope="module")
def registry_db(tmp_path_factory):
    """A migrated hub database whose registry knows the city and three districts (made once, copied per test)."""
    data_dir = tmp_path_factory.mktemp("registry")
    engine = make_engine(Settings(data_dir=data_dir).db_url)
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(Region.__table__.insert(), [
            {"code": "330100", "name": "杭州市", "level": "city", "parent_code": None},
            *({"code": code, "name": name, "level": "district", "parent_code": "330100"}
              for code, name in DISTRICTS.items())])
    engine.dispose()
    return data_dir / "hub.db"


@pytest.fixture
def hub_dir(tmp_path, registry_db):
    data_dir = tmp_path / "hub"
    data_dir.mkdir()
    shutil.copy(registry_db, data_dir / "hub.db")
    return data_dir


def _import(data_dir, tmp_path, document) -> tuple[int, str]:
    path = tmp_path / "map.geojson"
    path.write_bytes(document if isinstance(document, bytes) else json.dumps(document).encode())
    result = CliRunner().invoke(main, ["region", "map", "import", "--data-dir", str(data_dir), str(path)])
    return result.exit_code, result.output


@pytest.mark.parametrize("document, line", [
    (b"{not json", "not a JSON document (UTF-8) (/)"),
    (b'{"type": "FeatureCollection", "features": [], "x": NaN}', "not a JSON document (UTF-8) (/)"),
    ({"type": "Feature", "geometry": None, "properties": {}}, "not a GeoJSON FeatureCollection (/type)"),
    (_collection(), "a FeatureCollection with no features (/features)"),
    (_collection(_feature("330106"), {"type": "Point"}), "every member of features is a Feature (/features/1/type)"),
    (_collection(_feature("330106", {"type": "Point", "coordinates": [120.0, 30.0]})),
     "a district's geometry is a Polygon or a MultiPolygon (/features/0/geometry/type)"),
    (_collection(_feature("330106", {"type": "LineString", "coordinates": SQUARE[0]})),
     "a district's geometry is a Polygon or a MultiPolygon (/features/0/geometry/type)"),
    (_collection(_feature("3301")), "a district's code is its 6-digit GB/T 2260 division code (/features/0/properties/code)"),
    (_collection({"type": "Feature", "properties": {"name": "西湖区"}, "geometry": {"type": "Polygon", "coordinates": SQUARE}}),
     "a district's code is its 6-digit GB/T 2260 division code (/features/0/properties/adcode)"),
    (_collection(_feature("330106"), _feature("330199")), "not a district of the registry (/features/1/properties/code)"),
    (_collection(_feature("330100")), "not a district of the registry (/features/0/properties/code)"),
    (_collection(_feature("330106"), _feature("330106")),
     "the same district twice (give one MultiPolygon) (/features/1/properties/code)"),
    (_collection(_feature("330106", {"type": "Polygon", "coordinates": [SQUARE[0][:4]]})),
     "a linear ring ends where it starts (/features/0/geometry/coordinates/0)"),
    (_collection(_feature("330106", {"type": "Polygon", "coordinates": [SQUARE[0][:3]]})),
     "a linear ring has at least four positions (/features/0/geometry/coordinates/0)"),
    (_collection(_feature("330106", {"type": "MultiPolygon", "coordinates": [[[[120, 30], [120, "x"], [121, 31], [120, 30]]]]})),
     "a position is [longitude, latitude] (/features/0/geometry/coordinates/0/0/1)"),
    (_collection(_feature("330106", {"type": "Polygon", "coordinates": [[[200, 30], [120, 31], [121, 31], [200, 30]]]})),
     "a position is outside longitude -180..180, latitude -90..90 (/features/0/geometry/coordinates/0/0)"),
])
def test_a_wrong_file_is_one_line_with_its_code_and_pointer_and_keeps_nothing(hub_dir, tmp_path, document, line):
    code, output = _import(hub_dir, tmp_path, document)
    assert code == 1 and output == f"error: region.map.invalid: {line}\n"
    assert not (hub_dir / MAP_FILE).exists()


def test_a_wrong_file_leaves_the_map_before_it(hub_dir, tmp_path):
    assert _import(hub_dir, tmp_path, _collection(_feature("330106")))[0] == 0
    assert _import(hub_dir, tmp_path, _collection(_feature("330199")))[0] == 1
    assert [f["properties"]["code"] for f in load_map(hub_dir)["features"]] == ["330106"]


def test_import_keeps_the_geometry_the_code_and_the_registrys_name_and_show_lists_them(hub_dir, tmp_path):
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE, [[[121, 30], [121.1, 30], [121.1, 30.1], [121, 30]]]]}
    document = _collection(_feature("330106", name="whatever", population=1), {
        "type": "Feature", "properties": {"adcode": 330105, "name": "Gongshu"}, "geometry": multi})
    code, output = _import(hub_dir, tmp_path, document)
    assert code == 0, output
    assert output.splitlines()[0].startswith("region map: boundaries, 2 districts, imported ")
    assert output.splitlines()[1:] == ["  330106  西湖区", "  330105  拱墅区", "not on the map: 330109"]
    kept = load_map(hub_dir)
    assert kept["properties"]["schematic"] is False
    assert kept["features"][0]["properties"] == {"code": "330106", "name": "西湖区"}  # other properties dropped
    assert kept["features"][1]["geometry"] == multi
    shown = CliRunner().invoke(main, ["region", "map", "show", "--data-dir", str(hub_dir)])
    assert shown.exit_code == 0 and shown.output.splitlines()[1:] == output.splitlines()[1:]


def test_show_without_a_map_says_so_in_one_line(hub_dir):
    shown = CliRunner().invoke(main, ["region", "map", "show", "--data-dir", str(hub_dir)])
    assert shown.exit_code == 1
    assert shown.output == f"error: region.map.missing: no region map in {hub_dir} (hie region map import FILE)\n"


def test_the_schematic_map_is_a_valid_map_of_one_hexagon_per_district_marked_schematic():
    schematic = schematic_map(list(DISTRICTS.items()))
    kept = read_boundaries(json.dumps(schematic).encode(), districts=DISTRICTS)
    assert kept["properties"]["schematic"] is True
    assert [(f["properties"]["code"], f["properties"]["name"]) for f in kept["features"]] == list(DISTRICTS.items())
    assert all(f["properties"]["schematic"] for f in schematic["features"])
    rings = [f["geometry"]["coordinates"][0] for f in kept["features"]]
    assert all(len(ring) == 7 and ring[0] == ring[-1] for ring in rings)
    centres = {(round(sum(p[0] for p in r[:6]) / 6, 4), round(sum(p[1] for p in r[:6]) / 6, 4)) for r in rings}
    assert len(centres) == 3  # no two districts on the same cell


def test_a_file_too_large_is_refused_before_it_is_parsed():
    with pytest.raises(HubError) as refused:
        read_boundaries(b" " * (20 * 1024 * 1024 + 1), districts=DISTRICTS)
    assert refused.value.code == "region.map.invalid" and refused.value.fields["field"] == "/"


def test_the_demo_imports_a_schematic_map_of_every_district_of_its_registry(tmp_path, capsys):
    from hub.cli.demo_map import import_demo_map
    from hub.registry import seed_demo
    from hub.store.db import session_factory, transaction

    engine = make_engine(Settings(data_dir=tmp_path).db_url)
    migrate(engine)
    with transaction(session_factory(engine)) as session:
        seed_demo(session)
    engine.dispose()
    assert import_demo_map(tmp_path) == 13  # the divisions code list: Hangzhou's 13 district-level divisions
    kept = load_map(tmp_path)
    assert kept["properties"]["schematic"] is True
    assert {"330102", "330105", "330106"} <= {f["properties"]["code"] for f in kept["features"]}  # its institutions'
    assert capsys.readouterr().out.startswith("region map: schematic, 13 districts, one hexagon each")
