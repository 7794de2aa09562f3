"""A PKI of the demo region's members with a second hospital (HOSP02, district 330105), for end-to-end
tests where a case moves between hospitals (a redirect). Import the fixtures into the test module: they
replace ``pki_dir``, ``members`` and ``hub_paths`` there (module-scoped, so no session cache holds the
one-hospital PKI of tests/workflows/conftest.py), and ``live_hub`` and ``client_for`` follow them."""
from __future__ import annotations

from pathlib import Path

import pytest

from certs import PkiPaths, init_pki, issue_member
from protocol.credentials import Credentials

SECOND_HOSPITAL = "HOSP02"  # seed_demo registers it: a hospital of district 330105
MEMBERS = ("CLINIC01", "HOSP01", SECOND_HOSPITAL, "CLINIC02", "BUREAU", "BUREAU05")


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("two-hospitals-pki")
    init_pki(root, hub_name="测试区域卫生信息平台")
    for member in MEMBERS:
        issue_member(root, member=member)
    return root


@pytest.fixture(scope="module")
def members(pki_dir) -> dict[str, Credentials]:
    return {member.name: Credentials.from_files(member / "cert.pem", member / "key.pem")
            for member in sorted((pki_dir / "members").iterdir())}


@pytest.fixture(scope="module")
def hub_paths(pki_dir) -> PkiPaths:
    return PkiPaths.of(pki_dir)


__all__ = ["SECOND_HOSPITAL", "MEMBERS", "pki_dir", "members", "hub_paths"]
