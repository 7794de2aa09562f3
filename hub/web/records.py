"""JSON endpoints of record access (bearer token → organization; same rules and audit as SOAP)."""
from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from protocol.errors import HubError
from protocol.timestamps import utcnow

from .. import audit, mpi
from ..records import access, query
from ..store.db import transaction
from .deps import Member
from .errors import HubErrorRoute, RowId, error_response

router = APIRouter(prefix="/api/records", tags=["records"], route_class=HubErrorRoute)


def _requester(request: Request, member: str) -> access.Requester:
    with request.app.state.hub.sessions() as session:
        return access.requester_for(session, member, now=utcnow())


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/persons/{person_id}/record")
def longitudinal(request: Request, member: Member, person_id: RowId, purpose: str | None = None):
    """The person's longitudinal record (多档合一), newest first."""
    try:
        requester = _requester(request, member)
        return access.read_personal(request.app.state.hub.sessions, requester=requester, person_id=person_id,
                                    purpose=purpose, what="longitudinal", reader=query.longitudinal_record,
                                    client_address=_client(request))
    except HubError as exc:
        return error_response(exc)


@router.get("/persons/{person_id}/documents")
def documents(request: Request, member: Member, person_id: RowId, purpose: str | None = None, type: str | None = None,
              institution: str | None = None, date_from: date | None = Query(None, alias="from"),
              date_to: date | None = Query(None, alias="to")):
    """The person's documents (metadata), filtered by type, institution and date range."""
    try:
        requester = _requester(request, member)
        return access.read_personal(
            request.app.state.hub.sessions, requester=requester, person_id=person_id, purpose=purpose,
            what="documents", client_address=_client(request),
            reader=lambda session, pid: query.documents_of(session, pid, document_type=type, institution=institution,
                                                           date_from=date_from, date_to=date_to))
    except HubError as exc:
        return error_response(exc)


@router.get("/documents/{institution}/{root}/{document_id}")
def retrieve(request: Request, member: Member, institution: str, root: str, document_id: str,
             purpose: str | None = None):
    """One document as it was received (XML)."""
    try:
        requester = _requester(request, member)
        sessions = request.app.state.hub.sessions
        with sessions() as session:
            doc = query.find_document(session, institution=institution, id_root=root, document_id=document_id)
        if doc.person_id is None:
            if requester.member != doc.institution and requester.role != "bureau":
                raise HubError("access.denied", "another institution's document")
            with sessions() as session:
                content = query.document_bytes(session, doc)
        else:
            content = access.read_personal(sessions, requester=requester, person_id=doc.person_id, purpose=purpose,
                                           what="document", client_address=_client(request),
                                           reader=lambda session, pid: query.document_bytes(session, doc))
        return Response(content, media_type="application/xml")
    except HubError as exc:
        return error_response(exc)


@router.get("/residents")
def find_residents(request: Request, member: Member, identifier_root: str | None = None, identifier: str | None = None,
                   name: str | None = None, birth_date: date | None = None, sex: str | None = None,
                   purpose: str | None = None):
    """Resident query (PDQ): by identifier or demographics; every person returned is audited."""
    try:
        requester = _requester(request, member)
        try:
            access.may_search(requester, purpose)
        except HubError as exc:
            access.refused(request.app.state.hub.sessions, requester=requester, error=exc, purpose=purpose,
                           client_address=_client(request))
            raise
        if not (identifier and identifier_root) and not (name and birth_date):
            raise HubError("registry.invalid", "give an identifier, or a name and a birth date", field="query")
        with transaction(request.app.state.hub.sessions) as session:
            found = mpi.find_persons(session, identifier=(identifier_root, identifier) if identifier else None,
                                     name=name, birth_date=birth_date, sex=sex)
            result = [query.resident_summary(p) for p in found]
            for person in result:
                audit.record(session, "resident.query", member=requester.member, person_id=person["person_id"],
                             purpose=purpose, client_address=_client(request))
        return result
    except HubError as exc:
        return error_response(exc)


__all__ = ["router"]
