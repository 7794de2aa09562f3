"""The hub is the authority on code lists (imported there; an agent's shipped lists are older): a source
never quarantines a document for a code its own lists lack. It refuses only what no list can make valid:
the XSD's shape, an identifier's format, a code malformed for a system with a form (docs/code-lists.md).
Samples: the integrator examples (tests.support.documents) and adapters/samples/hl7v2 (synthetic)."""
from __future__ import annotations

from schemas.terminology import lookup
from tests.adapters.sources.conftest import hl7_options, run, sample, value  # noqa: F401 (fixture)
from tests.support.documents import document_bytes

DRUG_FIELD = "/Prescription/body/item[1]/drug/@code"


def test_a_drug_of_the_regional_catalogue_the_agents_list_lacks_is_sent():
    """After ``hie codes import drugs`` at the hub, a prescription of a catalogue drug is no longer held at the
    clinic as record.code.unknown: the hub, which has the catalogue, keeps it."""
    assert lookup("drugs", "YP9999") is None
    [item] = run("canonical", document_bytes("Prescription").replace(b'code="YP0012"', b'code="YP9999"'))
    assert item.problem is None, item.problem
    assert value(item.document, "d:body/d:item/d:drug", "code") == "YP9999"


def test_a_built_document_with_a_drug_the_agents_list_lacks_is_sent(hl7_options):
    options = {**hl7_options, "codes": {**hl7_options["codes"], "drug": {"MET500": "YP9999"}}}
    items = run("hl7v2", sample("hl7v2", "rde_o11_prescription.hl7"), options)
    assert [item.problem for item in items] == [None]
    assert "YP9999" in [drug.get("code") for drug in items[0].document.xpath("//*[local-name()='drug']")]


def test_a_code_of_the_hubs_own_list_the_agent_lacks_is_sent():
    """A newer hub may list a vaccine this agent's list lacks; the hub decides (and refuses an unknown one)."""
    payload = document_bytes("Immunization")
    assert payload.count(b'code="MMR"') == 1 and lookup("vaccines", "NEWVAX1") is None
    [item] = run("canonical", payload.replace(b'code="MMR"', b'code="NEWVAX1"'))
    assert item.problem is None, item.problem


def test_a_malformed_drug_code_is_still_quarantined_at_the_clinic():
    """No catalogue holds a code of that shape (an import checks the form), so the hub would refuse it."""
    [item] = run("canonical", document_bytes("Prescription").replace(b'code="YP0012"', b'code="YP-1"'))
    assert item.problem is not None
    assert (item.problem.code, item.problem.field) == ("record.code.unknown", DRUG_FIELD)
