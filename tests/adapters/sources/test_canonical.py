"""The ``canonical`` source: one canonical document per file, or several in a DocumentSet."""
from __future__ import annotations

from pathlib import Path

from lxml import etree

from adapters.sources.canonical import AGENT_NS

from .conftest import run

EXAMPLES = Path(__file__).resolve().parents[3] / "schemas" / "examples"
D = "{urn:hie:doc:v1}"


def example(name: str) -> etree._Element:
    return etree.fromstring((EXAMPLES / f"{name}.xml").read_bytes())


def document_set(*documents: etree._Element, text: str = "") -> bytes:
    wrapper = etree.Element(f"{{{AGENT_NS}}}DocumentSet", nsmap={None: AGENT_NS})
    wrapper.text = text
    wrapper.extend(documents)
    return etree.tostring(wrapper, xml_declaration=True, encoding="UTF-8")


def c14n(document: etree._Element) -> bytes:
    return etree.tostring(document, method="c14n")


def test_a_file_of_one_document_is_one_item():
    [item] = run("canonical", (EXAMPLES / "Prescription.xml").read_bytes())
    assert item.problem is None
    assert item.key.startswith("Prescription:") and c14n(item.document) == c14n(example("Prescription"))


def test_a_document_set_gives_each_document_as_if_it_came_alone():
    alone = [run("canonical", (EXAMPLES / f"{name}.xml").read_bytes())[0] for name in ("Prescription", "Dispense")]
    together = run("canonical", document_set(example("Prescription"), example("Dispense")))
    assert [item.key for item in together] == [item.key for item in alone]
    assert [c14n(item.document) for item in together] == [c14n(item.document) for item in alone]
    # each item is a document of its own (serialized alone, nothing of the wrapper in it)
    assert all(item.document.getparent() is None and AGENT_NS not in etree.tostring(item.document).decode()
               for item in together)


def test_one_invalid_document_of_a_set_quarantines_itself_only():
    broken = example("OutpatientVisit")
    broken.find(f"{D}body/{D}department").set("code", "99.99")
    items = run("canonical", document_set(example("Prescription"), broken, example("Dispense")))
    assert [(item.problem.code if item.problem else "ok") for item in items] == ["ok", "record.code.unknown", "ok"]
    assert items[1].key.startswith("OutpatientVisit:") and items[1].problem.field.endswith("department/@code")


def test_a_set_holding_anything_but_documents_is_malformed():
    for payload in (document_set(), document_set(example("Prescription"), text="看这里")):
        [item] = run("canonical", payload)
        assert item.document is None and item.problem.code == "source.xml.malformed"
        assert item.key.startswith("sha256:") and "看这里" not in item.problem.message


def test_a_document_without_an_id_in_a_set_is_keyed_by_the_file_and_its_place():
    anonymous = example("Immunization")
    anonymous.find(f"{D}header/{D}id").set("extension", "")
    payload = document_set(example("Prescription"), anonymous)
    first, second = run("canonical", payload)
    assert first.key.startswith("Prescription:")
    assert second.key.startswith("sha256:") and second.key.endswith("#2") and second.problem is not None
