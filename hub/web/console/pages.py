"""The console's shell: templates, the login and logout forms, the start page.

A new page is one router (its page and its ``/console/api/…`` endpoints) and one template that
extends ``base.html``; :data:`PAGES` lists the routers and :data:`NAVIGATION` the menu.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from protocol.errors import HubError
from protocol.timestamps import utcnow

from ... import audit
from ...store.db import transaction
from .auth import Viewer, csrf_ok, lang_of, read_form, remember_language, set_cookie, viewer_of
from .i18n import format_number, labels
from .sessions import COOKIE, LOGIN_CSRF_COOKIE, close_session, new_token, open_session
from .throttle import ThrottlePolicy, begin_attempt, standing, succeeded
from .users import Role, check_password, get_by_name, valid_username

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["number"] = lambda value, unit="", lang="zh": format_number(value, unit=unit, lang=lang)


@dataclass(frozen=True)
class NavItem:
    """A page of the menu: its id, URL, label key and the roles that may open it."""

    page: str
    url: str
    label: str
    roles: frozenset[Role] = frozenset(Role)


NAVIGATION = [NavItem("hospital", "/console/hospital", "nav.hospital")]
_ANALYSTS = frozenset({Role.ANALYST, Role.INSTITUTION_ADMIN})  # the public-health dashboards (dashboard.py)
NAVIGATION += [NavItem(page, f"/console/{page}", f"nav.{page}", _ANALYSTS)
               for page in ("diseases", "drugs", "referrals", "maternal")]
NAVIGATION.append(NavItem("pivot", "/console/pivot", "nav.pivot", frozenset({Role.ANALYST, Role.INSTITUTION_ADMIN})))
NAVIGATION.append(NavItem("monitor", "/console/monitor", "nav.monitor", frozenset({Role.OPERATOR, Role.INSTITUTION_ADMIN})))
NAVIGATION.append(NavItem("quality", "/console/quality", "nav.quality", frozenset(Role)))  # analysts, operators
NAVIGATION.append(NavItem("lineage", "/console/lineage", "nav.lineage"))
NAVIGATION.append(NavItem("alerts", "/console/alerts", "nav.alerts", frozenset(Role)))  # each within its scope
NAVIGATION.append(NavItem("referral_worklist", "/console/referrals/worklist", "nav.referral_worklist", frozenset(Role)))
NAVIGATION.append(NavItem("drug_trace", "/console/drugs/trace", "nav.drug_trace"))  # every role, each in its scope
NAVIGATION.append(NavItem("recalls", "/console/drugs/recalls", "nav.recalls"))  # operators start them
START = "/console/hospital"
# Scripts and styles from the hub only; the ECharts bundle sets element styles (style-src needs inline).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
}

router = APIRouter(prefix="/console", include_in_schema=False)


def render(request: Request, template: str, *, viewer: Viewer | None, status_code: int = 200,
           **context) -> HTMLResponse:
    """A page of the console: its template with the labels of the viewer's language and the menu."""
    lang = viewer.lang if viewer else lang_of(request)
    response = templates.TemplateResponse(request, template, {
        "t": labels(lang), "lang": lang, "viewer": viewer,
        "navigation": [item for item in NAVIGATION if viewer and viewer.user.role in item.roles], **context},
        status_code=status_code, headers=SECURITY_HEADERS)
    remember_language(response, request)
    return response


def to_login(request: Request) -> RedirectResponse:
    return RedirectResponse("/console/login?expired=1" if request.cookies.get(COOKIE) else "/console/login",
                            status_code=303, headers={"Cache-Control": "no-store"})


def allowed(viewer: Viewer, page: str) -> bool:
    """Whether ``viewer``'s role may open ``page`` (an id of :data:`NAVIGATION`)."""
    return any(item.page == page and viewer.user.role in item.roles for item in NAVIGATION)


def require(viewer: Viewer, *pages: str) -> None:
    """``access.denied`` unless ``viewer``'s role may open every one of ``pages`` (the JSON endpoints' check)."""
    if not all(allowed(viewer, page) for page in pages):
        raise HubError("access.denied", "the viewer's role may not open this page")


def page_viewer(request: Request, page: str) -> Viewer | Response:
    """The viewer of a page, or the answer instead of it: the login page, or 403 for another role."""
    viewer = viewer_of(request)
    if viewer is None:
        return to_login(request)
    if not allowed(viewer, page):
        return render(request, "refused.html", viewer=viewer, status_code=403, reason="role")
    return viewer


@router.get("/")
def start(request: Request) -> Response:
    return RedirectResponse(START if viewer_of(request) else "/console/login", status_code=303)


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return _login_form(request, error="login.expired" if request.query_params.get("expired") else None)


def _login_form(request: Request, *, error: str | None, status_code: int = 200) -> HTMLResponse:
    token = new_token()  # double-submit: the form and a cookie carry the same random token
    response = render(request, "login.html", viewer=None, error=error, csrf_token=token, status_code=status_code)
    set_cookie(response, request, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    """Sign in; every success and failure is audited (the user name when it exists, never the password).
    Throttled (``throttle.py``): refused while too many failures count against the name or the address.
    The database and the argon2 check (≈ 0.1-0.25 s of CPU) run in the thread pool, never on the event
    loop: an anonymous client's guesses must not stall every other request of the hub."""
    form = await read_form(request)
    if not csrf_ok(request, form, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _login_form(request, error="login.csrf", status_code=403)
    client = request.client.host if request.client else None
    policy, username = ThrottlePolicy.of(request.app.state.hub.settings), form.get("username", "")
    counted, now = await run_in_threadpool(_count_attempt, request, username=username, client=client, policy=policy)
    if counted.refused(policy):
        response = _login_form(request, error="login.throttled", status_code=429)
        response.headers["Retry-After"] = str(counted.retry_after_s(policy, now))
        return response
    await asyncio.sleep(counted.delay_s(policy))  # before the check, so a success waits as long as a failure
    token = await run_in_threadpool(_check_attempt, request, username=username, password=form.get("password", ""),
                                    client=client)
    if token is None:
        return _login_form(request, error="login.failed", status_code=401)
    response = RedirectResponse(START, status_code=303)
    set_cookie(response, request, COOKIE, token)  # a session cookie: the table holds the expiry
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


def _count_attempt(request: Request, *, username: str, client: str | None, policy: ThrottlePolicy):
    """The attempt's standing (and the time it was taken); counted as a failure until it succeeds, or
    audited as throttled when refused (the same answer whether the user exists or not)."""
    with transaction(request.app.state.hub.sessions) as session:
        now = utcnow()
        counted = standing(session, username=username, client_address=client or "", now=now, policy=policy)
        if counted.refused(policy):
            user = get_by_name(session, username=username) if valid_username(username) else None
            audit.record(session, "console.login.reject", code="console.login.throttled",
                         member=f"console:{user.username}" if user is not None else None, client_address=client)
        else:
            begin_attempt(session, username=username, client_address=client or "", now=now)
    return counted, now


def _check_attempt(request: Request, *, username: str, password: str, client: str | None) -> str | None:
    """The new session's cookie token when the password is right and the user enabled, else None; audited."""
    with transaction(request.app.state.hub.sessions) as session:
        user, refusal = check_password(session, username=username, password=password)
        who = f"console:{user.username}" if user is not None else None
        if refusal is not None:
            audit.record(session, "console.login.reject", code=f"console.login.{refusal}", member=who,
                         client_address=client)
            return None
        audit.record(session, "console.login", member=who, client_address=client)
        succeeded(session, username=username)
        return open_session(session, user=user, now=utcnow(),
                            minutes=request.app.state.hub.settings.console_session_minutes)


def _close(request: Request, viewer: Viewer) -> None:
    with transaction(request.app.state.hub.sessions) as session:
        close_session(session, token=request.cookies.get(COOKIE))
        audit.record(session, "console.logout", member=f"console:{viewer.user.username}",
                     client_address=request.client.host if request.client else None)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Sign out (CSRF checked): the session's row is deleted; the database is read in the thread pool."""
    viewer = await run_in_threadpool(viewer_of, request)
    if viewer is None:
        return to_login(request)
    form = await read_form(request)
    if not csrf_ok(request, form, viewer.csrf_token):
        return render(request, "refused.html", viewer=viewer, status_code=403, reason="csrf")
    await run_in_threadpool(_close, request, viewer)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


__all__ = ["router", "render", "to_login", "allowed", "require", "page_viewer", "templates", "NavItem", "NAVIGATION",
           "SECURITY_HEADERS", "START"]
