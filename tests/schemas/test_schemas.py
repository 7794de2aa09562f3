"""The canonical document schemas: every example is valid, synthetic and internally consistent."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from protocol.xmlparse import parse_untrusted
from schemas import EXAMPLES_DIR, SCHEMAS_DIR
from schemas.terminology import lookup
from schemas.validation import validate

NS = "{urn:hie:doc:v1}"
RESIDENT_ID_ROOT = "2.16.156.10011.1.3"
SAMPLES = Path(__file__).parent / "samples"
TYPES = sorted(p.stem for p in (SCHEMAS_DIR / "v1").glob("*.xsd") if p.stem != "common")
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.xml"))
VALID_SAMPLES = sorted((SAMPLES / "valid").glob("*.xml"))
_COMMENT = re.compile(rb"<!--.*?-->\s*", re.S)


def check_digit_ok(resident_id: str) -> bool:
    """GB 11643: ISO 7064 MOD 11-2 over the first 17 digits (a local copy; the MPI owns the real one)."""
    if not re.fullmatch(r"[0-9]{17}[0-9X]", resident_id):
        return False
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(d) * w for d, w in zip(resident_id, weights)) % 11] == resident_id[17]


def load(path: Path) -> etree._Element:
    """Parse as the hub does (hardened parser), after dropping the samples' leading comments."""
    return parse_untrusted(_COMMENT.sub(b"", path.read_bytes()))


def test_fourteen_document_types_each_with_an_example():
    assert len(TYPES) == 14  # the 13 record types + Cancellation
    assert sorted(p.stem for p in EXAMPLES) == TYPES


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_is_valid_against_its_own_xsd(path):
    # Straight against the XSD file too, not only through the validator.
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS_DIR / "v1" / f"{path.stem}.xsd")))
    document = parse_untrusted(path.read_bytes())  # examples go through the hub as they are: no comments
    assert schema.validate(document), schema.error_log.last_error
    kind = validate(document)
    assert (kind.type_name, kind.schema_version, kind.namespace) == (path.stem, 1, "urn:hie:doc:v1")


@pytest.mark.parametrize("path", VALID_SAMPLES, ids=lambda p: p.stem)
def test_valid_sample_is_valid(path):
    assert validate(load(path)).type_name == path.stem.split("--")[0]


@pytest.mark.parametrize("path", EXAMPLES + VALID_SAMPLES, ids=lambda p: p.stem)
def test_resident_ids_are_well_formed_and_match_the_patient(path):
    document = load(path)
    patient = document.find(f"{NS}header/{NS}patient")
    for identifier in document.iter(f"{NS}id"):
        if identifier.get("root") != RESIDENT_ID_ROOT:
            continue
        value = identifier.get("extension")
        assert check_digit_ok(value), value
        assert lookup("divisions", value[:6]) is not None, "region code outside the divisions list"
        birth = patient.find(f"{NS}birthDate")
        if birth is not None:
            assert value[6:14] == birth.get("value").replace("-", "")
        sex = patient.find(f"{NS}sex")
        if sex is not None:
            assert {"1": 1, "2": 0}[sex.get("code")] == int(value[16]) % 2


def test_check_digit_function():
    assert check_digit_ok("11010519491231002X")
    assert not check_digit_ok("110105194912310021")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_type_code_and_template_follow_the_document_types_list(path):
    document = parse_untrusted(path.read_bytes())
    row = lookup("document-types", path.stem)
    assert document.find(f"{NS}header/{NS}typeCode").get("code") == row.extra["type_code"]
    assert document.find(f"{NS}header/{NS}templateId").get("root") == row.extra["template_id"]
    has_patient = document.find(f"{NS}header/{NS}patient") is not None
    assert has_patient == (row.extra["patient"] != "none")


def test_examples_readme_lists_every_example():
    readme = (EXAMPLES_DIR / "README.md").read_text(encoding="utf-8")
    for path in EXAMPLES:
        assert path.name in readme
