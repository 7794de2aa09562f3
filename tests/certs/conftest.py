"""Shared PKI fixtures: one real PKI built per session and copied per test that changes it."""
from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from certs import init_pki, issue_member

# member codes in the base PKI, one per key type except the slow rsa-3072
RSA_MEMBER = "HOSP-001"
EC_MEMBER = "clinic.ec"


@pytest.fixture(scope="session")
def base_pki(tmp_path_factory):
    """A PKI with the hub certificates and two members (never modified by tests)."""
    directory = tmp_path_factory.mktemp("base") / "pki"
    init_pki(directory, hub_name="Test Regional Hub", hostnames=("hub.example.org",))
    issue_member(directory, member=RSA_MEMBER, member_name="First People's Hospital")
    issue_member(directory, member=EC_MEMBER, key_type="ec-p256")
    return directory


@pytest.fixture
def pki_dir(base_pki, tmp_path):
    """A private copy of the base PKI that a test may change (copy2 keeps the file modes)."""
    return shutil.copytree(base_pki, tmp_path / "pki")


@pytest.fixture(scope="session")
def foreign_pki(tmp_path_factory):
    """A second, unrelated PKI whose CA the hub must not trust."""
    directory = tmp_path_factory.mktemp("foreign") / "pki"
    # same hub name as the base PKI: only the CA signature can tell them apart
    init_pki(directory, hub_name="Test Regional Hub")
    issue_member(directory, member=RSA_MEMBER, key_type="ec-p256")
    return directory


@pytest.fixture
def rsa_member():
    return RSA_MEMBER


@pytest.fixture
def ec_member():
    return EC_MEMBER


@pytest.fixture
def now():
    return datetime.now(timezone.utc)
