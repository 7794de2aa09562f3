"""A diagnosis code the hub's ICD-10 sample lacks (kept with ``record.code.unverified``, issue 23) reaches
the mart like any other: a row of the diagnosis dimension whose chapter is found from the code, and whose
names the list cannot give are labelled 未核实 — the visit is counted, nothing is dropped or crashes."""
from __future__ import annotations

import pandas as pd
import pytest

from etl.dimensions import UNVERIFIED, UNVERIFIED_NAME, with_unverified_members
from olap.cubes.execute import level_names
from olap.dimensions import diagnosis_dimension
from tests.support.documents import DOC_NS, document

D = f"{{{DOC_NS}}}"
PRESSURE_ULCER = "L89.100x001"  # 国家临床版 2.0; neither L89 nor its block L80-L99 is in the hub's sample


@pytest.fixture
def etl(etl_dialects):
    """SQL on both sides (the OLTP reader's dimension rows, the mart's cube): the embedded default and
    the server pair, not the cross product (tests/etl/conftest.py)."""
    return etl_dialects


def _visit():
    visit = document("OutpatientVisit", document_id="OV-UNVERIFIED")
    visit.findall(f"{D}body/{D}diagnosis")[0].set("code", PRESSURE_ULCER)  # the primary diagnosis
    return visit


def test_an_unverified_primary_diagnosis_is_counted_under_named_unverified_members(etl):
    etl.deliver(_visit())
    assert etl.store.outcome(1) == ("processed", None, None)
    etl.run()
    assert list(etl.live("fact_outpatient_visit", "primary_diagnosis_code")["primary_diagnosis_code"]) == [
        PRESSURE_ULCER]
    [row] = etl.live("dim_diagnosis", "*", f"code = '{PRESSURE_ULCER}'").to_dict("records")
    assert (row["listed"], row["chapter_code"], row["category_code"]) == (0, "XII", "L89")
    assert (row["block_code"], row["block_name"]) == (UNVERIFIED, UNVERIFIED_NAME)
    assert (row["name"], row["category_name"]) == (UNVERIFIED_NAME, UNVERIFIED_NAME)
    assert level_names(etl.mart, "diagnosis.code", [PRESSURE_ULCER])[PRESSURE_ULCER] == row["name"]
    assert level_names(etl.mart, "diagnosis.block", [UNVERIFIED]) == {UNVERIFIED: UNVERIFIED_NAME}


def test_listed_rows_are_left_as_they_are():
    frame = diagnosis_dimension(["I10", "I10.x00x002", "R56.801", "L89.100x001"])
    marked = with_unverified_members(frame)
    named = frame["code"].isin(["I10", "I10.x00x002"])  # listed, or a subdivision of a listed category
    pd.testing.assert_frame_equal(marked[named], frame[named])
    unverified = marked.set_index("code").loc["R56.801"]  # R56 unlisted, its block R50-R69 listed
    assert (unverified["name"], unverified["category_name"]) == (UNVERIFIED_NAME, UNVERIFIED_NAME)
    assert (unverified["block_code"], unverified["chapter_code"]) == ("R50-R69", "XVIII")
    assert (marked[["name", "category_name", "block_code", "block_name", "chapter_code"]] != "").all().all()


def test_a_disease_card_from_outside_the_loaded_divisions_is_a_fact_under_no_known_district(etl):
    card = document("InfectiousDiseaseReport", document_id="CRB-UNVERIFIED")
    card.find(f"{D}body/{D}currentAddress").set("division", "440305")  # 深圳市南山区: not in the demo list
    etl.deliver(card)
    assert etl.store.outcome(1) == ("processed", None, None)
    etl.run()
    facts = etl.live("fact_disease_report", "division_code")
    assert list(facts["division_code"]) == ["440305"]  # counted; the division dimension has no row for it
    assert etl.live("dim_division", "code", "code = '440305'").empty
