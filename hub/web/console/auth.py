"""Who is asking, for the console's pages and its JSON endpoints; the CSRF check; the cookies.

Pages send a visitor without a live session to the login page; JSON endpoints answer
``access.denied`` (403). Every state-changing request must carry the session's CSRF token
(form field ``csrf_token`` or header ``X-CSRF-Token``), the login form a double-submit token.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, Request
from fastapi.responses import Response

from protocol.errors import HubError
from protocol.timestamps import utcnow

from ..bodies import read_body

from .i18n import LANG_COOKIE, language
from .sessions import COOKIE, read_session, same_token
from .users import SignedIn

MAX_FORM_BYTES = 4096  # a login or logout form; anything larger is not ours
# what the console's data answers say to caches: the scope's numbers stay off the disk after sign-out
PRIVATE_DATA_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class Viewer:
    """A signed-in user on one request: who, the session's CSRF token, the page language."""

    user: SignedIn
    csrf_token: str
    lang: str


def lang_of(request: Request) -> str:
    return language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def viewer_of(request: Request) -> Viewer | None:
    """The request's signed-in user, or None (no cookie, unknown or expired session, user disabled)."""
    with request.app.state.hub.sessions() as session:
        found = read_session(session, token=request.cookies.get(COOKIE), now=utcnow())
    if found is None:
        return None
    user, csrf = found
    return Viewer(user, csrf, lang_of(request))


def api_viewer(request: Request, response: Response) -> Viewer:
    """Dependency of the console's JSON endpoints: the signed-in user, else ``access.denied``.
    Their answers are not kept by the browser's cache (``no-store``, as the pages)."""
    viewer = viewer_of(request)
    if viewer is None:
        raise HubError("access.denied", "no console session")
    response.headers.update(PRIVATE_DATA_HEADERS)
    return viewer


ApiViewer = Annotated[Viewer, Depends(api_viewer)]


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as {name: first value}; too large or another type: empty."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return {}
    body = await read_body(request, limit=MAX_FORM_BYTES)
    if body is None:
        return {}
    try:
        parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=8)
    except ValueError:  # more fields than any console form has
        return {}
    return {name: values[0] for name, values in parsed.items()}


def csrf_ok(request: Request, form: dict[str, str], expected: str | None) -> bool:
    """The request carries ``expected`` (the session's or the login cookie's token)."""
    return same_token(expected, form.get("csrf_token") or request.headers.get("x-csrf-token"))


def set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int | None = None,
               http_only: bool = True) -> None:
    """A console cookie: HttpOnly, SameSite=Strict, path /console, Secure when the request came over TLS."""
    response.set_cookie(name, value, max_age=max_age, path="/console", httponly=http_only, samesite="strict",
                        secure=request.url.scheme == "https")


def remember_language(response: Response, request: Request) -> None:
    """A ``?lang=`` choice is kept for the next pages."""
    requested = request.query_params.get("lang")
    if requested and requested == lang_of(request):
        set_cookie(response, request, LANG_COOKIE, requested, max_age=365 * 86400, http_only=False)


__all__ = ["Viewer", "ApiViewer", "viewer_of", "api_viewer", "lang_of", "read_form", "csrf_ok",
           "set_cookie", "remember_language", "MAX_FORM_BYTES", "PRIVATE_DATA_HEADERS"]
