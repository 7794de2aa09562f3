"""``/docs`` and ``/redoc`` come from the hub itself: the pages name no address outside the hub, their
scripts and styles answer 200 from the vendored copies, a Content-Security-Policy keeps the browser on
the hub, and the copies are part of the package (setup.cfg package_data)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from certs import init_pki
from hub.runtime import Hub
from hub.settings import Settings
from hub.web.apidocs import VENDOR_DIR
from hub.web.app import create_app
from tests.support.migrated import copy_migrated

ROOT = Path(__file__).resolve().parents[2]
_REFERENCE = re.compile(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""")


@pytest.fixture(scope="module")
def client(request, tmp_path_factory):
    data = tmp_path_factory.mktemp("hub")
    init_pki(data / "pki")
    settings = Settings(data_dir=data, pki_dir=data / "pki", start_processor=False, etl_interval_s=0)
    copy_migrated(request, settings.db_url)  # a copy of the session's migrated database
    hub = Hub.open(settings, run_migrations=False)
    with TestClient(create_app(settings, hub=hub)) as client:
        yield client
    hub.sessions.kw["bind"].dispose()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_page_loads_everything_from_the_hub(client, page):
    answer = client.get(page)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    html = answer.text
    assert not re.search(r"https?://", html), "the page names an address outside the hub"
    references = _REFERENCE.findall(html)
    assert any(r.endswith(".js") for r in references)
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), reference
        asset = client.get(reference)
        assert asset.status_code == 200 and len(asset.content) > 0, reference
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy and "connect-src 'self'" in policy


def test_assets_are_the_vendored_files_with_their_licences(client):
    served = client.get("/static/vendor/swagger-ui-dist-5.35.0/swagger-ui-bundle.js")
    assert served.content == (VENDOR_DIR / "swagger-ui-dist-5.35.0" / "swagger-ui-bundle.js").read_bytes()
    assert "javascript" in served.headers["content-type"]
    css = client.get("/static/vendor/swagger-ui-dist-5.35.0/swagger-ui.css")
    assert css.headers["content-type"].startswith("text/css")
    for folder in ("swagger-ui-dist-5.35.0", "redoc-2.5.4"):
        assert (VENDOR_DIR / folder / "LICENSE").is_file()
    assert client.get("/static/vendor/../app.py").status_code == 404
    assert "/docs" not in client.get("/openapi.json").json()["paths"]


def test_the_vendored_files_are_package_data():
    from setuptools.dist import Distribution

    distribution = Distribution()
    distribution.parse_config_files([str(ROOT / "setup.cfg")])  # as setuptools reads it (lines, or commas)
    hub_dir = ROOT / "hub"
    packaged = {path for pattern in distribution.package_data["hub"] for path in hub_dir.glob(pattern)
                if path.is_file()}
    vendored = {path for path in VENDOR_DIR.rglob("*") if path.is_file()}
    assert vendored and vendored <= packaged, sorted(str(p) for p in vendored - packaged)
    assert any(path.parent.name == "versions" for path in packaged)  # the migrations stay packaged
