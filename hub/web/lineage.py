"""``GET /api/lineage/{fact_key}``: a mart fact back to its OLTP row and the signed message.

The answer holds identifiers and digests only (see ``etl.lineage``). Who may ask: the institution
the fact belongs to (it sent the message), or a bureau (registry kind) whose region holds that
institution's district — the same organizations that see the fact in a dashboard
(``hub.web.scope``). An institution the registry does not place in a division is traced by
any bureau, as before.
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from protocol.errors import HubError

from ..registry.access import role_of
from ..registry.models import Institution, Region
from .deps import Member
from .errors import HubErrorRoute, error_response
from .scope import districts_under

router = APIRouter(prefix="/api/lineage", tags=["lineage"], route_class=HubErrorRoute)


def _bureau_over(session, member: str, owner: str) -> bool:
    """Whether ``member`` is a bureau whose region holds ``owner``'s district (or ``owner`` has none)."""
    if role_of(session, member) != "bureau":
        return False
    division = session.scalar(select(Institution.division_code).where(Institution.code == owner))
    if not division:
        return True
    governed = session.scalar(select(Institution.division_code).where(Institution.code == member))
    districts = districts_under(session, governed or "")
    parents = dict(session.execute(select(Region.code, Region.parent_code)).all())
    seen = set()
    while division and division not in seen:  # the division or an ancestor is one of the bureau's districts
        if division in districts:
            return True
        seen.add(division)
        division = parents.get(division)
    return False


def found_lineage(session, fact_key: str) -> tuple[dict, str]:
    """``etl.lineage`` of a fact that exists, and the institution it belongs to (for the caller's scope
    check); ``lineage.key.invalid`` / ``lineage.fact.not_found`` otherwise. The console asks here too."""
    from etl.errors import LineageError
    from etl.lineage import lineage

    try:
        answer = lineage(session, fact_key)
    except LineageError:
        raise HubError("lineage.key.invalid", "not <table>:<row id>") from None
    if not answer["found"]:
        raise HubError("lineage.fact.not_found", "no such OLTP row (retracted, or never loaded)")
    return answer, answer.get("institution") or answer["message"]["member"]


@router.get("/{fact_key}")
def fact_lineage(request: Request, member: Member, fact_key: str):
    try:
        with request.app.state.hub.sessions() as session:
            answer, owner = found_lineage(session, fact_key)
            if owner != member and not _bureau_over(session, member, owner):
                raise HubError("access.denied", "lineage of another institution's fact")
        return answer
    except HubError as exc:
        return error_response(exc)
