"""schemas.terminology: the code lists load, are consistent and answer look-ups."""
from __future__ import annotations

import json

import pytest

from schemas import CODES_DIR, SCHEMAS_DIR
from schemas.terminology import ancestors, lookup, systems, value_set
from schemas.terminology.codes import read_code_system


def test_systems_are_the_csv_files():
    assert systems() == sorted(p.stem for p in CODES_DIR.glob("*.csv"))
    assert {"icd10", "notifiable-diseases", "sex", "divisions", "departments", "drugs", "vaccines",
            "document-types", "identifier-roots", "abnormal-flags", "case-classification", "relationship",
            "occupation", "marital-status", "ethnicity"} <= set(systems())


def test_lookup():
    concept = lookup("sex", "2")
    assert (concept.system, concept.code, concept.display) == ("sex", "2", "女性")
    assert lookup("sex", "3") is None
    assert lookup("no-such-system", "1") is None
    assert value_set("no-such-system") == []


def test_icd10_hierarchy():
    assert [c.code for c in ancestors("icd10", "E11.9")] == ["E11", "E10-E14", "IV"]
    assert lookup("icd10", "I10").extra["level"] == "category"
    assert lookup("icd10", "IX").extra["range"] == "I00-I99"


def test_every_parent_exists():
    for system in systems():
        codes = {c.code for c in value_set(system)}
        for concept in value_set(system):
            assert concept.parent is None or concept.parent in codes, (system, concept.code)


def test_identifier_roots_have_exactly_the_five_kinds():
    kinds = {c.extra["kind"] for c in value_set("identifier-roots")}
    assert kinds == {"resident_id", "health_record_no", "health_card_no", "outpatient_no", "inpatient_no"}
    assert lookup("identifier-roots", "2.16.156.10011.1.3").extra["kind"] == "resident_id"


def test_notifiable_diseases_classes_and_icd10_codes():
    diseases = value_set("notifiable-diseases")
    top = [d for d in diseases if d.parent is None]
    count = {cls: sum(1 for d in top if d.extra["class"] == cls) for cls in "ABC"}
    assert count == {"A": 2, "B": 28, "C": 11}
    assert lookup("notifiable-diseases", "101").display == "鼠疫"
    for disease in diseases:
        assert lookup("icd10", disease.extra["icd10"]) is not None, disease.code
        if disease.parent:  # a sub-type has its parent's class
            assert disease.extra["class"] == lookup("notifiable-diseases", disease.parent).extra["class"]


def test_divisions_form_one_city():
    city = lookup("divisions", "330100")
    assert city.display == "杭州市" and city.parent == "330000"
    districts = [d for d in value_set("divisions") if d.parent == "330100"]
    assert len(districts) == 13 and all(d.code.startswith("3301") for d in districts)


def test_document_types_cover_every_schema():
    types = {p.stem for p in (SCHEMAS_DIR / "v1").glob("*.xsd")} - {"common"}
    assert {c.code for c in value_set("document-types")} == types
    templates = [c.extra["template_id"] for c in value_set("document-types")]
    assert len(set(templates)) == len(templates)


def test_bindings_name_existing_systems_and_types():
    bindings = json.loads((SCHEMAS_DIR / "v1" / "bindings.json").read_text(encoding="utf-8"))
    types = {p.stem for p in (SCHEMAS_DIR / "v1").glob("*.xsd")} - {"common"}
    assert set(bindings["types"]) == types
    for rule in [*bindings["common"], *(r for rules in bindings["types"].values() for r in rules)]:
        assert rule.get("unique") or rule["system"] in systems(), rule


def test_malformed_csv_is_refused(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,display\n1,a,extra\n", encoding="utf-8")
    with pytest.raises(ValueError):
        read_code_system(bad)
    dup = tmp_path / "dup.csv"
    dup.write_text("code,display\n1,a\n1,b\n", encoding="utf-8")
    with pytest.raises(ValueError):
        read_code_system(dup)
