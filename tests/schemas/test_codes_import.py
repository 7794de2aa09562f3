"""``hie codes import SYSTEM FILE`` (hub/cli/codes.py, schemas/terminology/imports.py): an operator adds a
national list to a shipped sample; the import only adds, checks every code's form, is kept in the hub's
database and audited, and a wrong file is one line that changes nothing."""
from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hub.audit import AuditEvent
from hub.cli.main import main
from hub.codes import additions
from hub.settings import Settings
from hub.store.db import make_engine, migrate, session_factory
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
