"""The WSDL each service serves, made to say what the gate checks (W3C WS-Addressing 1.0 Metadata).

spyne writes ``soapAction="<operation>"`` and declares the 2003/03 member-submission addressing
namespace. The gate routes on the signed ``wsa:Action`` (``Service.action_for``: the service
namespace, a colon, the operation), so the served WSDL carries exactly that URI twice per
operation: as the binding's ``soapAction`` and as ``wsam:Action`` on the portType's input. A
WSDL-driven stack then sends matching values. Responses carry no WS-Addressing headers (the
signed receipt is in the Body), so outputs name no action. The 2003/03 namespace is dropped.
"""
from __future__ import annotations

from lxml import etree

from ..exchange.gate import Service

WSDL11 = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
WSAM = "http://www.w3.org/2007/05/addressing/metadata"
WSA_2003 = "http://schemas.xmlsoap.org/ws/2003/03/addressing"


def _q(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


def actions_in(wsdl: etree._Element) -> dict[str, tuple[str | None, str | None]]:
    """``{operation: (soapAction, wsam:Action of its input)}`` as a WSDL document states them."""
    found: dict[str, list] = {}
    for operation in wsdl.iterfind(f"{_q(WSDL11, 'binding')}/{_q(WSDL11, 'operation')}"):
        soap = operation.find(_q(WSDL_SOAP11, "operation"))
        found.setdefault(operation.get("name"), [None, None])[0] = soap.get("soapAction") if soap is not None else None
    for operation in wsdl.iterfind(f"{_q(WSDL11, 'portType')}/{_q(WSDL11, 'operation')}"):
        message = operation.find(_q(WSDL11, "input"))
        value = message.get(_q(WSAM, "Action")) if message is not None else None
        found.setdefault(operation.get("name"), [None, None])[1] = value
    return {name: (soap, wsam) for name, (soap, wsam) in found.items()}


def _state_actions(document, service: Service) -> None:
    """spyne's ``wsdl_document_built`` event: rewrite the tree before spyne serializes it."""
    old = document.root_elt
    nsmap = {prefix: ns for prefix, ns in old.nsmap.items() if ns != WSA_2003}
    nsmap["wsam"] = WSAM
    root = etree.Element(old.tag, dict(old.attrib), nsmap=nsmap)  # an nsmap cannot be edited in place
    root.extend(list(old))
    for operation in root.iterfind(f"{_q(WSDL11, 'binding')}/{_q(WSDL11, 'operation')}"):
        name = operation.get("name")
        if name not in service.operations:
            raise ValueError(f"WSDL operation {name!r} is not an operation of {service.namespace}")
        for soap in operation.iterfind(_q(WSDL_SOAP11, "operation")):
            soap.set("soapAction", service.action_for(name))
    for operation in root.iterfind(f"{_q(WSDL11, 'portType')}/{_q(WSDL11, 'operation')}"):
        for message in operation.iterfind(_q(WSDL11, "input")):
            message.set(_q(WSAM, "Action"), service.action_for(operation.get("name")))
    document.root_elt, document.root_tree = root, root.getroottree()


def advertise_actions(wsgi_app, service: Service) -> None:
    """Make ``wsgi_app`` (a spyne ``WsgiApplication``) serve a WSDL whose actions are ``service``'s."""
    wsgi_app.doc.wsdl11.event_manager.add_listener(
        "wsdl_document_built", lambda document: _state_actions(document, service))
    # spyne's own SOAP answers declare the interface's namespaces too.
    interface = wsgi_app.app.interface
    interface.nsmap.pop("wsa", None)
    interface.prefmap.pop(WSA_2003, None)


__all__ = ["WSAM", "actions_in", "advertise_actions"]
