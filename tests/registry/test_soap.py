"""RegistryService operations as the gate middleware hands them over (hie.hub / hie.verified in the
environment): through spyne's NullServer, and once through the WSGI application for the wire format."""
from __future__ import annotations

import io
import itertools
from types import SimpleNamespace

import pytest
from lxml import etree
from spyne.model.fault import Fault
from spyne.protocol.soap import Soap11
from spyne.server.null import NullServer
from spyne.server.wsgi import WsgiApplication

from hub import registry
from hub.registry.soap import NAMESPACE, OPERATIONS, RegistryService
from hub.soap.application import HubApplication
from protocol.ns import HIE, SOAP11, q

from .conftest import audit_rows

_ids = itertools.count(1)


def _content(operation: str, fields: dict) -> etree._Element:
    def fill(parent, values):
        for name, value in values.items():
            child = etree.SubElement(parent, q(NAMESPACE, name))
            if isinstance(value, dict):
                fill(child, value)
            else:
                child.text = value
    root = etree.Element(q(NAMESPACE, operation), nsmap={"reg": NAMESPACE})
    fill(root, fields)
    return root


def verified(member: str, operation: str, **fields):
    """What the security gate returns (only the parts the registry service and the audit read)."""
    request = SimpleNamespace(identity=SimpleNamespace(member=member, serial_hex="0a"),
                              message_id=f"urn:uuid:test-{next(_ids)}")
    return SimpleNamespace(member=member, operation=operation, content=_content(operation, fields), request=request,
                           envelope_sha256="ab" * 32)


def _application():
    return HubApplication([RegistryService], tns=NAMESPACE, name="Registry", in_protocol=Soap11(validator=None),
                          out_protocol=Soap11())


@pytest.fixture
def call(hub):
    app = _application()
    environ = {}
    app.event_manager.add_listener("method_call", lambda ctx: setattr(ctx.transport, "req_env", environ))
    server = NullServer(app)

    def call(member: str, operation: str, **fields):
        environ.update({"hie.hub": hub, "hie.verified": verified(member, operation, **fields),
                        "REMOTE_ADDR": "127.0.0.1"})
        return getattr(server.service, operation)()
    return call


def _fault_code(caught) -> str:
    return caught.value.detail.findtext(q(HIE, "Code"))


def test_operations_are_those_of_the_gate_service():
    assert set(RegistryService.public_methods) == OPERATIONS


def test_bureau_registers_institutions(call, hub):
    entry = {"Code": "HOSP03", "Name": "测试医院", "Kind": "hospital", "Level": "2", "DivisionCode": "330108"}
    result = call("BUREAU", "RegisterInstitution", Institution=entry)
    assert (result.Code, result.Status, result.ParentCode) == ("HOSP03", "active", None)
    result = call("BUREAU", "RegisterInstitution", Institution={**entry, "Level": "3", "Status": "inactive"})
    assert (result.Level, result.Status) == ("3", "inactive")
    rows = [e for e in audit_rows(hub.sessions, "registry.institution") if e.member == "BUREAU"]
    assert [(e.event_type, e.cert_serial, e.client_address) for e in rows] == [
        ("registry.institution.create", "0a", "127.0.0.1"), ("registry.institution.update", "0a", "127.0.0.1")]
    assert all(e.message_id.startswith("urn:uuid:test-") for e in rows)


def test_only_the_bureau_registers_institutions(call):
    with pytest.raises(Fault) as caught:
        call("HOSP01", "RegisterInstitution", Institution={"Code": "HOSP01", "Name": "x", "Kind": "hospital",
                                                           "DivisionCode": "330102"})
    assert (_fault_code(caught), caught.value.faultcode) == ("access.denied", "Client")


def test_invalid_entry_is_a_client_fault(call):
    with pytest.raises(Fault) as caught:
        call("BUREAU", "RegisterInstitution", Institution={"Code": "HOSP03", "Name": "x", "Kind": "hospital",
                                                           "DivisionCode": "999999"})
    assert _fault_code(caught) == "registry.invalid"
    assert "999999" not in etree.tostring(caught.value.detail).decode() + caught.value.faultstring
    with pytest.raises(Fault) as caught:
        call("BUREAU", "RegisterInstitution")  # no Institution element at all
    assert _fault_code(caught) == "registry.invalid"


def test_institution_registers_its_own_staff(call, hub):
    department = {"InstitutionCode": "HOSP02", "Code": "EK", "Name": "儿科", "StandardCode": "07"}
    assert call("HOSP02", "RegisterDepartment", Department=department).Status == "active"
    practitioner = {"InstitutionCode": "HOSP02", "Code": "D0009", "Name": "测试医生辛", "TitleCode": "234",
                    "DepartmentCode": "EK"}
    assert call("HOSP02", "RegisterPractitioner", Practitioner=practitioner).DepartmentCode == "EK"
    found = call("CLINIC01", "QueryPractitioners", InstitutionCode="HOSP02", DepartmentCode="EK")
    assert [(p.Code, p.TitleCode) for p in found] == [("D0009", "234")]
    assert [d.Code for d in call("CLINIC01", "QueryDepartments", InstitutionCode="HOSP02")] == ["EK", "NK", "ZYK"]
    # another institution may not; the bureau may
    with pytest.raises(Fault) as caught:
        call("HOSP01", "RegisterPractitioner", Practitioner={**practitioner, "Name": "x"})
    assert _fault_code(caught) == "access.denied"
    call("BUREAU", "RegisterPractitioner", Practitioner={**practitioner, "Status": "inactive"})
    with hub.sessions() as session:
        row = registry.get_practitioner(session, institution_code="HOSP02", code="D0009")
        assert (row.status, row.synthetic) == ("inactive", False)


def test_query_institutions(call):
    assert [i.Code for i in call("HOSP01", "QueryInstitutions", Division="330105")] == ["CLINIC02", "HOSP02"]
    assert [i.Code for i in call("HOSP01", "QueryInstitutions", Kind="hospital", Name="中医")] == ["HOSP02"]
    assert [i.Code for i in call("HOSP01", "QueryInstitutions", Parent="CLINIC01")] == ["CLINIC03"]
    with pytest.raises(Fault) as caught:
        call("HOSP01", "QueryInstitutions", Kind="spa")
    assert _fault_code(caught) == "registry.invalid"


def test_terminology(call):
    concept = call("CLINIC01", "LookupCode", System="divisions", Code="330102")
    assert (concept.Display, concept.Parent) == ("上城区", "330100")
    assert "2" in {c.Code for c in call("CLINIC01", "ListValueSet", System="sex")}
    for operation, fields in (("LookupCode", {"System": "sex", "Code": "7"}),
                              ("ListValueSet", {"System": "no-such-system"})):
        with pytest.raises(Fault) as caught:
            call("CLINIC01", operation, **fields)
        assert _fault_code(caught) == "registry.not_found"


def _post(hub, member: str, operation: str, **fields) -> etree._Element:
    """POST the plain envelope the gate middleware builds from the verified content; the response."""
    message = verified(member, operation, **fields)
    envelope = etree.Element(q(SOAP11, "Envelope"), nsmap={"soap": SOAP11})
    etree.SubElement(envelope, q(SOAP11, "Body")).append(message.content)
    body = etree.tostring(envelope)
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "QUERY_STRING": "", "SERVER_NAME": "hub",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
               "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "text/xml; charset=utf-8",
               "hie.hub": hub, "hie.verified": message}
    chunks = WsgiApplication(_application())(environ, lambda status, headers: None)
    return etree.fromstring(b"".join(chunks))


def test_wire_format(hub):
    response = _post(hub, "HOSP01", "QueryInstitutions", Division="330105")
    assert [e.text for e in response.iter(q(NAMESPACE, "Code"))] == ["CLINIC02", "HOSP02"]
    fault = _post(hub, "HOSP01", "QueryInstitutions", Division="999999")
    assert fault.findtext(f".//{q(HIE, 'Code')}") == "registry.invalid"
    assert b"999999" not in etree.tostring(fault)
