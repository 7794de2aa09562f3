"""``hie region generate``: deterministic files, and a registry file the real import command accepts."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli.main import main
from olap import apply_schema
from olap.cubes.population import COLUMNS as POPULATION_COLUMNS
from olap.cubes.population import load_population, read_population_csv
from region import Generated, RegionError

from .conftest import SEED


def _files(directory):
    return {path.relative_to(directory).as_posix(): path.read_bytes()
            for path in sorted(directory.rglob("*")) if path.is_file()}


def test_the_same_seed_writes_byte_identical_files_and_another_seed_does_not(region_dir, other_region_dir, tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["region", "generate", "--out", str(tmp_path / "again"), "--seed", str(SEED)]).exit_code == 0
    assert _files(tmp_path / "again") == _files(region_dir)
    other = _files(other_region_dir)  # seed 12
    assert other["people.csv"] != _files(region_dir)["people.csv"]
    manifest = json.loads(other["manifest.json"])
    assert set(other) == {"manifest.json", *manifest["files"]}
    assert {"registry.json", "population.csv", "population-bands.csv", "people.csv", "truth/indicators.csv",
            "truth/records.csv"} <= set(other)


def test_another_process_with_another_hash_seed_writes_the_same_bytes(region_dir, tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-m", "hub.cli", "region", "generate", "--out", str(tmp_path / "elsewhere"),
                    "--seed", str(SEED)], check=True, env=env, cwd=tmp_path, capture_output=True, timeout=60)
    assert _files(tmp_path / "elsewhere") == _files(region_dir)


def test_the_manifest_counts_what_was_written(region_dir):
    manifest = json.loads((region_dir / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["seed"], manifest["size"], manifest["months"]) == (SEED, "small", ["2025-01", "2025-02", "2025-03"])
    with (region_dir / "people.csv").open(encoding="utf-8") as source:
        assert sum(1 for _ in source) - 1 == manifest["counts"]["residents"] == 3000
    with (region_dir / "truth" / "records.csv").open(encoding="utf-8") as source:
        assert sum(1 for _ in source) - 1 == manifest["counts"]["records"]
    assert manifest["counts"]["visits"] == manifest["counts"]["documents"]["OutpatientVisit"] > 4000


def test_the_registry_file_imports_into_a_fresh_hub(region_dir, tmp_path):
    runner = CliRunner()
    data = tmp_path / "data"
    first = runner.invoke(main, ["registry", "import", "--data-dir", str(data), str(region_dir / "registry.json")])
    assert first.exit_code == 0, first.output
    assert "institutions     16 created" in first.output and "regions           4 checked" in first.output
    listed = runner.invoke(main, ["registry", "list", "--data-dir", str(data)]).output
    assert all(code in listed for code in ("RB01", "RH01", "RH02", "RD01", "RC01", "RC12"))
    again = runner.invoke(main, ["registry", "import", "--data-dir", str(data), str(region_dir / "registry.json")])
    assert "institutions      0 created     0 updated    16 unchanged" in again.output


def test_the_region_is_three_districts_of_one_city_with_its_members(region_dir):
    registry = json.loads((region_dir / "registry.json").read_text(encoding="utf-8"))
    assert [r["code"] for r in registry["regions"]] == ["330100", "330102", "330105", "330106"]
    kinds = [i["kind"] for i in registry["institutions"]]
    assert (kinds.count("hospital"), kinds.count("community_center") + kinds.count("clinic"),
            kinds.count("distributor"), kinds.count("bureau")) == (2, 12, 1, 1)
    assert all(p["synthetic"] is True for p in registry["practitioners"])


def test_the_population_reference_is_what_ref_population_takes_and_counts_the_residents(region_dir):
    frame = read_population_csv(region_dir / "population.csv")
    assert tuple(frame.columns) == POPULATION_COLUMNS
    assert frame["population"].sum() == 3000 and (frame["live_births"] > 0).all()
    assert (frame["children_under_7"] > frame["live_births"]).all()
    with (region_dir / "population-bands.csv").open(encoding="utf-8") as source:
        bands = list(csv.DictReader(source))
    assert {row["age_band"] for row in bands} == {"0-4", "5-14", "15-44", "45-64", "65+"}
    assert sum(int(row["population"]) for row in bands) == 3000
    by_district = {}
    for row in bands:
        by_district[row["division_code"]] = by_district.get(row["division_code"], 0) + int(row["population"])
    assert by_district == dict(zip(frame["division_code"], frame["population"]))


def test_the_population_reference_loads_into_the_marts_ref_population(region_dir, chdb_olap):
    apply_schema(chdb_olap)
    load_population(chdb_olap, read_population_csv(region_dir / "population.csv"))
    loaded = chdb_olap.query_df("SELECT division_code, population, live_births FROM ref_population "
                                "WHERE year = 2025 ORDER BY division_code")
    assert list(loaded["division_code"]) == ["330102", "330105", "330106"]
    assert int(loaded["population"].sum()) == 3000 and int(loaded["live_births"].sum()) > 0


def test_files_of_another_generator_version_are_refused_with_their_code(region_dir, tmp_path):
    (tmp_path / "old").mkdir()
    manifest = json.loads((region_dir / "manifest.json").read_text(encoding="utf-8"))
    (tmp_path / "old" / "manifest.json").write_text(json.dumps({**manifest, "generator_version": "0"}), encoding="utf-8")
    with pytest.raises(RegionError) as refused:
        Generated.open(tmp_path / "old")
    assert refused.value.code == "region.files.version" and refused.value.fields["found"] == "0"
    with pytest.raises(RegionError) as missing:
        Generated.open(tmp_path / "nothing")
    assert missing.value.code == "region.files.missing"


def test_the_month_region_is_the_small_regions_last_month():
    """``--region month`` (the demo's test) plans what the small region plans for its last month: the same
    residents, the same members, the same events."""
    small, month = Generated.build(seed=SEED, size="small"), Generated.build(seed=SEED, size="month")
    assert month.periods == small.periods[-1:] and month.people == small.people
    last = [(member.code, events) for member, year, number, events in small.events()
            if (year, number) == small.periods[-1]]
    assert last == [(member.code, events) for member, _, _, events in month.events()] and last
