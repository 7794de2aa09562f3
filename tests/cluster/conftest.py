"""The multi-node tier (marker ``cluster``): HAProxy in front of two hub nodes and two processors on the
suite's PostgreSQL (tests/support/cluster.py), started once per module."""
from __future__ import annotations

import pytest

from certs import PkiPaths
from protocol.credentials import load_certificate
from tests.support.cluster import HubCluster, haproxy_available
from tests.support.hubs import member_credentials, member_pki
from tests.support.missing import missing
from tests.support.servers import running

from .members import Member

MEMBERS = ("CLINIC01", "CLINIC02", "HOSP01", "CLINIC03")


@pytest.fixture(scope="module")
def tier_pki(tmp_path_factory):
    return member_pki(tmp_path_factory.mktemp("tier-pki"), hub_name="测试区域卫生信息平台", members=MEMBERS)


@pytest.fixture(scope="module")
def cluster(pg_server, tier_pki, tmp_path_factory):
    """Two nodes and two processors behind HAProxy on a fresh database (processors take 8 messages a chunk,
    so that both work on a stream at the same moment)."""
    if not haproxy_available():
        missing("haproxy not found (install it with scripts/install-system-packages.sh)")
    yield from running(HubCluster(pg_server, pki_dir=tier_pki, base_dir=tmp_path_factory.mktemp("tier"), nodes=2,
                                  processors=2, processing_batch=8))


@pytest.fixture(scope="module")
def tier_members(tier_pki) -> dict[str, Member]:
    paths = PkiPaths.of(tier_pki)
    hub_cert, ca_cert = load_certificate(paths.hub_enc_cert), load_certificate(paths.ca_cert)
    return {code: Member(credentials, hub_cert, ca_cert) for code, credentials in member_credentials(tier_pki).items()}
