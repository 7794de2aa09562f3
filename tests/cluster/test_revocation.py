"""A revocation reaches every node (hub.pki_sync): ``hie pki revoke`` run on node 0's data directory
with the shared database is, within a bounded time, applied by node 1 too, whose own ``D/pki/crl.pem``
nobody copied by hand: a request signed with the revoked certificate is refused there with the gate's
code for a revoked certificate."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
from lxml import etree

from adapters.errors import HubFault
from protocol.ns import HIE, q
from tests.support.cluster import ROOT, HubCluster, haproxy_available
from tests.support.missing import missing

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.slow]

POLL_S = 1  # HIE_CRL_POLL_S of the nodes


@pytest.fixture(scope="module")
def nodes(pg_server, tier_pki, tmp_path_factory):
    """Two nodes behind HAProxy, no processors (the gate alone decides here), polling the CRL each second."""
    if not haproxy_available():
        missing("haproxy not found (install it with scripts/install-system-packages.sh)")
    cluster = HubCluster(pg_server, pki_dir=tier_pki, base_dir=tmp_path_factory.mktemp("revocation"), nodes=2,
                         processors=0, env={"HIE_CRL_POLL_S": str(POLL_S)})
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _fetch(member, url: str):
    content = etree.Element(q(HIE, "FetchReplies"), nsmap={"hie": HIE})
    etree.SubElement(content, q(HIE, "Max")).text = "1"
    return member.post(url, member.seal("FetchReplies", content))


def test_a_member_revoked_on_node_0_is_refused_by_node_1(nodes, tier_members):
    member = tier_members["CLINIC02"]
    _fetch(member, nodes.node_url(1))  # answered before the revocation
    revoke = subprocess.run(
        [sys.executable, "-m", "hub.cli.main", "pki", "revoke", "--dir", str(nodes.base_dir / "node0" / "pki"),
         "--member", member.code, "--reason", "keyCompromise", "--database-url", nodes.database_url],
        cwd=ROOT, env=nodes.env, capture_output=True, text=True, timeout=60)
    assert revoke.returncode == 0, revoke.stderr
    deadline = time.monotonic() + 10 * POLL_S + 10
    while True:
        try:
            _fetch(member, nodes.node_url(1))
        except HubFault as fault:
            assert fault.code == "security.certificate.revoked", fault
            break
        assert time.monotonic() < deadline, f"node 1 still accepts the revoked certificate:\n{nodes.logs()}"
        time.sleep(0.2)
    with pytest.raises(HubFault) as refused:  # and through the balancer, whichever node answers
        _fetch(member, nodes.balancer_url)
    assert refused.value.code == "security.certificate.revoked"
    _fetch(tier_members["CLINIC01"], nodes.node_url(1))  # the others are still answered
