"""A revocation reaches every hub node (hub.pki_sync): the CRL one node's ``hie pki revoke`` wrote is
published in ``pki_crl``; another node, with its own copy of the PKI, takes it up when it is newer and
signed by its own CA. A row another CA signed is refused and not written; a lower number is ignored."""
from __future__ import annotations

import logging
import shutil
import time
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select

from certs import PkiPaths, TrustStore, load_certificate
from certs.crl import build_crl
from certs.keys import load_private_key
from certs.pki import refresh_crl, revoke_member
from hub.cli.main import main
from hub.pki_sync import CrlPoller, PublishedCrl, publish, take_up
from hub.settings import Settings, SettingsError
from hub.store.db import transaction
from tests.support.hubs import member_pki


@pytest.fixture(scope="module")
def shared_pki(tmp_path_factory):
    return member_pki(tmp_path_factory.mktemp("pki"), hub_name="测试平台", members=("CLINIC01",))


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory):
    return member_pki(tmp_path_factory.mktemp("other-pki"), hub_name="另一平台", members=())


@pytest.fixture
def nodes(shared_pki, tmp_path):
    """Two nodes' PKI directories: the same keys and CRL, as installed."""
    return [shutil.copytree(shared_pki, tmp_path / f"node{i}" / "pki") for i in range(2)]


@pytest.fixture
def sessions(migrated_sessions):
    return migrated_sessions


def _serial(pki, member="CLINIC01") -> int:
    return load_certificate(pki / "members" / member / "cert.pem").serial_number


def _crl_signed_by(pki, number: int) -> str:
    paths = PkiPaths.of(pki)
    crl = build_crl(ca_cert=load_certificate(paths.ca_cert), ca_key=load_private_key(paths.ca_key), entries=[],
                    now=datetime.now(timezone.utc).replace(microsecond=0), number=number)
    return crl.public_bytes(Encoding.PEM).decode("ascii")


def _insert(sessions, number: int, pem: str) -> None:
    with transaction(sessions) as session:
        session.add(PublishedCrl(crl_number=number, pem=pem, published_at=datetime.now(timezone.utc)))


def test_a_revocation_on_one_node_is_taken_up_by_the_other(nodes, sessions):
    node0, node1 = nodes
    trust1 = TrustStore(node1)
    revoke_member(node0, member="CLINIC01", reason="keyCompromise")
    assert _serial(node1) not in trust1.revocations()
    number = publish(sessions, node0)
    assert number == 2  # init wrote CRL 1
    assert publish(sessions, node0) is None  # nothing newer the second time
    assert take_up(sessions, node1) == 2
    assert PkiPaths.of(node1).crl.read_bytes() == PkiPaths.of(node0).crl.read_bytes()
    assert _serial(node1) in trust1.revocations()  # the TrustStore's reload applies it
    assert take_up(sessions, node1) is None  # already the newest


def test_a_row_another_ca_signed_is_refused_and_not_written(nodes, sessions, other_pki, caplog):
    node1 = nodes[1]
    before = PkiPaths.of(node1).crl.read_bytes()
    _insert(sessions, 50, _crl_signed_by(other_pki, 50))
    with caplog.at_level(logging.WARNING, logger="hub.pki_sync"):
        assert take_up(sessions, node1) is None
    assert PkiPaths.of(node1).crl.read_bytes() == before
    assert [r.getMessage() for r in caplog.records] == [
        "pki.crl.invalid: published CRL 50 refused: not signed by this node's CA"]


def test_a_row_whose_number_lies_is_refused(nodes, sessions):
    node1 = nodes[1]
    before = PkiPaths.of(node1).crl.read_bytes()
    _insert(sessions, 9, _crl_signed_by(node1, 3))  # a real CRL 3 filed as 9
    assert take_up(sessions, node1) is None
    assert PkiPaths.of(node1).crl.read_bytes() == before
    _insert(sessions, 10, "not a CRL")
    assert take_up(sessions, node1) is None
    assert PkiPaths.of(node1).crl.read_bytes() == before


def test_a_lower_or_equal_number_is_ignored(nodes, sessions):
    node0, node1 = nodes
    revoke_member(node1, member="CLINIC01")  # node1 at CRL 2, revoking
    refresh_crl(node1)  # CRL 3
    _insert(sessions, 2, _crl_signed_by(node0, 2))  # CRL 2 with nothing revoked
    assert take_up(sessions, node1) is None
    _insert(sessions, 3, _crl_signed_by(node0, 3))
    assert take_up(sessions, node1) is None
    assert _serial(node1) in TrustStore(node1).revocations()  # no rollback of the revocation
    assert publish(sessions, node1) is None  # 3 is there already
    refresh_crl(node1)
    assert publish(sessions, node1) == 4
    with sessions() as session:
        assert session.scalars(select(PublishedCrl.crl_number).order_by(PublishedCrl.crl_number)).all() == [2, 3, 4]


def test_hie_pki_revoke_publishes_to_the_hubs_database(nodes, sessions, db_url):
    node0, node1 = nodes
    result = CliRunner().invoke(main, ["pki", "revoke", "--dir", str(node0), "--member", "CLINIC01",
                                       "--database-url", db_url])
    assert result.exit_code == 0, result.output
    assert "published: CRL 2" in result.output
    result = CliRunner().invoke(main, ["pki", "crl", "--dir", str(node0), "--database-url", db_url])
    assert result.exit_code == 0, result.output
    assert "published: CRL 3" in result.output
    assert take_up(sessions, node1) == 3
    assert _serial(node1) in TrustStore(node1).revocations()


def test_a_crl_not_published_for_want_of_the_database_says_so_in_one_line(nodes):
    node0, _ = nodes
    result = CliRunner().invoke(main, ["pki", "crl", "--dir", str(node0), "--database-url",
                                       "postgresql+psycopg://nobody@127.0.0.1:1/hub"])
    assert result.exit_code == 1
    message = result.output.strip().splitlines()[-1]
    assert message.startswith("error: database.unavailable:") and "not published" in message
    assert "Traceback" not in result.output


def test_the_poller_takes_up_a_published_crl(nodes, sessions):
    node0, node1 = nodes
    poller = CrlPoller(sessions, node1, poll_s=0.05).start()
    try:
        revoke_member(node0, member="CLINIC01")
        publish(sessions, node0)
        deadline = time.monotonic() + 10
        while _serial(node1) not in TrustStore(node1).revocations():
            assert time.monotonic() < deadline, "node1 did not take up the published CRL"
            time.sleep(0.05)
    finally:
        poller.stop()


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_crl_poll_setting_must_be_positive(monkeypatch, tmp_path, value):
    monkeypatch.setenv("HIE_CRL_POLL_S", value)
    with pytest.raises(SettingsError, match="HIE_CRL_POLL_S"):
        Settings.load(tmp_path)
    monkeypatch.setenv("HIE_CRL_POLL_S", "2.5")
    assert Settings.load(tmp_path).crl_poll_s == 2.5
