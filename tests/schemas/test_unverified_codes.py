"""Codes the hub does not know yet (issue 23): a well-formed code in a place that allows it is kept with
the finding ``record.code.unverified``; a malformed one, or one in a place that carries the document's
meaning (the disease of a report, a vaccine, a drug), is still refused with ``record.code.unknown``."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.records.models import RecordDocument, RecordFinding
from protocol.errors import RecordError
from protocol.findings import Finding
from schemas import SCHEMAS_DIR
from schemas.terminology import lookup
from schemas.terminology.forms import icd10_categories, well_formed
from schemas.validation import validate
from tests.records.conftest import store  # noqa: F401  (fixture: a migrated store on each backend)
from tests.support.documents import DOC_NS, document

D = f"{{{DOC_NS}}}"
CODE_LISTS_DOC = Path(__file__).resolve().parents[2] / "docs" / "code-lists.md"


def _set(doc, path: str, attribute: str, value: str, index: int = 0):
    doc.findall("/".join(D + step for step in path.split("/")))[index].set(attribute, value)
    return doc


def _findings(doc) -> list[Finding]:
    found: list[Finding] = []
    validate(doc, found)
    return found


def _refused(doc) -> RecordError:
    with pytest.raises(RecordError) as caught:
        validate(doc, [])
    return caught.value


def test_the_real_prescription_diagnosis_r56_801_is_kept_with_a_finding():
    assert lookup("icd10", "R56.801") is None and lookup("icd10", "R56") is None  # not in the hub's sample
    rx = _set(document("Prescription"), "body/diagnosis", "code", "R56.801", index=1)
    assert _findings(rx) == [Finding("record.code.unverified", "/Prescription/body/diagnosis[2]/@code")]
    validate(rx)  # an agent validating before sending passes no list: the document simply passes


@pytest.mark.parametrize("code", ["E11.900", "I10.x00x002", "I15.800x005", "L40.0", "L40.00", "Z99"])
def test_national_clinical_version_and_who_codes_outside_the_sample_are_well_formed(code):
    rx = _set(document("Prescription"), "body/diagnosis", "code", code)
    assert [f.code for f in _findings(rx)] in ([], ["record.code.unverified"])
    assert well_formed("icd10", code)


@pytest.mark.parametrize("code", [
    "J19",          # no such ICD-10 category (J18 mistyped): the region's diagnosis.unknown defect
    "R56.8011",     # one digit too many for a subcategory, too few for a clinical extension
    "R56.801x01",   # the clinical extension has three digits after its x
    "I10.y00",      # only x stands for a missing subcategory
    "U50",          # U50-U81 are not used by ICD-10
])
def test_a_malformed_diagnosis_is_still_refused(code):
    rx = _set(document("Prescription"), "body/diagnosis", "code", code)
    error = _refused(rx)
    assert (error.code, error.field) == ("record.code.unknown", "/Prescription/body/diagnosis[1]/@code")


@pytest.mark.parametrize(("type_name", "path", "attribute", "code"), [
    ("InfectiousDiseaseReport", "body/disease", "code", "399"),    # the disease is what the report is
    ("Immunization", "body/vaccine", "code", "HPV4"),               # the vaccine is what was given
    ("Prescription", "body/item/drug", "code", "YP9999"),           # the drug is what was prescribed
    ("OutpatientVisit", "header/patient/sex", "code", "7"),        # a complete list: unlisted is wrong
    ("InpatientStay", "body/dischargeOutcome", "code", "6"),       # a complete list
])
def test_a_code_carrying_the_documents_meaning_or_of_a_complete_list_is_refused(type_name, path, attribute, code):
    doc = _set(document(type_name), path, attribute, code)
    assert _refused(doc).code == "record.code.unknown"


@pytest.mark.parametrize(("type_name", "path", "attribute", "code", "field"), [
    ("InfectiousDiseaseReport", "body/currentAddress", "division", "440305",
     "/InfectiousDiseaseReport/body/currentAddress/@division"),
    ("OutpatientVisit", "body/department", "code", "03.11", "/OutpatientVisit/body/department/@code"),
    ("Prescription", "body/department", "code", "14", "/Prescription/body/department/@code"),  # 医疗美容科
    ("InpatientStay", "body/diagnosis", "code", "L89.100x001", "/InpatientStay/body/diagnosis[1]/@code"),
])
def test_well_formed_codes_in_open_places_are_kept_with_a_finding(type_name, path, attribute, code, field):
    doc = _set(document(type_name), path, attribute, code)
    assert _findings(doc) == [Finding("record.code.unverified", field)]


@pytest.mark.parametrize(("type_name", "path", "attribute", "code"), [
    ("OutpatientVisit", "body/department", "code", "QK"),                  # the HIS's own code, not 国标
    ("OutpatientVisit", "body/department", "code", "99.99"),
    ("Prescription", "body/department", "code", "3.04"),
])
def test_malformed_codes_in_open_places_are_still_refused(type_name, path, attribute, code):
    doc = _set(document(type_name), path, attribute, code)
    assert _refused(doc).code == "record.code.unknown"


def test_forms_of_the_other_systems():
    assert well_formed("loinc", "2345-7") and well_formed("loinc", "718-7")
    assert not well_formed("loinc", "2345-8")  # check digit
    assert well_formed("occupation", "2-05-01-00") and not well_formed("occupation", "9")
    assert well_formed("countries", "FRA") and not well_formed("countries", "fr")
    assert well_formed("abnormal-flags", "AA") and not well_formed("abnormal-flags", "X")
    assert not well_formed("vaccines", "HPV9")  # the hub's own codes have no form
    assert len(icd10_categories()) == 2052  # WHO 2019's 2,050 and the dengue categories A90/A91


def test_every_open_binding_is_listed_in_the_docs():
    bindings = json.loads((SCHEMAS_DIR / "v1" / "bindings.json").read_text(encoding="utf-8"))
    rules = [(None, rule) for rule in bindings["common"]]
    rules += [(type_name, rule) for type_name, entries in bindings["types"].items() for rule in entries]
    opened = {(type_name or "*", f"{rule['path']}/@{rule['attribute']}")
              for type_name, rule in rules if rule.get("unverified")}
    text = CODE_LISTS_DOC.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| (\*|[A-Za-z]+) \| `([^`]+)` \| [^|]+ \| open", text, flags=re.MULTILINE))
    assert opened == listed


def test_the_hub_stores_the_prescription_and_reports_the_unverified_code(store):  # noqa: F811
    rx = _set(document("Prescription", document_id="RX-R56"), "body/diagnosis", "code", "R56.801", index=1)
    [row_id] = store.deliver(rx)
    store.process()
    assert store.outcome(row_id) == ("processed", None, None)
    with store.sessions() as session:
        assert session.scalar(select(RecordDocument.document_id)) == "RX-R56"
        assert [(f.code, f.field) for f in session.scalars(select(RecordFinding))] == [
            ("record.code.unverified", "/Prescription/body/diagnosis[2]/@code")]
