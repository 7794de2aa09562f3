"""``hie codes import SYSTEM FILE`` (hub/cli/codes.py, schemas/terminology/imports.py): an operator adds a
national list to a shipped sample, under the headers it is published with; the import only adds, checks
every code's form (and a division's place), is kept in the hub's database and audited, and a wrong file
(a stray quote included) is one line that changes nothing."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from hub.audit import AuditEvent
from hub.cli.main import main
from hub.codes import additions, watch
from hub.registry.regions import get_region, is_district, subtree_codes
from hub.settings import Settings
from hub.store.db import make_engine, migrate, session_factory
from hub.web.scope import districts_under
from olap.dimensions.codes import division_dimension
from schemas import CODES_DIR
from schemas.terminology.codes import load_code_systems, read_code_system

# A few rows as the national clinical version 2.0 is published (GBK, Chinese headers); the names are the
# standard's display texts, no patient data.
NATIONAL_ICD10 = ("疾病编码,疾病名称\r\n"
                  "R56.801,高热惊厥\r\n"
                  "I10.x00x002,高血压2级\r\n"
                  "I10,特发性（原发性）高血压\r\n"    # already listed: kept as shipped
                  "L40.000,寻常型银屑病\r\n")


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("codes-hub")
    engine = make_engine(Settings(data_dir=data_dir).db_url)
    migrate(engine)
    engine.dispose()
    return data_dir / "hub.db"


@pytest.fixture
def hub(tmp_path, migrated_db):
    """A hub data directory and a copy of the shipped code lists (which an import must leave alone)."""
    data_dir, codes_dir = tmp_path / "hub", tmp_path / "codes"
    data_dir.mkdir()
    shutil.copy(migrated_db, data_dir / "hub.db")
    shutil.copytree(CODES_DIR, codes_dir)
    return data_dir, codes_dir


def _lists(data_dir):
    """The hub's lists as its processes see them: shipped plus what its database holds."""
    sessions = session_factory(make_engine(Settings(data_dir=data_dir).db_url))
    with sessions() as session:
        return load_code_systems(CODES_DIR, additions(session))


def _import(hub, system: str, content: bytes, tmp_path):
    data_dir, codes_dir = hub
    source = tmp_path / "list.csv"
    source.write_bytes(content)
    return CliRunner().invoke(main, ["codes", "import", "--data-dir", str(data_dir), "--codes-dir", str(codes_dir),
                                     system, str(source)])


def _audits(data_dir):
    sessions = session_factory(make_engine(Settings(data_dir=data_dir).db_url))
    with sessions() as session:
        return [(a.event_type, a.code, a.detail) for a in session.scalars(select(AuditEvent))]


def test_a_national_icd10_list_in_gbk_is_added_to_the_sample(hub, tmp_path):
    result = _import(hub, "icd10", NATIONAL_ICD10.encode("gb18030"), tmp_path)
    assert result.exit_code == 0, result.output
    assert "icd10: 3 codes added, 1 already listed" in result.output
    icd10 = _lists(hub[0])["icd10"].by_code
    shipped = read_code_system(CODES_DIR / "icd10.csv").by_code
    assert set(icd10) - set(shipped) == {"R56.801", "I10.x00x002", "L40.000"}
    assert (icd10["I10.x00x002"].parent, icd10["I10.x00x002"].extra["level"]) == ("I10", "subcategory")
    assert icd10["R56.801"].display == "高热惊厥" and icd10["R56.801"].parent is None  # R56 is not listed
    assert icd10["I10"] == shipped["I10"]  # a listed code keeps its row
    assert _audits(hub[0]) == [("codes.import", "icd10", "3 added, 1 already listed")]
    again = _import(hub, "icd10", NATIONAL_ICD10.encode("utf-8-sig"), tmp_path)  # idempotent
    assert "icd10: 0 codes added, 4 already listed" in again.output


def test_a_drug_catalogue_keeps_its_atc_column(hub, tmp_path):
    catalogue = "药品编码,药品名称,atc,规格\nXJ01CAA040A001,阿莫西林胶囊,J01CA04,0.25g\n".encode()
    assert _import(hub, "drugs", catalogue, tmp_path).exit_code == 0
    drug = _lists(hub[0])["drugs"].by_code["XJ01CAA040A001"]
    assert (drug.display, drug.extra["atc"], drug.extra["dosage_form"]) == ("阿莫西林胶囊", "J01CA04", "")


@pytest.mark.parametrize(("system", "content", "line"), [
    ("icd10", "code,display\nR56.801,高热惊厥\nJ19,不存在\n", "error: codes.import.invalid: line 3: the code is not "
                                                             "a well-formed icd10 code"),
    ("icd10", "code,display\nR56.801,a\nR56.801,b\n", "error: codes.import.invalid: line 3: the code is repeated"),
    ("icd10", "code\nR56.801\n", "error: codes.import.invalid: no name column"),
    ("divisions", "编码,名称\n990101,x\n", "error: codes.import.invalid: line 2: the code is not a well-formed"),
    ("no-such-list", "code,display\nA,b\n", "error: codes.system.unknown: no such code list"),
    # complete lists and the hub's own are never extended (a code they lack is wrong, not missing)
    ("sex", "code,display\nX,外星\n", "error: codes.system.closed: sex is a complete list or the hub's own"),
    ("case-classification", "code,display\n99,随便\n", "error: codes.system.closed: case-classification is"),
    ("identifier-roots", "code,label,kind\n1.2.3.4,任意,resident_id\n", "error: codes.system.closed: identifier-roots"),
    ("vaccines", 'code,display\n"  ",空白\n', "error: codes.system.closed: vaccines is"),
    ("icd10", 'code,display\nR56.801,高热惊厥\n"  ",空白\n', "error: codes.import.invalid: line 3: the code is empty"),
    ("icd10", "code,display\nR56.801," + "长" * 140_000 + "\n",  # over the csv module's field limit
     "error: codes.import.invalid: line 2: not readable as CSV (field larger than field limit"),
    ("icd10", 'code,display\nR56.801,高热惊厥\nR56.811,"热性"惊厥\n',  # a quote closed inside the name
     "error: codes.import.invalid: line 3: not readable as CSV (',' expected after '\"')"),
])
def test_a_wrong_file_is_one_line_and_changes_nothing(hub, tmp_path, system, content, line):
    before = {path.name: path.read_bytes() for path in hub[1].iterdir()}
    result = _import(hub, system, content.encode(), tmp_path)
    assert result.exit_code != 0 and result.output.startswith(line) and result.output.count("\n") == 1
    assert "J19" not in result.output and "990101" not in result.output  # the line, never the value
    assert {path.name: path.read_bytes() for path in hub[1].iterdir()} == before
    assert _audits(hub[0]) == [] and _lists(hub[0])["icd10"].imported == 0


def test_codes_list_says_which_lists_are_importable_and_what_an_unlisted_code_does():
    result = CliRunner().invoke(main, ["codes", "list"])
    rows = {line.split("\t")[0]: line.split("\t")[3] for line in result.output.splitlines()}
    assert rows["icd10"].startswith("sample: importable; a well-formed unlisted code is kept")
    assert rows["vaccines"].startswith("closed or hub's own: not importable")
    # a prescription with a well-formed unlisted drug is refused record.code.unknown: never say it is kept
    assert rows["drugs"] == "sample: importable; an unlisted code is refused until the full list is imported"


def test_the_shipped_lists_are_left_alone(hub, tmp_path):
    before = {path.name: path.read_bytes() for path in hub[1].iterdir()}
    assert _import(hub, "icd10", NATIONAL_ICD10.encode(), tmp_path).exit_code == 0
    assert {path.name: path.read_bytes() for path in hub[1].iterdir()} == before
    assert _lists(hub[0])["icd10"].imported == 3


def test_a_stray_quote_is_refused_naming_its_line_not_swallowing_the_following_codes(hub, tmp_path):
    """A name opening a quote it never closes would make the next lines part of that name: the file of 3
    codes would add 1, with a name holding line breaks."""
    content = "疾病编码,疾病名称\r\nR56.811,\"热性惊厥\r\nR56.812,其他惊厥\r\nR56.813,第三\r\n".encode("gb18030")
    result = _import(hub, "icd10", content, tmp_path)
    assert result.exit_code == 1
    assert result.output == "error: codes.import.invalid: line 2: a quote opened on this line is never closed\n"
    icd10 = _lists(hub[0])["icd10"]
    assert icd10.imported == 0 and all("\n" not in concept.display for concept in icd10.concepts)


def test_a_quoted_name_over_several_lines_is_refused_even_when_the_quote_closes(hub, tmp_path):
    content = 'code,display\nR56.801,高热惊厥\nR56.811,"热性惊厥\nR56.812,其他"\nR56.813,第三\n'.encode()
    result = _import(hub, "icd10", content, tmp_path)
    assert result.exit_code == 1 and result.output.startswith(
        "error: codes.import.invalid: line 3: a quote opened on this line runs over 1 line break(s)")
    assert _lists(hub[0])["icd10"].imported == 0


def test_a_quoted_name_on_one_line_is_read(hub, tmp_path):
    result = _import(hub, "icd10", 'code,display\nR56.811,"热性惊厥,复杂型"\n'.encode(), tmp_path)
    assert result.exit_code == 0, result.output
    assert _lists(hub[0])["icd10"].by_code["R56.811"].display == "热性惊厥,复杂型"


def test_an_imported_division_gets_the_parent_and_level_its_digits_say(hub, tmp_path):
    """GB/T 2260 as published (code, name): 330183 lies under 330100 and is a 县级市, as the shipped
    list would have it, so it is inside the city's subtree and a district-level division."""
    result = _import(hub, "divisions", "代码,名称\r\n330183,富阳市\r\n".encode("gb18030"), tmp_path)
    assert result.exit_code == 0, result.output
    imported = _lists(hub[0])["divisions"].by_code["330183"]
    assert (imported.parent, imported.extra.get("level")) == ("330100", "county_city")
    watch(session_factory(make_engine(Settings(data_dir=hub[0]).db_url)))  # this process: the hub's lists
    assert "330183" in subtree_codes(code="330100") and is_district(get_region(code="330183"))


def test_an_imported_division_is_in_the_registry_mirror_that_scopes_and_the_etl_read(hub, tmp_path):
    """The city bureau's scope (registry_region) and the ETL's division dimension reach an imported
    county without waiting for an institution to be registered there."""
    content = "行政区划代码,单位名称\n330200,宁波市\n330203,海曙区\n330183,富阳市\n".encode("gb18030")
    assert _import(hub, "divisions", content, tmp_path).exit_code == 0
    sessions = session_factory(make_engine(Settings(data_dir=hub[0]).db_url))
    with sessions() as session:
        assert {"330183", "330102"} <= districts_under(session, "330100")
        assert districts_under(session, "330200") == {"330203"}
        regions = pd.read_sql(text("SELECT code, name, level, parent_code FROM registry_region"),
                              session.connection()).fillna("")
    place = division_dimension(regions).set_index("code").loc["330203"]
    assert (place.district_code, place.city_code, place.province_code) == ("330203", "330200", "330000")


@pytest.mark.parametrize(("content", "line"), [
    ("代码,名称\n330183,富阳市\n330281,余姚市\n", "line 3: the city it lies in is neither listed nor in the file"),
    ("代码,名称\n110000,北京市\n120101,和平区\n", "line 3: the city it lies in is neither listed nor in the file"),
    ("代码,名称\n320100,南京市\n", "line 2: the province it lies in is neither listed nor in the file"),
    ("代码,名称\n330001,x\n", "line 2: the code names no GB/T 2260 place (county digits under no city)"),
], ids=["city-missing", "municipality-missing", "province-missing", "no-city-digits"])
def test_a_division_whose_parent_is_nowhere_is_refused_naming_the_line(hub, tmp_path, content, line):
    result = _import(hub, "divisions", content.encode(), tmp_path)
    assert result.exit_code == 1 and result.output == f"error: codes.import.invalid: {line}\n"
    assert _lists(hub[0])["divisions"].imported == 0


def test_the_national_division_list_imports_in_any_order_with_municipalities_and_province_governed_counties(
        hub, tmp_path):
    """The Ministry's list lists 北京市 then its districts (no 市辖区 row between), and 湖北省's 省直辖县级
    行政区划 (4290xx) without a 429000 row; a county may come before its city in the file."""
    content = ("行政区划代码,单位名称\n110101,东城区\n110000,北京市\n420000,湖北省\n429004,仙桃市\n"
               "429021,神农架林区\n420102,江岸区\n420100,武汉市\n")
    result = _import(hub, "divisions", content.encode("gb18030"), tmp_path)
    assert result.exit_code == 0, result.output
    divisions = _lists(hub[0])["divisions"].by_code
    assert {code: (divisions[code].parent or "", divisions[code].extra["level"]) for code in
            ("110000", "110101", "429004", "429021", "420100", "420102")} == {
        "110000": ("", "province"), "110101": ("110000", "district"), "429004": ("420000", "county_city"),
        "429021": ("420000", "county"), "420100": ("420000", "city"), "420102": ("420100", "district")}


@pytest.mark.parametrize(("system", "header", "row"), [
    ("divisions", "行政区划代码,单位名称", "330183,富阳市"),
    ("icd10", "诊断编码,诊断名称", "R56.801,高热惊厥"),
    ("icd10", "疾病编码,疾病名称", "R56.801,高热惊厥"),
    ("drugs", "药品本位码,产品名称,剂型", "86900001000011,阿莫西林胶囊"),
    ("drugs", "药品编码,药品名称,药品本位码", "YP9001,阿莫西林胶囊,86900001000011"),  # the catalogue's own code
], ids=["gbt2260", "icd10-clinical", "icd10-gbt14396", "nmpa-drug-code", "drug-catalogue"])
def test_the_lists_are_read_under_the_headers_they_are_published_with(hub, tmp_path, system, header, row):
    if header.count(",") > row.count(","):
        row += ",胶囊剂"
    result = _import(hub, system, f"{header}\r\n{row}\r\n".encode("gb18030"), tmp_path)
    assert result.exit_code == 0, result.output
    code, name = row.split(",")[:2]
    assert _lists(hub[0])[system].by_code[code].display == name
