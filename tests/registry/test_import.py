"""``hie registry import FILE`` and ``hie pki issue --register``: a hand-run hub gets its registry from a
file (CSV or JSON) or with each certificate; all or nothing, idempotent, one line naming the row at fault."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from hub.audit import AuditEvent
from hub.cli.main import main
from hub.registry import HUB_OPERATOR, Department, Institution, Practitioner, import_entries, read_entries
from hub.store.db import make_engine, session_factory, transaction
from schemas import EXAMPLES_DIR

SAMPLE = EXAMPLES_DIR / "registry.csv"
HEADER = "entry,code,name,kind,division,level,parent,status,institution,standard_code,title,department,synthetic\n"


def _counts(sessions) -> dict[str, int]:
    with sessions() as session:
        return {model.__name__: session.scalar(select(func.count()).select_from(model))
                for model in (Institution, Department, Practitioner, AuditEvent)}


def _import(sessions, content: bytes, suffix: str = ".csv"):
    with transaction(sessions) as session:
        return import_entries(session, actor=HUB_OPERATOR, entries=read_entries(content, suffix=suffix)).counts


def test_the_sample_file_imports_once_and_a_second_import_changes_nothing(sessions):
    first = _import(sessions, SAMPLE.read_bytes())
    assert first["institution"] == {"created": 5, "updated": 0, "unchanged": 0}
    assert first["department"]["created"] == 6 and first["practitioner"]["created"] == 9
    assert first["region"] == {"checked": 4}  # against the divisions code list
    before = _counts(sessions)
    again = _import(sessions, SAMPLE.read_bytes())
    assert all(c.get("created", 0) == c.get("updated", 0) == 0 for c in again.values())
    assert _counts(sessions) == before  # not even an audit row
    with sessions() as session:
        station = session.get(Institution, "HOSP01")
        assert (station.kind, station.level, station.division_code) == ("hospital", "3", "330102")


def test_a_changed_row_updates_its_entry_only(sessions):
    _import(sessions, SAMPLE.read_bytes())
    changed = SAMPLE.read_text(encoding="utf-8").replace("HOSP01,示例区人民医院,hospital,330102,3",
                                                          "HOSP01,示例区人民医院,hospital,330102,2")
    counts = _import(sessions, changed.encode())
    assert counts["institution"] == {"created": 0, "updated": 1, "unchanged": 4}
    with sessions() as session:
        assert session.get(Institution, "HOSP01").level == "2"


def test_json_with_a_parent_listed_after_its_child(sessions):
    document = {"institutions": [
        {"code": "ST01", "name": "示例社区卫生服务站", "kind": "clinic", "division": "330102",
         "parent": "CT01"},
        {"code": "CT01", "name": "示例社区卫生服务中心", "kind": "community_center", "division": "330102"}],
        "departments": [{"institution": "ST01", "code": "QK", "name": "全科", "standard_code": "02"}],
        "practitioners": [{"institution": "ST01", "code": "D1", "name": "测试医生", "title": "234",
                           "department": "QK", "synthetic": True}]}
    counts = _import(sessions, json.dumps(document, ensure_ascii=False).encode(), ".json")
    assert counts["institution"]["created"] == 2 and counts["practitioner"]["created"] == 1
    with sessions() as session:
        assert session.get(Institution, "ST01").parent_code == "CT01"


@pytest.mark.parametrize(("row", "expected"), [
    ("institution,CLINIC09,示例,community_center,999999,,,,,,,,", "row 3, field division"),
    ("institution,CLINIC09,示例,castle,330102,,,,,,,,", "row 3, field kind"),
    ("institution,CLINIC09,,community_center,330102,,,,,,,,", "row 3, field name"),
    ("department,QK,全科,,,,,,NOWHERE,02,,,", "row 3, field institution"),
    ("department,QK,全科,,,,,,CLINIC01,99.99,,,", "row 3, field standard_code"),
    ("practitioner,D9,测试,,,,,,CLINIC01,,999,,", "row 3, field title"),
    ("practitioner,D9,测试,,330102,,,,CLINIC01,,,,", "row 3, field division"),  # not a practitioner's field
    ("region,999999,,,,,,,,,,,", "row 3, field code"),
    ("castle,X,,,,,,,,,,,", "row 3, field entry"),
])
def test_a_bad_row_is_one_line_naming_row_and_field_and_nothing_is_imported(tmp_path, row, expected):
    good = "institution,CLINIC01,示例社区卫生服务中心,community_center,330102,1,,,,,,,\n"
    path = tmp_path / "members.csv"
    path.write_text(HEADER + good + row + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["registry", "import", "--data-dir", str(tmp_path), str(path)])
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert "registry.invalid" in result.output and expected in result.output
    assert "示例" not in result.output and "999" not in result.output.split(":", 2)[-1]  # no content quoted
    if (tmp_path / "hub.db").exists():  # (a row refused while reading the file never opens the store)
        engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
        assert _counts(session_factory(engine))["Institution"] == 0  # the good row before it is not kept either
        engine.dispose()


def test_cli_import_prints_counts_and_rejects_other_formats(tmp_path):
    runner = CliRunner()
    first = runner.invoke(main, ["registry", "import", "--data-dir", str(tmp_path / "data"), str(SAMPLE)])
    assert first.exit_code == 0, first.output
    assert "institutions      5 created     0 updated     0 unchanged" in first.output
    second = runner.invoke(main, ["registry", "import", "--data-dir", str(tmp_path / "data"), str(SAMPLE)])
    assert "institutions      0 created     0 updated     5 unchanged" in second.output
    listed = runner.invoke(main, ["registry", "list", "--data-dir", str(tmp_path / "data")]).output
    assert all(code in listed for code in ("BUREAU", "CLINIC01", "CLINIC02", "CLINIC03", "HOSP01"))
    other = tmp_path / "members.xlsx"
    other.write_bytes(b"PK")
    refused = runner.invoke(main, ["registry", "import", "--data-dir", str(tmp_path / "data"), str(other)])
    assert refused.exit_code == 1 and refused.output.count("\n") == 1 and ".csv or .json" in refused.output


def test_pki_issue_register_issues_and_registers_in_one_step(tmp_path):
    runner = CliRunner()
    pki, data = tmp_path / "data" / "pki", tmp_path / "data"
    assert runner.invoke(main, ["pki", "init", "--dir", str(pki)]).exit_code == 0

    def issue(code="CLINIC04", kind="community_center"):
        return runner.invoke(main, ["pki", "issue", "--dir", str(pki), "--member", code,
                                    "--name", "示例新社区卫生服务中心", "--register", "--kind", kind,
                                    "--division", "330106", "--data-dir", str(data)])

    issued = issue()
    assert issued.exit_code == 0, issued.output
    assert (pki / "members" / "CLINIC04" / "cert.pem").exists() and "registry:    CLINIC04" in issued.output
    listed = runner.invoke(main, ["registry", "list", "--data-dir", str(data)]).output
    assert "CLINIC04     community_center  330106  active    示例新社区卫生服务中心" in listed
    # a refused registry entry issues no certificate; a refused certificate registers nothing
    bad = issue("CLINIC05", "castle")
    assert bad.exit_code == 2 and "registry.invalid" in bad.output
    assert not (pki / "members" / "CLINIC05").exists()
    again = issue("CLINIC04", "clinic")
    assert again.exit_code == 2 and "pki.member.exists" in again.output
    assert "CLINIC04     community_center" in runner.invoke(main, ["registry", "list", "--data-dir", str(data)]).output
    incomplete = runner.invoke(main, ["pki", "issue", "--dir", str(pki), "--member", "CLINIC06", "--register"])
    assert incomplete.exit_code == 2 and "--register needs" in incomplete.output
