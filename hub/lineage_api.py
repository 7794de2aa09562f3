"""``GET /api/lineage/{fact_key}``: a mart fact back to its OLTP row and the signed message.

The answer holds identifiers and digests only (see ``etl.lineage``). Who may ask: the institution
the fact belongs to (it sent the message), or a bureau (registry kind) — the same organizations
that see the fact in a dashboard.
"""
from __future__ import annotations

from fastapi import APIRouter, Request

from .errors import HubError
from .registry.access import role_of
from .webapi import HubErrorRoute, bearer_org, error_response

router = APIRouter(prefix="/api/lineage", tags=["lineage"], route_class=HubErrorRoute)


@router.get("/{fact_key}")
def fact_lineage(request: Request, fact_key: str):
    from etl.lineage import LineageError, lineage

    try:
        org = bearer_org(request)
        with request.app.state.hub.sessions() as session:
            try:
                answer = lineage(session, fact_key)
            except LineageError:
                raise HubError("lineage.key.invalid", "not <table>:<row id>") from None
            if not answer["found"]:
                raise HubError("lineage.fact.not_found", "no such OLTP row (retracted, or never loaded)")
            owner = answer.get("institution") or answer["message"]["sender"]
            if owner != org and role_of(session, org) != "bureau":
                raise HubError("access.denied", "lineage of another institution's fact")
        return answer
    except HubError as exc:
        return error_response(exc)
