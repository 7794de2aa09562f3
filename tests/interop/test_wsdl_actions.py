"""The served WSDLs state the actions the gate routes on, and the profile's action table agrees.

One source of truth: each service's ``Service.action_for`` (``hub.exchange.gate``). The WSDL of
every service the hub serves (``hub.web.app.soap_services``) carries that URI as ``soapAction``
and as the input's ``wsam:Action`` (W3C WS-Addressing 1.0 Metadata), declares no 2003/03
addressing namespace, and zeep still builds its operations from it; docs/security-profile.md
lists the same table. SOAPAction and Content-Type are handled as the profile says.
"""
from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from lxml import etree

from hub.soap.wsdl import WSAM, actions_in
from hub.web.app import soap_services
from protocol.ns import HIS, q
from tests.exchange.builders import fault_code, sealed

PROFILE = Path(__file__).resolve().parents[2] / "docs" / "security-profile.md"
ACTION_ROW = re.compile(r"^\| (\w+) \| `/soap/\w+\?wsdl` \| (\w+) \| `(urn:[^`]+)` \|$", re.M)


def _get_wsdl(app, name: str) -> bytes:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": f"/{name}", "SCRIPT_NAME": "/soap", "QUERY_STRING": "wsdl",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO()}
    status = []
    body = b"".join(app(environ, lambda s, h, exc=None: status.append(s)))
    assert status[0].startswith("200"), body[:200]
    return body


@pytest.fixture
def served(hub) -> dict[str, tuple[object, bytes]]:
    """``{service name: (its Service spec, the WSDL bytes it serves)}`` for every SOAP service."""
    return {name: (app.service, _get_wsdl(app, name)) for name, app in soap_services(hub).items()}


def test_every_operation_advertises_its_wsa_action(served):
    assert set(served) == {"exchange", "records", "registry", "workflow"}
    for name, (service, wsdl) in served.items():
        expected = {op: (service.action_for(op), service.action_for(op)) for op in service.operations}
        assert actions_in(etree.fromstring(wsdl)) == expected, name
        assert b"schemas.xmlsoap.org/ws/2003/03/addressing" not in wsdl, name
        assert etree.fromstring(wsdl).nsmap.get("wsam") == WSAM


def test_profile_action_table_is_the_code(served):
    documented = {(service, op): action for service, op, action in ACTION_ROW.findall(PROFILE.read_text("utf-8"))}
    assert documented == {(name, op): spec.action_for(op)
                          for name, (spec, _) in served.items() for op in spec.operations}


def test_zeep_reads_the_actions(served, tmp_path):
    from zeep import Client
    from zeep.settings import Settings

    for name, (service, wsdl) in served.items():
        path = tmp_path / f"{name}.wsdl"
        path.write_bytes(wsdl)
        client = Client(str(path), settings=Settings(strict=True, xml_huge_tree=False))
        [binding] = client.wsdl.bindings.values()
        assert {op: operation.soapaction for op, operation in binding._operations.items()} == {
            op: service.action_for(op) for op in service.operations}, name


def _accepted(response) -> bool:
    if response.status != 200 or fault_code(response.body) is not None:
        return False
    receipt = next(etree.fromstring(response.body).iter(q(HIS, "Receipt")))
    return receipt.findtext(q(HIS, "Status")) == "accepted"


@pytest.mark.parametrize("headers", [
    {"HTTP_SOAPACTION": '"urn:hie:exchange:v1:GetStatus"'},  # another operation's action
    {"HTTP_SOAPACTION": '"SubmitDocument"'},  # what the WSDL used to advertise
    {"HTTP_SOAPACTION": ""},
    {"CONTENT_TYPE": 'application/soap+xml; charset=utf-8; action="urn:hie:exchange:v1:AckReplies"'},
    {"CONTENT_TYPE": "text/xml"},
], ids=["soapaction-other-operation", "soapaction-operation-name", "soapaction-empty", "soap12-media-type",
        "no-charset"])
def test_soapaction_and_media_type_do_not_route(hub, post, members, hub_enc_cert, headers):
    """The profile: the signed wsa:Action alone decides the operation; SOAPAction and the media type are not read."""
    text = PROFILE.read_text("utf-8")
    assert "ignores the `SOAPAction` header" in text and "`action` parameter" in text
    response = post(sealed(members["CLINIC01"], hub_enc_cert, message_id=f"urn:uuid:{uuid.uuid4()}"), headers=headers)
    assert _accepted(response), response.body[:300]


def test_charset_other_than_utf8_is_refused(hub, post, members, hub_enc_cert):
    text = PROFILE.read_text("utf-8")
    assert re.search(r"charset other than UTF-8[^\n]*`transport\.encoding`", text)
    response = post(sealed(members["CLINIC01"], hub_enc_cert), headers={"CONTENT_TYPE": "text/xml; charset=iso-8859-1"})
    assert fault_code(response.body) == "transport.encoding"


def test_soap12_envelope_is_refused(hub, post):
    assert "A SOAP 1.2 envelope\n  (`http://www.w3.org/2003/05/soap-envelope`) is refused [`soap.invalid`]" in (
        PROFILE.read_text("utf-8"))
    envelope = (b'<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">'
                b"<env:Header/><env:Body/></env:Envelope>")
    response = post(envelope, headers={"CONTENT_TYPE": "application/soap+xml; charset=utf-8"})
    assert fault_code(response.body) == "soap.invalid"
