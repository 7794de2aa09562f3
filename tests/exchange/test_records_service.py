"""The records SOAP service behind the gate: submit, then find the resident and read the record."""
from __future__ import annotations

import io
import json
import uuid

import pytest
from lxml import etree

from hub import pipeline
from hub.mpi.resident_id import make_resident_id
from hub.records.soap import NAMESPACE, SERVICE
from hub.registry import seed_demo
from hub.runtime import processing_stages
from hub.store.db import transaction
from hub.web.app import soap_services
from protocol.ns import HIS, q
from protocol.request import seal_request
from protocol.sealed import open_sealed
from tests.support.documents import DOC_NS as NS
from tests.support.documents import ROOTS, document

from .builders import TO, fault_code, sealed, submit_document

# synthetic person (generated for the tests, not a real person)
PATIENT = {"resident_id": make_resident_id("33010519750505003"), "name": "合成测试乙", "sex": "1",
           "birth_date": "1975-05-05", "division": "330105"}


@pytest.fixture
def call(hub, members, hub_enc_cert, hub_paths):
    services = soap_services(hub)

    def hub_signer(cert, *args, **kwargs):
        if cert != hub.signer.certificate:
            raise AssertionError("result not signed by the hub")

    def _call(member: str, operation: str, **arguments) -> tuple[str | None, object]:
        content = etree.Element(q(NAMESPACE, operation), nsmap={"r": NAMESPACE})
        for name, value in arguments.items():
            etree.SubElement(content, q(NAMESPACE, name)).text = str(value)
        data = seal_request(content, credentials=members[member], hub_cert=hub_enc_cert, action=SERVICE.action_for(operation),
                            to=TO, message_id=f"urn:uuid:{uuid.uuid4()}").data
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/records", "SCRIPT_NAME": "/soap", "QUERY_STRING": "",
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                   "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(data),
                   "wsgi.errors": io.StringIO(), "CONTENT_LENGTH": str(len(data)),
                   "CONTENT_TYPE": "text/xml; charset=utf-8"}
        body = b"".join(services["records"](environ, lambda s, h, exc=None: None))
        code = fault_code(body)
        if code is not None:
            return code, None
        result = etree.fromstring(body).find(f".//{q(HIS, 'Result')}")
        plain = open_sealed(result, recipient=members[member], check_signer=hub_signer)
        return None, json.loads(plain)

    return _call


def test_submit_then_find_and_read_the_longitudinal_record(hub, post, members, hub_enc_cert, call):
    with transaction(hub.sessions) as session:
        seed_demo(session)
    visit = document("OutpatientVisit", institution="CLINIC01", document_id="OV-SOAP-1", patient=PATIENT)
    assert fault_code(post(sealed(members["CLINIC01"], hub_enc_cert, submit_document(visit))).body) is None
    assert pipeline.process_pending(hub.sessions, processing_stages()) == 1

    code, found = call("CLINIC01", "FindResidents", IdentifierRoot=ROOTS["resident_id"],
                       Identifier=PATIENT["resident_id"])
    assert code is None and [p["name"] for p in found] == [PATIENT["name"]]
    person_id = found[0]["person_id"]

    code, record = call("CLINIC01", "GetLongitudinalRecord", PersonId=person_id)
    assert code is None and [e["document_id"] for e in record["encounters"]] == ["OV-SOAP-1"]

    code, _ = call("HOSP01", "GetLongitudinalRecord", PersonId=person_id)
    assert code == "access.purpose.required"
    code, record = call("HOSP01", "GetLongitudinalRecord", PersonId=person_id, Purpose="referral")
    assert code is None and record["encounters"]

    code, docs = call("HOSP01", "QueryDocuments", PersonId=person_id, DocumentType="OutpatientVisit",
                      Purpose="treatment")
    assert code is None and [d["document_id"] for d in docs] == ["OV-SOAP-1"]


def test_operations_of_one_service_are_refused_at_another(hub, post, members, hub_enc_cert):
    content = etree.Element(q(NAMESPACE, "GetLongitudinalRecord"))
    etree.SubElement(content, q(NAMESPACE, "PersonId")).text = "1"
    data = seal_request(content, credentials=members["CLINIC01"], hub_cert=hub_enc_cert,
                        action=SERVICE.action_for("GetLongitudinalRecord"), to=TO).data
    assert fault_code(post(data).body) == "soap.operation.unknown"  # posted to /soap/exchange


def test_records_client_over_http(live_hub, client_for, members, hub_paths):
    """The client library end to end: submit over HTTP, processed, then read with RecordsClient."""
    import time

    from adapters.client import RecordsClient
    from adapters.errors import HubFault

    with transaction(live_hub.hub.sessions) as session:
        seed_demo(session)
    visit = document("OutpatientVisit", institution="CLINIC01", document_id="OV-HTTP-1", patient=PATIENT)
    receipt = client_for("CLINIC01").submit(visit)
    deadline = time.monotonic() + 10
    while client_for("CLINIC01").status(receipt.message_id).status != "processed" and time.monotonic() < deadline:
        time.sleep(0.05)
    url = live_hub.url.replace("/soap/exchange", "/soap/records")
    clinic = RecordsClient(url, credentials=members["CLINIC01"], hub_cert=hub_paths.hub_enc_cert,
                           ca_cert=hub_paths.ca_cert)
    [person] = clinic.find_residents(identifier_root=ROOTS["resident_id"], identifier=PATIENT["resident_id"])
    record = clinic.longitudinal_record(person["person_id"])
    assert [e["document_id"] for e in record["encounters"]] == ["OV-HTTP-1"]
    retrieved = clinic.retrieve_document(institution="CLINIC01", root=visit.find(f"{{{NS}}}header/{{{NS}}}id").get("root"),
                                         document_id="OV-HTTP-1")
    assert etree.QName(retrieved).localname == "OutpatientVisit"
    hospital = RecordsClient(url, credentials=members["HOSP01"], hub_cert=hub_paths.hub_enc_cert,
                             ca_cert=hub_paths.ca_cert)
    with pytest.raises(HubFault) as refused:
        hospital.longitudinal_record(person["person_id"])
    assert refused.value.code == "access.purpose.required" and not refused.value.retryable


def test_parameters_spyne_cannot_read_get_a_code(hub, call):
    """The records service's spyne Faults leave as the hub's too (``HubWsgiApplication``)."""
    assert call("CLINIC01", "GetLongitudinalRecord", PersonId=f"EVIL-{uuid.uuid4().hex[:8]}") \
        == ("soap.operation.invalid", None)


def test_a_valid_certificate_alone_opens_no_record(hub, post, members, hub_enc_cert, call):
    """HOSP01's certificate is valid throughout; what it may read follows its registry entry: as a
    supplier, then as an inactive hospital, it reads nothing personal over SOAP (refusals audited)."""
    from sqlalchemy import select

    from hub.audit import AuditEvent
    from hub.registry.models import Institution

    with transaction(hub.sessions) as session:
        seed_demo(session)
    visit = document("OutpatientVisit", institution="CLINIC01", document_id="OV-SOAP-2", patient=PATIENT)
    assert fault_code(post(sealed(members["CLINIC01"], hub_enc_cert, submit_document(visit))).body) is None
    assert pipeline.process_pending(hub.sessions, processing_stages()) == 1
    _, found = call("CLINIC01", "FindResidents", IdentifierRoot=ROOTS["resident_id"], Identifier=PATIENT["resident_id"])
    person_id = found[0]["person_id"]
    assert call("HOSP01", "GetLongitudinalRecord", PersonId=person_id, Purpose="treatment")[0] is None
    for kind, status in (("supplier", "active"), ("hospital", "inactive")):
        with transaction(hub.sessions) as session:
            entry = session.get(Institution, "HOSP01")
            entry.kind, entry.status = kind, status
        assert call("HOSP01", "GetLongitudinalRecord", PersonId=person_id, Purpose="treatment")[0] == "access.denied"
        assert call("HOSP01", "FindResidents", IdentifierRoot=ROOTS["resident_id"], Identifier=PATIENT["resident_id"],
                    Purpose="treatment")[0] == "access.denied"
    with hub.sessions() as session:
        denied = session.scalars(select(AuditEvent.code).where(AuditEvent.event_type == "record.access.deny",
                                                               AuditEvent.member == "HOSP01")).all()
    assert denied == ["access.denied"] * 4
