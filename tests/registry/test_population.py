"""``hie registry population import FILE``: the bureau's population figures per district and year, checked
row by row before anything is written (all or nothing), upserted, audited once; on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from hub.audit import AuditEvent
from hub.cli.main import main
from hub.registry import DivisionPopulation, import_population, query_population, read_population_file
from hub.registry.population import COLUMNS
from hub.store.db import make_engine, session_factory, transaction
from olap.cubes import population as olap_population
from protocol.errors import HubError
from region.truth import POPULATION_COLUMNS as REGION_COLUMNS

from .conftest import BUREAU, NOW, audit_rows

HEADER = ",".join(COLUMNS)
FILE = (f"{HEADER}\n"
        "330102,2026,1343000,8730,80580,上城区统计年鉴 2026\n"
        "330105,2026,1212000,7878,72720,拱墅区统计年鉴 2026\n"
        "330106,2027,1180000,7600,70000,西湖区人口预测\n")


def _import(sessions, content: str | bytes, *, now=NOW):
    data = content.encode() if isinstance(content, str) else content
    with transaction(sessions) as session:
        return import_population(session, actor=BUREAU, rows=read_population_file(data), now=now)


def _stored(sessions) -> list[tuple]:
    with sessions() as session:
        return [(p.division_code, p.year, p.population, p.live_births, p.children_under_7, p.source, p.updated_at)
                for p in query_population(session)]


def test_the_columns_are_the_marts_and_the_synthetic_regions():
    # the hub may not import olap (tests/test_dependencies.py): it keeps its own copy of the tuple
    assert COLUMNS == olap_population.COLUMNS == REGION_COLUMNS


def test_a_file_imports_once_and_again_changes_nothing(sessions):
    counts = _import(sessions, ("\ufeff" + FILE).encode())  # a BOM, as spreadsheets write it
    assert (counts.created, counts.updated, counts.unchanged) == (3, 0, 0)
    stored = _stored(sessions)
    assert stored[0] == ("330102", 2026, 1_343_000, 8_730, 80_580, "上城区统计年鉴 2026", NOW)
    [event] = audit_rows(sessions, "registry.population")
    assert (event.member, event.detail) == ("BUREAU", "created 3, updated 0, unchanged 0")

    again = _import(sessions, FILE, now=NOW + timedelta(days=1))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert _stored(sessions) == stored  # not even updated_at
    assert len(audit_rows(sessions, "registry.population")) == 1  # nothing written: nothing audited


def test_a_changed_figure_updates_its_row_only(sessions):
    _import(sessions, FILE)
    later = NOW + timedelta(days=1)
    counts = _import(sessions, FILE.replace("1212000,7878", "1215000,7878"), now=later)
    assert (counts.created, counts.updated, counts.unchanged) == (0, 1, 2)
    stored = {row[:2]: row for row in _stored(sessions)}
    assert stored[("330105", 2026)][2:] == (1_215_000, 7_878, 72_720, "拱墅区统计年鉴 2026", later)
    assert stored[("330102", 2026)][-1] == NOW
    assert [e.detail for e in audit_rows(sessions, "registry.population")][-1] == "created 0, updated 1, unchanged 2"


BAD_ROWS = [
    ("999999,2026,1000,10,70,x", "field division_code"),      # not in the divisions code list
    ("330100,2026,1000,10,70,x", "field division_code"),      # 杭州市: a city, not a district
    (",2026,1000,10,70,x", "field division_code"),
    ("330108,1948,1000,10,70,x", "field year"),
    ("330108,2101,1000,10,70,x", "field year"),
    ("330108,twenty,1000,10,70,x", "field year"),
    ("330108,2026,-5,0,0,x", "field population"),
    ("330108,2026,12.5,0,0,x", "field population"),
    ("330108,2026,,0,0,x", "field population"),
    (f"330108,2026,{2**70},0,0,x", "field population"),
    ("330108,2026,1000,1001,70,x", "field live_births"),      # more births than people
    ("330108,2026,1000,10,1001,x", "field children_under_7"),
    ("330108,2026,1000,10,abc,x", "field children_under_7"),
    ("330108,2026,1000,10,70,", "field source"),
    ("330108,2026,1000,10,70,   ", "field source"),
    ("330108,2026,1000,10,70," + "源" * 201, "field source"),
    ("330102,2026,1,0,0,x", "field year"),                    # the same division and year as row 2
    ("330108,2026,1000,10,70", "field None"),                 # a cell short: the row, no field
]


def test_a_bad_row_refuses_the_whole_file_naming_row_and_field(sessions):
    _import(sessions, FILE)
    before = _stored(sessions), len(audit_rows(sessions, ""))
    changed = FILE.replace("1212000,7878", "1215000,7878")  # row 3 would be updated by a good file
    for row, expected in BAD_ROWS:  # one database for them all: each file must leave it as it was
        with pytest.raises(HubError) as raised:
            _import(sessions, changed + row + "\n", now=NOW + timedelta(days=1))
        error = raised.value
        assert error.code == "registry.population.invalid", row
        place = f"{error.fields['row']}, field {error.fields.get('field')}"
        assert place.startswith("row 5") and expected in place, (row, place)
        assert "\n" not in str(error) and "源源" not in str(error) and str(2**70) not in str(error)  # never the input
        assert (_stored(sessions), len(audit_rows(sessions, ""))) == before, row  # nothing half-imported


@pytest.mark.parametrize(("content", "row", "field"), [
    (b"", "row 1", None),
    (f"{HEADER}\n".encode(), "row 2", None),                                   # a header and no figures
    (HEADER.replace("source", "origin").encode() + b"\n330102,2026,1,0,0,x\n", "row 1", "column 6"),
    (HEADER.replace(",source", "").encode() + b"\n330102,2026,1,0,0\n", "row 1", "source"),
    (f"{HEADER},year\n".encode(), "row 1", "column 7"),                        # a repeated column
    (f"{HEADER}\n330102,2026,1,0,0,\xe6\n".encode("latin-1"), "file", None),   # not UTF-8
    (f"{HEADER}\n330102,2026,1,0,0,x,extra\n".encode(), "row 2", None),
    (f'{HEADER}\n330102,2026,1,0,0,"two\nlines"\n'.encode(), "row 2", None),
])
def test_a_file_that_is_not_a_population_csv_is_refused_where_it_goes_wrong(content, row, field):
    with pytest.raises(HubError) as raised:
        read_population_file(content)
    assert raised.value.code == "registry.population.invalid"
    assert (raised.value.fields["row"], raised.value.fields.get("field")) == (row, field)


def test_columns_in_another_order_and_numbers_as_numbers(sessions):
    reordered = ("source,year,division_code,population,live_births,children_under_7\n"
                 "普查,2026,330108,525000,3412,31500\n")
    assert _import(sessions, reordered).created == 1
    with transaction(sessions) as session:  # what a loader hands over without a file (e.g. the region's truth)
        counts = import_population(session, actor=BUREAU, now=NOW, rows=[
            {"division_code": "330108", "year": 2026, "population": 525000, "live_births": 3412,
             "children_under_7": 31500, "source": "普查"}])
    assert counts.unchanged == 1
    with pytest.raises(HubError) as raised, transaction(sessions) as session:
        import_population(session, actor=BUREAU, now=NOW, rows=[
            {"division_code": "330108", "year": 2026, "population": True, "live_births": 0,
             "children_under_7": 0, "source": "x"}])
    assert raised.value.fields == {"row": "row 2", "field": "population"}


def test_the_synthetic_regions_population_file_imports(sessions, region_dir):
    counts = _import(sessions, (region_dir / "population.csv").read_bytes())
    assert counts.created == 3  # its three districts
    assert {row[0] for row in _stored(sessions)} == {"330102", "330105", "330106"}


def test_the_command_imports_lists_and_refuses_in_one_line(tmp_path):
    data, good, bad = tmp_path / "data", tmp_path / "population.csv", tmp_path / "bad.csv"
    good.write_text(FILE, encoding="utf-8")
    bad.write_text(FILE + "330108,2026,1000,1001,70,x\n", encoding="utf-8")
    runner = CliRunner()
    empty = runner.invoke(main, ["registry", "population", "list", "--data-dir", str(data)])
    assert empty.exit_code != 0 and "store.missing" in empty.output  # no hub there yet
    first = runner.invoke(main, ["registry", "population", "import", str(good), "--data-dir", str(data)])
    assert first.exit_code == 0, first.output
    assert first.output.split() == ["population", "3", "created", "0", "updated", "0", "unchanged"]
    refused = runner.invoke(main, ["registry", "population", "import", str(bad), "--data-dir", str(data)])
    assert refused.exit_code == 1
    assert refused.output == ("error: registry.population.invalid: row 5, field live_births: "
                              "above the population\n")
    listed = runner.invoke(main, ["registry", "population", "list", "--data-dir", str(data)])
    assert listed.exit_code == 0 and len(listed.output.splitlines()) == 3
    assert listed.output.splitlines()[0].split()[:3] == ["330102", "2026", "1,343,000"]
    engine = make_engine(f"sqlite:///{data / 'hub.db'}")
    try:
        with session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(DivisionPopulation)) == 3
            assert session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.event_type == "registry.population.import")) == 1
    finally:
        engine.dispose()
