"""Fixtures for interoperability tests against an independent XML-security stack (xmlsec1).

The session PKI, the member credentials and the in-process hub are the exchange suite's own
fixtures, re-exported here by import. ``db_url`` is narrowed to SQLite: these tests are about the
cryptographic profile, and storage on both backends is covered by tests/exchange.

``xmlsec1`` resolves the Debian ``xmlsec1`` command-line tool. When it is missing the tests that
need it are skipped, except under CI=true, where they fail (CI installs it through
scripts/install-system-packages.sh, so a missing tool there is a broken setup, not a reason to
pass silently).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.exchange.conftest import foreign_pki, hub, hub_enc_cert, hub_paths, members, pki_dir, post  # noqa: F401

XMLSEC1_PATH = "/usr/bin/xmlsec1"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require_xmlsec1(path: str = XMLSEC1_PATH) -> str:
    """Return the xmlsec1 executable; skip when it is missing, or fail when CI=true."""
    found = path if os.access(path, os.X_OK) else shutil.which("xmlsec1")
    if found:
        return found
    reason = (f"xmlsec1 command-line tool not found at {path} or on PATH "
              "(Debian package xmlsec1; scripts/install-system-packages.sh installs it)")
    if in_ci():
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class Xmlsec1:
    """The xmlsec1 tool: where it is, its version and the transforms it knows."""

    path: str
    version: tuple[int, ...]
    transforms: frozenset[str]

    @classmethod
    def probe(cls, path: str) -> "Xmlsec1":
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=True)
        match = re.search(r"(\d+)\.(\d+)\.(\d+)", version.stdout)
        assert match, f"unexpected xmlsec1 --version output: {version.stdout!r}"
        listed = subprocess.run([path, "--list-transforms"], capture_output=True, text=True, timeout=30)
        names = frozenset(re.findall(r'"([^"]+)"', listed.stdout + listed.stderr))
        assert "rsa-oaep-mgf1p" in names and "aes256-gcm" in names, "xmlsec1 lacks the profile's algorithms"
        return cls(path=path, version=tuple(int(part) for part in match.groups()), transforms=names)

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    def key_search_args(self) -> list[str]:
        # xmlsec1 1.3 made key lookup strict by default; "--lax-key-search" restores the 1.2
        # behaviour (use the loaded key when KeyInfo names none it can resolve). Not needed and not
        # accepted by 1.2.x, the version Debian ships and these tests run against.
        return ["--lax-key-search"] if self.version >= (1, 3) else []

    def run(self, *args: str | Path) -> subprocess.CompletedProcess:
        return subprocess.run([self.path, *map(str, args)], capture_output=True, text=True, timeout=30)

    def run_documented(self, name: str, files: dict[str, Path]) -> subprocess.CompletedProcess:
        """Run the ``xmlsec1`` command docs/security-profile.md gives under ``<!-- xmlsec1-NAME -->``.

        ``files`` maps the file names the doc uses (``request.xml``, ``member-cert.pem``, ...) to
        this test's files; ``--lax-key-search`` goes after the first argument on xmlsec1 >= 1.3,
        as the doc says.
        """
        args = documented_command(name)
        assert args[0] == "xmlsec1", args
        args = [args[1], *self.key_search_args(), *args[2:]]
        named = [part for arg in args for part in arg.split(",")]
        assert all(placeholder in named for placeholder in files), (sorted(files), args)
        args = [",".join(str(files.get(part, part)) for part in arg.split(",")) for arg in args]
        return self.run(*args)


PROFILE = Path(__file__).resolve().parents[2] / "docs" / "security-profile.md"


def documented_command(name: str) -> list[str]:
    """The argument list of the ``sh`` block that follows ``<!-- xmlsec1-NAME -->`` in the profile."""
    match = re.search(rf"<!-- xmlsec1-{re.escape(name)} -->\n```sh\n(.*?)\n```", PROFILE.read_text("utf-8"), re.S)
    assert match, f"docs/security-profile.md has no xmlsec1-{name} command"
    return shlex.split(match.group(1).replace("\\\n", " "))


@pytest.fixture(scope="session")
def xmlsec1() -> Xmlsec1:
    return Xmlsec1.probe(require_xmlsec1())


@pytest.fixture
def db_url(tmp_path):
    """SQLite only (see the module docstring)."""
    return f"sqlite:///{tmp_path}/hub.db"
