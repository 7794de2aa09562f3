"""The API's reference pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served by the hub itself.

FastAPI's defaults load both from a CDN (jsdelivr, Google Fonts, fastapi.tiangolo.com): a hub in a
health network must not make its operators' browsers fetch code from the internet. The pages here
load pinned copies from ``static/vendor/`` (npm ``swagger-ui-dist`` and ``redoc``, with their
licences: ``static/vendor/README.md``), and a Content-Security-Policy keeps the browser on the hub
(it also stops ReDoc's sidebar logo, which would come from cdn.redoc.ly).
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

VENDOR_DIR = Path(__file__).parent / "static" / "vendor"
VENDOR_URL = "/static/vendor"
SWAGGER = "swagger-ui-dist-5.35.0"
REDOC = "redoc-2.5.4"
# Inline styles and the pages' own inline start-up script are FastAPI's; ReDoc runs its search in a blob: worker.
POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
          "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def _contained(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = POLICY
    page.headers["X-Content-Type-Options"] = "nosniff"
    return page


def install_api_docs(app: FastAPI) -> None:
    """Serve ``/docs``, ``/redoc`` and their assets from the hub (build the app with docs_url=redoc_url=None)."""
    app.mount(VENDOR_URL, StaticFiles(directory=VENDOR_DIR), name="vendor")
    favicon = f"{VENDOR_URL}/{SWAGGER}/favicon-32x32.png"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _contained(get_swagger_ui_html(
            openapi_url=app.openapi_url, title=f"{app.title} · API",
            swagger_js_url=f"{VENDOR_URL}/{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR_URL}/{SWAGGER}/swagger-ui.css", swagger_favicon_url=favicon,
            swagger_ui_parameters={"validatorUrl": None}))  # no badge fetched from validator.swagger.io

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _contained(get_redoc_html(
            openapi_url=app.openapi_url, title=f"{app.title} · API",
            redoc_js_url=f"{VENDOR_URL}/{REDOC}/redoc.standalone.js", redoc_favicon_url=favicon,
            with_google_fonts=False))


__all__ = ["install_api_docs", "VENDOR_DIR", "VENDOR_URL", "SWAGGER", "REDOC", "POLICY"]
