"""Every code place is checked exactly once: by ``schemas.validation.validated`` (a refusal, or the finding
``record.code.unverified``) or by a rule of ``hub/records/quality.py`` (a finding), never by both and never
by neither. One document per binding of ``bindings.json`` (and the patient's address division, which a
quality rule checks), with an unknown well-formed code and with a malformed one, through the hub's pure
processing phase (``hub.records.store.prepare``: normalize, validate, quality rules)."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from lxml import etree

from hub.exchange.models import Message
from hub.records.store import prepare
from protocol.errors import RecordError
from schemas import SCHEMAS_DIR
from schemas.terminology import code_systems
from schemas.terminology.forms import well_formed
from tests.support.documents import DOC_NS, document

D = f"{{{DOC_NS}}}"
BINDINGS = json.loads((SCHEMAS_DIR / "v1" / "bindings.json").read_text(encoding="utf-8"))
# A code each system's list lacks but that has the shape of its codes (for a system with a form: well-formed).
UNKNOWN = {"icd10": "R56.801", "divisions": "440305", "departments": "03.99", "countries": "ESP",
           "occupation": "2-05-01-00", "relationship": "98", "abnormal-flags": "MS", "drugs": "XJ01CAA040A001",
           "sex": "3", "ethnicity": "99", "marital-status": "31", "discharge-outcomes": "8",
           "notifiable-diseases": "399", "case-classification": "8", "vaccines": "HEV",
           "administration-sites": "98", "development-assessment": "8", "document-types": "X0001"}
MALFORMED = "x#1"
# optional places an example leaves out: put in before this sibling
MISSING = {("InfectiousDiseaseReport", "body/occupation"): "body/currentAddress"}


def _places():
    """(type, path, attribute, system) of every code binding; common ones for every type that has the place."""
    places = [(type_name, rule["path"], rule["attribute"], rule["system"])
              for type_name, rules in BINDINGS["types"].items() for rule in rules if not rule.get("unique")]
    places += [(type_name, rule["path"], rule["attribute"], rule["system"])
               for type_name in BINDINGS["types"] for rule in BINDINGS["common"]
               if document(type_name).find("/".join(D + step for step in rule["path"].split("/"))) is not None]
    # not a binding: the quality rule record.patient.division.unknown checks it (docs/code-lists.md)
    places += [(type_name, "header/patient/address", "division", "divisions") for type_name in BINDINGS["types"]
               if document(type_name).find(f"{D}header/{D}patient/{D}address") is not None]
    return places


PLACES = _places()


def _checks(type_name: str, path: str, attribute: str, code: str) -> list[str]:
    """What the hub's processing says about ``code`` in the place: the refusal and findings naming it."""
    doc = document(type_name)
    if (type_name, path) in MISSING:
        sibling = doc.find("/".join(D + step for step in MISSING[type_name, path].split("/")))
        sibling.addprevious(etree.Element(D + path.rsplit("/", 1)[-1], {attribute: ""}))
    elements = doc.findall("/".join(D + step for step in path.split("/")))
    assert elements, f"the example {type_name} has no {path}: the sweep cannot check it"
    elements[0].set(attribute, code)
    now = datetime.now(timezone.utc)
    message = Message(id=1, member="CLINIC01", message_id="urn:uuid:sweep", document=etree.tostring(doc),
                      received_at=now, status="accepted", document_type=type_name)
    steps = r"(\[\d+\])?/".join(re.escape(step) for step in path.split("/"))
    field = re.compile(rf"/{type_name}/{steps}(\[\d+\])?/@{attribute}")
    element = re.compile(rf"/{type_name}/{steps}(\[\d+\])?(/@{attribute})?")  # the XSD names the element
    try:
        prepared = prepare(message)
    except RecordError as error:
        if element.fullmatch(error.field or ""):
            return [f"refused {error.code}"]
        return [f"refused elsewhere {error.code} {error.field} {error.detail}"]
    return [finding.code for finding in prepared.findings if field.fullmatch(finding.field)]


@pytest.mark.parametrize(("type_name", "path", "attribute", "system"), PLACES,
                         ids=[f"{t}:{p}/@{a}" for t, p, a, _ in PLACES])
def test_each_code_place_is_checked_exactly_once(type_name, path, attribute, system):
    unknown = UNKNOWN[system]
    assert unknown not in code_systems()[system].by_code
    assert well_formed(system, unknown) or system not in ("icd10", "divisions", "departments", "drugs")
    for code in (unknown, MALFORMED):
        checks = _checks(type_name, path, attribute, code)
        assert len(checks) == 1 and not checks[0].startswith("refused elsewhere"), (code, checks)


def test_the_sweep_covers_every_binding():
    swept = {(t, p, a) for t, p, a, _ in PLACES}
    typed = {(t, rule["path"], rule["attribute"]) for t, rules in BINDINGS["types"].items() for rule in rules
             if not rule.get("unique")}
    assert typed <= swept
    assert {(rule["path"], rule["attribute"]) for rule in BINDINGS["common"]} <= {(p, a) for _, p, a in swept}
