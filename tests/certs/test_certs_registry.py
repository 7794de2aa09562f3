"""list_certificates statuses and expiry warnings over a real registry."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from certs import CertsError, PkiPaths, expiry_warnings, issue_member, list_certificates, revoke_member


@pytest.fixture
def mixed_pki(pki_dir, now):
    """Members in every status: valid, expiring, expired, revoked."""
    issue_member(pki_dir, member="SOON", not_after=now + timedelta(days=10))
    issue_member(pki_dir, member="EDGE", not_after=now + timedelta(days=30, hours=1))
    issue_member(pki_dir, member="PAST", not_before=now - timedelta(days=40),
                 not_after=now - timedelta(days=2))
    issue_member(pki_dir, member="GONE", not_after=now + timedelta(days=5))
    revoke_member(pki_dir, member="GONE", reason="cessationOfOperation")
    return pki_dir


def test_list_statuses(mixed_pki, rsa_member, now):
    by_org = {(r.role, r.member): r for r in list_certificates(mixed_pki, now=now)}
    assert by_org[("member", rsa_member)].status == "valid"
    assert by_org[("member", rsa_member)].expires_in_days == 364
    assert by_org[("member", "SOON")].status == "expiring"
    assert by_org[("member", "SOON")].expires_in_days == 9  # toward zero: just under 10 days left
    assert by_org[("member", "EDGE")].status == "expiring"  # 30 days left counts as expiring
    assert by_org[("member", "PAST")].status == "expired"
    assert by_org[("member", "PAST")].expires_in_days == -2
    gone = by_org[("member", "GONE")]
    assert (gone.status, gone.revocation_reason) == ("revoked", "cessationOfOperation")
    assert gone.revoked_at is not None and gone.revoked_at.utcoffset() == timedelta(0)
    assert {r.status for r in list_certificates(mixed_pki, now=now) if r.member == "HUB"} == {"valid"}


def test_list_status_moves_with_now(base_pki, rsa_member, now):
    record = next(r for r in list_certificates(base_pki, now=now) if r.member == rsa_member)
    later = next(r for r in list_certificates(base_pki, now=record.not_after + timedelta(seconds=1))
                 if r.member == rsa_member)
    assert (record.status, later.status) == ("valid", "expired")
    assert record.cert_path.is_file()


def test_expiry_warnings_name_only_certificates_in_use(mixed_pki, now):
    issue_member(mixed_pki, member="SOON", renew=True)  # renewed: no longer worth a warning
    issue_member(mixed_pki, member="LATE", not_after=now + timedelta(days=20))
    lines = expiry_warnings(mixed_pki, now=now)
    text = "\n".join(lines)
    assert "member LATE certificate" in text and "expires in 19 days" in text
    assert "member PAST certificate" in text and "expired on" in text
    assert "member EDGE" in text
    assert "SOON" not in text and "GONE" not in text and "HOSP-001" not in text
    assert not any("hub" in line for line in lines)
    assert len(expiry_warnings(mixed_pki, now=now, within_days=5)) == 1  # only PAST


def test_expiry_warnings_cover_hub_ca_and_crl(base_pki, now):
    two_years = now + timedelta(days=729)
    text = "\n".join(expiry_warnings(base_pki, now=two_years))
    assert "hub hub-sign certificate" in text and "hub tls certificate" in text
    assert "CRL nextUpdate is past" in text
    assert "CA certificate" not in text
    assert "CA certificate expires" in "\n".join(expiry_warnings(base_pki, now=now + timedelta(days=3640)))


def test_registry_is_json_list_with_relative_paths(base_pki):
    entries = json.loads(PkiPaths.of(base_pki).registry.read_text(encoding="utf-8"))
    assert [e["role"] for e in entries] == ["hub-sign", "hub-enc", "tls", "member", "member"]
    assert all(not e["cert"].startswith("/") for e in entries)
    assert all(e["not_after"].endswith("Z") for e in entries)


def test_corrupt_registry_is_reported(pki_dir):
    PkiPaths.of(pki_dir).registry.write_text('[{"serial": 1}]')
    with pytest.raises(CertsError) as caught:
        list_certificates(pki_dir)
    assert caught.value.code == "pki.registry.invalid"


def test_a_registry_written_before_the_member_rename_is_read_and_rewritten(pki_dir, rsa_member):
    path = PkiPaths.of(pki_dir).registry
    entries = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps([{("org_code" if key == "member" else key): value for key, value in entry.items()}
                                for entry in entries]), encoding="utf-8")
    assert {record.member for record in list_certificates(pki_dir)} >= {"HUB", rsa_member}
    revoke_member(pki_dir, member=rsa_member)  # a write stores the current names
    assert all("member" in entry and "org_code" not in entry for entry in json.loads(path.read_text(encoding="utf-8")))
