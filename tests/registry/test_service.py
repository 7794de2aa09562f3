"""Institution, department and practitioner registries: checks, hierarchy, queries, audit."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest

from hub import registry
from hub.registry import Actor
from hub.store.db import transaction
from protocol.errors import HubError

from .conftest import BUREAU, NOW, audit_rows


@contextmanager
def _raises(code: str, field: str | None = None):
    """Expect a HubError with this code and field pointer."""
    with pytest.raises(HubError) as caught:
        yield caught
    assert (caught.value.code, caught.value.fields.get("field")) == (code, field)


def _hospital(**overrides) -> dict:
    return {"code": "HOSP09", "name": "测试医院", "kind": "hospital", "level": "2", "division_code": "330106",
            **overrides}


def test_register_creates_then_updates(sessions):
    with transaction(sessions) as session:
        created = registry.register_institution(session, actor=BUREAU, now=NOW, **_hospital())
        assert (created.status, created.created_at, created.parent_code) == ("active", NOW, None)
    later = NOW + timedelta(days=1)
    with transaction(sessions) as session:
        registry.register_institution(session, actor=BUREAU, now=later,
                                      **_hospital(name="测试医院（新址）", level="3"))
    with sessions() as session:
        row = registry.get_institution_or_raise(session, code="HOSP09")
        assert (row.name, row.level, row.created_at, row.updated_at) == ("测试医院（新址）", "3", NOW, later)
    assert [e.event_type for e in audit_rows(sessions, "registry.institution")] == [
        "registry.institution.create", "registry.institution.update"]
    assert {e.member for e in audit_rows(sessions, "registry.institution")} == {"BUREAU"}


def test_a_city_bureau_governs_the_city(sessions):
    with transaction(sessions) as session:
        registry.create_institution(session, actor=BUREAU, **_hospital(code="CITYHC", kind="bureau", level=None,
                                                                        division_code="330100"))
    with sessions() as session:
        assert registry.get_institution_or_raise(session, code="CITYHC").division_code == "330100"


@pytest.mark.parametrize(("overrides", "field"), [
    ({"division_code": "999999"}, "/division_code"),    # not in the divisions code list
    ({"division_code": "330100"}, "/division_code"),    # a city, not a district-level division
    ({"division_code": None}, "/division_code"),
    ({"kind": "spa"}, "/kind"),
    ({"level": "5"}, "/level"),
    ({"name": "  "}, "/name"),
    ({"code": "hosp 9"}, "/code"),
    ({"parent_code": "NOPE"}, "/parent_code"),
])
def test_invalid_institution_names_the_field(sessions, overrides, field):
    with transaction(sessions) as session, _raises("registry.invalid", field) as caught:
        registry.create_institution(session, actor=BUREAU, **_hospital(**overrides))
    assert "999999" not in str(caught.value) and "spa" not in str(caught.value)  # never the input
    assert audit_rows(sessions, "registry.institution") == []


def test_duplicate_code_is_invalid(seeded):
    with transaction(seeded) as session, _raises("registry.invalid", "/code"):
        registry.create_institution(session, actor=BUREAU, **_hospital(code="HOSP01"))


def test_unknown_institution(seeded):
    with seeded() as session:
        assert registry.get_institution(session, code="NOPE") is None
        with _raises("registry.not_found"):
            registry.get_institution_or_raise(session, code="NOPE")
    with transaction(seeded) as session, _raises("registry.not_found"):
        registry.update_institution(session, actor=BUREAU, code="NOPE", name="x")


def test_parent_cycle_rejected(seeded):
    # CLINIC03 is a station under CLINIC01: CLINIC01 cannot move under CLINIC03, nor under itself
    for parent in ("CLINIC03", "CLINIC01"):
        with transaction(seeded) as session, _raises("registry.invalid", "/parent_code"):
            registry.update_institution(session, actor=BUREAU, code="CLINIC01", parent_code=parent)


def test_query_institutions(seeded):
    def codes(**kwargs):
        with seeded() as session:
            return [row.code for row in registry.query_institutions(session, **kwargs)]

    assert codes(division="330105") == ["CLINIC02", "HOSP02"]
    assert len(codes(division="330000")) == len(registry.seed.DEMO_INSTITUTIONS)  # the province's subtree
    assert codes(division="330182") == []
    assert codes(kind="hospital") == ["HOSP01", "HOSP02"]
    assert codes(kind="community_center", division="330102") == ["CLINIC01"]
    assert codes(q="社区卫生服务") == ["CLINIC01", "CLINIC02", "CLINIC03"]
    assert codes(q="%") == []  # LIKE wildcards are literal
    assert codes(parent="CLINIC01") == ["CLINIC03"]
    assert codes(limit=2, offset=1) == ["CDC01", "CLINIC01"]
    for kwargs, field in (({"division": "999999"}, "/division"), ({"kind": "spa"}, "/kind"),
                          ({"limit": 0}, "/limit"), ({"q": "x" * 101}, "/q")):
        with seeded() as session, _raises("registry.invalid", field):
            registry.query_institutions(session, **kwargs)


def test_chain_of_institution(seeded):
    with seeded() as session:
        chain = registry.chain_of(session, institution_code="CLINIC03")
        assert [(r.code, r.level) for r in chain.divisions] == [
            ("330000", "province"), ("330100", "city"), ("330102", "district")]
        assert [p.code for p in chain.parents] == ["CLINIC01"]
        assert [d.standard_code for d in chain.departments] == ["02"]


def test_departments(seeded):
    with transaction(seeded) as session:
        registry.register_department(session, actor=Actor("HOSP02"), institution_code="HOSP02", code="EK",
                                     name="儿科", standard_code="07")
        registry.register_department(session, actor=Actor("HOSP02"), institution_code="HOSP02", code="EK",
                                     name="儿科门诊", standard_code="07.01")
    with seeded() as session:
        row = registry.get_department_or_raise(session, institution_code="HOSP02", code="EK")
        assert (row.name, row.standard_code) == ("儿科门诊", "07.01")
        assert [d.code for d in registry.query_departments(session, institution_code="HOSP02")] == ["EK", "NK", "ZYK"]
        with _raises("registry.not_found"):
            registry.query_departments(session, institution_code="NOPE")
    with transaction(seeded) as session, _raises("registry.invalid", "/standard_code"):
        registry.create_department(session, actor=BUREAU, institution_code="HOSP02", code="XX", name="x",
                                   standard_code="99")
    with transaction(seeded) as session, _raises("registry.not_found"):
        registry.create_department(session, actor=BUREAU, institution_code="NOPE", code="XX", name="x",
                                   standard_code="03")
    events = [e.event_type for e in audit_rows(seeded, "registry.department") if e.member == "HOSP02"]
    assert events == ["registry.department.create", "registry.department.update"]


def test_practitioners(seeded):
    actor = Actor("HOSP01")
    with transaction(seeded) as session:
        registry.register_practitioner(session, actor=actor, institution_code="HOSP01", code="D0100",
                                       name="测试医生庚", title_code="234", department_code="NK", synthetic=True)
        registry.update_practitioner(session, actor=actor, institution_code="HOSP01", code="D0100",
                                     title_code="233", status="inactive")
    with seeded() as session:
        row = registry.get_practitioner_or_raise(session, institution_code="HOSP01", code="D0100")
        assert (row.title_code, row.department_code, row.status, row.synthetic) == ("233", "NK", "inactive", True)
        assert [p.code for p in registry.query_practitioners(session, institution_code="HOSP01",
                                                             department_code="NK")] == ["D0001", "D0100"]
        assert all(p.synthetic for p in registry.query_practitioners(session, institution_code="CLINIC01"))
    for overrides, field in (({"department_code": "ZYK"}, "/department_code"),  # HOSP02's, not HOSP01's
                             ({"title_code": "999"}, "/title_code"), ({"name": ""}, "/name")):
        values = {"code": "D0200", "name": "测试", **overrides}
        with transaction(seeded) as session, _raises("registry.invalid", field):
            registry.create_practitioner(session, actor=actor, institution_code="HOSP01", **values)
    rows = [e for e in audit_rows(seeded, "registry.practitioner") if e.member == "HOSP01"]
    assert [e.event_type for e in rows] == ["registry.practitioner.create", "registry.practitioner.update"]


def test_audit_rows_hold_no_entry_content(seeded):
    names = {p[2] for p in registry.seed.DEMO_PRACTITIONERS} | {i[1] for i in registry.seed.DEMO_INSTITUTIONS}
    rows = audit_rows(seeded)
    assert len(rows) > 20
    for row in rows:
        values = {str(getattr(row, c.key)) for c in row.__table__.columns}
        assert not values & names
        assert row.person_id is None and row.outcome == "success"


def test_seed_is_idempotent(seeded):
    with transaction(seeded) as session:
        registry.seed_demo(session, now=NOW)
    with seeded() as session:
        assert len(registry.query_institutions(session)) == len(registry.seed.DEMO_INSTITUTIONS)
        assert len(registry.query_practitioners(session, institution_code="HOSP01")) == 3

