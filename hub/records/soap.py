"""Resident registry and document service (SOAP, behind the security gate), after WS/T 790.

Answers holding personal data are sealed for the caller: encrypted for its certificate and
signed by the hub, like replies. Every read goes through ``access.read_personal`` (audited).
"""
from __future__ import annotations

import json
from datetime import date

from cryptography import x509
from lxml import etree
from spyne import AnyXml, Integer, ServiceBase, Unicode, rpc

from protocol.errors import HubError, RecordError
from protocol.ns import HIS, q
from protocol.sealed import seal_element
from protocol.timestamps import utcnow

from .. import audit, mpi
from ..exchange.gate import Service
from ..exchange.operation import operation_context, text_argument
from ..store.db import transaction
from . import access, query

NAMESPACE = "urn:hie:records:v1"
OPERATIONS = frozenset({"RegisterResident", "FindResidents", "MergeResidents", "UnmergeResidents",
                        "QueryDocuments", "RetrieveDocument", "GetLongitudinalRecord"})
SERVICE = Service(NAMESPACE, OPERATIONS)


_ctx = operation_context


def _arg(verified, name: str) -> str | None:
    return text_argument(verified, NAMESPACE, name)


def _int_arg(verified, name: str) -> int:
    value = _arg(verified, name)
    if value is None or not value.isdigit():
        raise RecordError("registry.invalid", "expected a number", field=f"/{verified.operation}/{name}")
    return int(value)


def _date_arg(verified, name: str) -> date | None:
    value = _arg(verified, name)
    try:
        return None if value is None else date.fromisoformat(value)
    except ValueError:
        raise RecordError("registry.invalid", "expected a date", field=f"/{verified.operation}/{name}") from None


def _sealed(hub, verified, kind: str, content: bytes) -> etree._Element:
    """``content`` encrypted for the caller and signed by the hub."""
    wrapper = etree.Element(q(HIS, "Result"), {"Id": f"result-{verified.request.message_id[-36:]}"},
                            nsmap={"his": HIS})
    etree.SubElement(wrapper, q(HIS, "Kind")).text = kind
    etree.SubElement(wrapper, q(HIS, "InReplyTo")).text = verified.request.message_id
    cert = x509.load_der_x509_certificate(verified.request.cert_der)
    return seal_element(wrapper, content, recipient=cert, signer=hub.signer)


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True).encode()


def _requester(hub, verified) -> access.Requester:
    with hub.sessions() as session:
        return access.requester_for(session, verified.member, now=utcnow())


def _patient_traits(verified) -> mpi.PatientTraits:
    from schemas.reader import Reader

    from .header import read_patient

    patient = verified.content.find(q(NAMESPACE, "Patient"))
    inner = None if patient is None else next((c for c in patient if isinstance(c.tag, str)), None)
    if inner is None or etree.QName(inner).localname != "patient":
        raise RecordError("registry.invalid", "Patient must hold one canonical patient element",
                          field="/RegisterResident/Patient")
    return read_patient(Reader(etree.QName(inner).namespace), inner)


class RecordService(ServiceBase):
    """居民注册与健康档案调阅 (resident registry, document query / retrieve, longitudinal record)."""

    @rpc(AnyXml(min_occurs=1), _returns=AnyXml, _out_variable_name="Result")
    def RegisterResident(ctx, Patient):
        hub, verified, client = _ctx(ctx)
        traits = _patient_traits(verified)
        with transaction(hub.sessions) as session:
            resolution = mpi.resolve(session, institution=verified.member, traits=traits, now=utcnow())
            audit.record(session, "resident.register", verified=verified, person_id=resolution.person_id,
                         client_address=client)
        return _sealed(hub, verified, "resident", _json({"person_id": resolution.person_id,
                                                         "decision": resolution.decision}))

    @rpc(Unicode, Unicode, Unicode, Unicode, Unicode, Unicode, _returns=AnyXml, _out_variable_name="Result")
    def FindResidents(ctx, IdentifierRoot, Identifier, Name, BirthDate, Sex, Purpose):
        hub, verified, client = _ctx(ctx)
        requester = _requester(hub, verified)
        purpose = _arg(verified, "Purpose")
        try:
            access.may_search(requester, purpose)
        except HubError as exc:
            access.refused(hub.sessions, requester=requester, error=exc, purpose=purpose, client_address=client)
            raise
        identifier = (_arg(verified, "IdentifierRoot"), _arg(verified, "Identifier"))
        with transaction(hub.sessions) as session:
            found = mpi.find_persons(session, identifier=identifier if all(identifier) else None,
                                     name=_arg(verified, "Name"), birth_date=_date_arg(verified, "BirthDate"),
                                     sex=_arg(verified, "Sex"))
            result = [query.resident_summary(p) for p in found]
            for person in result:
                audit.record(session, "resident.query", verified=verified, person_id=person["person_id"],
                             purpose=purpose, client_address=client)
        return _sealed(hub, verified, "residents", _json(result))

    @rpc(Integer(min_occurs=1), Integer(min_occurs=1), Unicode(min_occurs=1), _returns=Integer,
         _out_variable_name="MergeId")
    def MergeResidents(ctx, SurvivorId, RetiredId, Reason):
        hub, verified, client = _ctx(ctx)
        if _requester(hub, verified).role != "bureau":
            raise HubError("access.denied", "only the bureau merges persons")
        with transaction(hub.sessions) as session:
            record = mpi.merge(session, survivor_id=_int_arg(verified, "SurvivorId"),
                               retired_id=_int_arg(verified, "RetiredId"), actor=verified.member,
                               reason=_arg(verified, "Reason") or "", now=utcnow())
        return record.id

    @rpc(Integer(min_occurs=1), Unicode(min_occurs=1), _returns=Integer, _out_variable_name="MergeId")
    def UnmergeResidents(ctx, MergeId, Reason):
        hub, verified, client = _ctx(ctx)
        if _requester(hub, verified).role != "bureau":
            raise HubError("access.denied", "only the bureau unmerges persons")
        with transaction(hub.sessions) as session:
            record = mpi.unmerge(session, merge_id=_int_arg(verified, "MergeId"), actor=verified.member,
                                 reason=_arg(verified, "Reason") or "", now=utcnow())
        return record.id

    @rpc(Integer(min_occurs=1), Unicode, Unicode, Unicode, Unicode, Unicode, _returns=AnyXml,
         _out_variable_name="Result")
    def QueryDocuments(ctx, PersonId, DocumentType, Institution, From, To, Purpose):
        hub, verified, client = _ctx(ctx)
        person_id = _int_arg(verified, "PersonId")
        kwargs = {"document_type": _arg(verified, "DocumentType"), "institution": _arg(verified, "Institution"),
                  "date_from": _date_arg(verified, "From"), "date_to": _date_arg(verified, "To")}
        found = access.read_personal(hub.sessions, requester=_requester(hub, verified), person_id=person_id,
                                     purpose=_arg(verified, "Purpose"), what="documents", client_address=client,
                                     reader=lambda session, pid: query.documents_of(session, pid, **kwargs))
        return _sealed(hub, verified, "documents", _json(found))

    @rpc(Unicode(min_occurs=1), Unicode(min_occurs=1), Unicode(min_occurs=1), Unicode, _returns=AnyXml,
         _out_variable_name="Result")
    def RetrieveDocument(ctx, Institution, Root, DocumentId, Purpose):
        hub, verified, client = _ctx(ctx)
        with hub.sessions() as session:
            doc = query.find_document(session, institution=_arg(verified, "Institution") or "",
                                      id_root=_arg(verified, "Root") or "", document_id=_arg(verified, "DocumentId") or "")
        if doc.person_id is None:  # institution-level documents (statistics, drug movements)
            if verified.member != doc.institution and _requester(hub, verified).role != "bureau":
                raise HubError("access.denied", "another institution's document")
            with hub.sessions() as session:
                content = query.document_bytes(session, doc)
        else:
            content = access.read_personal(hub.sessions, requester=_requester(hub, verified), person_id=doc.person_id,
                                           purpose=_arg(verified, "Purpose"), what="document", client_address=client,
                                           reader=lambda session, pid: query.document_bytes(session, doc))
        return _sealed(hub, verified, "document", content)

    @rpc(Integer(min_occurs=1), Unicode, _returns=AnyXml, _out_variable_name="Result")
    def GetLongitudinalRecord(ctx, PersonId, Purpose):
        hub, verified, client = _ctx(ctx)
        record = access.read_personal(hub.sessions, requester=_requester(hub, verified),
                                      person_id=_int_arg(verified, "PersonId"), purpose=_arg(verified, "Purpose"),
                                      what="longitudinal", client_address=client, reader=query.longitudinal_record)
        return _sealed(hub, verified, "longitudinal-record", _json(record))


__all__ = ["RecordService", "NAMESPACE", "OPERATIONS", "SERVICE"]
