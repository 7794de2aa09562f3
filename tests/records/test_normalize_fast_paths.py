"""The everyday-value tests of ``schemas.normalize`` decide exactly what the repairs would (a value they
pass is one the repair leaves as it is), the byte gate finds what the tree walk would fix, and the reader
normalization hands on is one validation can reuse. SYNTHETIC values."""
from __future__ import annotations

import unicodedata

import pytest
from lxml import etree

from protocol.findings import Finding
from schemas import normalize
from schemas.reader import Reader
from schemas.validation import validated
from tests.support.documents import DOC_NS, document

RESIDENT_ROOT = "2.16.156.10011.1.3"
OTHER_ROOT = "2.16.156.10011.1.11"
# what front desks type: ASCII and not, spaces and controls, full-width, the check x, blanks
IDENTIFIERS = ["330106198001010030", "33010619800101003X", "33010619800101003x", "MZ20261122-0045", "OP-2024-001",
               "123358279", "", " ", "3301 06", "3301\t06", "3301\x1f06", "３３０１０６", "330106\u3000", "\u00a0330106",
               "ab-x", "x", "A\u0301", "ﬁ12", "①2", "12\x7f", "330106-19800101-0030", "330106.1980.0101.0030"]
DATES = ["1930-03-12", "2024-02-29", "2023-02-29", "1968-13-01", "１９６８-０４-１２", "1968-04-12 ", "19680412",
         "1968/04/12", "", "1968-4-12", "+968-04-12", "1968-04-1２"]
PHONES = ["13800000001", "10000000022", "0571-88001234", "+8613800000001", "1234", "12345", "1" * 25, "1" * 26,
          "138 0013 8000", "１３８００１３８０００", "0571-88001234转801", "13800000001x12", "not a phone", "", "١٢٣٤٥٦"]
DIVISIONS = ["330106", "33010", "3301060", "３３０１０６", "330106 ", "abcdef", "", "٣٣٠١٠٦"]
SEXES = ["0", "1", "2", "9", "M", "female", "男", "3", "", "１"]


def spelled_by_nfkc(value: str) -> str:
    """The definition ``spelled`` implements: NFKC, then every whitespace removed."""
    return "".join(unicodedata.normalize("NFKC", value).split())


@pytest.mark.parametrize("value", IDENTIFIERS + DATES + PHONES + DIVISIONS + SEXES)
def test_the_ascii_path_of_spelled_is_nfkc(value):
    assert normalize.spelled(value) == spelled_by_nfkc(value)


def _repaired(child: str, attribute: str, value: str, root: str | None = None) -> tuple[str | None, list[Finding]]:
    """The value the repair of ``child`` leaves (None: removed) and its findings, on a real document."""
    doc = document("OutpatientVisit", document_id="OV-FAST-1")
    element = doc.find(f"{{{DOC_NS}}}header/{{{DOC_NS}}}patient").find(f"{{{DOC_NS}}}{child}")
    if root is not None:
        element.set("root", root)
    element.set(attribute, value)
    findings: list[Finding] = []
    repair = {c: r for c, _a, _p, r in normalize._PATIENT_FIELDS}[child]
    repair(element, "OutpatientVisit", False, findings)
    return (element.get(attribute) if element.getparent() is not None else None), findings


@pytest.mark.parametrize("child,attribute,values,roots", [
    ("id", "extension", IDENTIFIERS, (RESIDENT_ROOT, OTHER_ROOT)),
    ("birthDate", "value", DATES, (None,)),
    ("telecom", "value", PHONES, (None,)),
    ("address", "division", DIVISIONS, (None,)),
    ("sex", "code", SEXES, (None,)),
])
def test_a_value_the_fast_test_passes_is_one_its_repair_leaves_alone(child, attribute, values, roots):
    plain = {c: p for c, _a, p, _r in normalize._PATIENT_FIELDS}[child]
    for root in roots:
        for value in values:
            if any(ord(c) < 0x20 and c not in "\t\n\r" for c in value):
                continue  # not XML: no parsed document holds it (lxml refuses to set it)
            after, findings = _repaired(child, attribute, value, root)
            if plain(value):
                assert (after, findings) == (value, []), (root, value)


@pytest.mark.parametrize("spelling,walks", [
    ('<sex code="1"/>', False),
    ('<sex code="1 "/>', True),              # a fixed-width column's padding
    ('<sex code="\u3000１"/>', True),          # an ideographic space, full-width digits
    ('<name>每日一次，饭后。「合成」</name>', False),  # full-width comma, CJK punctuation: no code in doubt
    ('<name>合成\u3000测试</name>', True),     # U+3000 anywhere: the walk decides
    ('<name>ｘｙ</name>', True),
])
def test_the_byte_gate_lets_through_what_the_walk_may_fix(spelling, walks):
    assert normalize._may_need_walk(f'<a>{spelling}</a>'.encode("utf-8")) is walks


def test_normalization_hands_validation_its_reader_unless_a_repair_removed_an_element():
    doc = document("OutpatientVisit", document_id="OV-FAST-2")
    data = etree.tostring(doc, encoding="utf-8")
    reader = normalize.normalize_document(doc, data, [])
    assert isinstance(reader, Reader)
    assert validated(doc, [], reader=reader)[1] is reader  # the index is built once
    doc = document("OutpatientVisit", document_id="OV-FAST-3")
    doc.find(f"{{{DOC_NS}}}header/{{{DOC_NS}}}patient/{{{DOC_NS}}}telecom").set("value", "not a phone")
    findings: list[Finding] = []
    assert normalize.normalize_document(doc, None, findings) is None  # the telecom is gone: a stale index
    assert [f.code for f in findings] == ["record.patient.telecom.invalid"]
    assert validated(doc, findings)[0].type_name == "OutpatientVisit"


def test_an_unknown_type_is_left_to_validation():
    doc = etree.fromstring(f'<Unknown xmlns="{DOC_NS}"><header/></Unknown>')
    assert normalize.normalize_document(doc, None, []) is None
