"""Divisions from the code list, and their SQL mirror."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub import registry
from hub.registry import Region
from hub.store.db import transaction
from protocol.errors import HubError
from schemas.terminology import value_set


def test_children_path_subtree():
    assert [r.code for r in registry.region_children(code="330000")] == ["330100"]
    assert "330102" in {r.code for r in registry.region_children(code="330100")}
    assert registry.region_children(code="330102") == []
    assert [r.name for r in registry.region_path(code="330106")] == ["浙江省", "杭州市", "西湖区"]
    assert registry.subtree_codes(code="330100") == {c.code for c in value_set("divisions")} - {"330000"}
    with pytest.raises(HubError) as caught:
        registry.region_children(code="999999")
    assert caught.value.code == "registry.not_found"


def test_sync_regions_mirrors_the_code_list(sessions):
    with transaction(sessions) as session:
        assert registry.sync_regions(session, actor=registry.HUB_OPERATOR) == len(value_set("divisions"))
        assert registry.sync_regions(session, actor=registry.HUB_OPERATOR) == 0
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Region)) == len(value_set("divisions"))
        assert session.get(Region, "330102").parent_code == "330100"


def test_registering_an_institution_fills_the_mirror(sessions):
    with transaction(sessions) as session:
        registry.create_institution(session, actor=registry.HUB_OPERATOR, code="X1", name="x", kind="clinic",
                                    division_code="330108")
    with sessions() as session:
        assert session.get(Region, "330108").name == "滨江区"
