"""Operator actions on a PKI directory: init, issue, revoke and CRL refresh."""
from __future__ import annotations

import ipaddress
import shutil
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from cryptography import x509

from . import issuance, names
from .crl import CRL_DAYS, check_reason, write_crl
from .errors import CertsError
from .files import PRIVATE_FILE_MODE, atomic_write, ensure_private_dir, pki_lock
from .keys import (
    RSA_KEY_TYPES,
    PrivateKey,
    certificate_pem,
    check_key_type,
    generate_private_key,
    load_certificate,
    load_private_key,
    private_key_pem,
)
from .layout import MemberPaths, PkiPaths
from .registry import entry_for, iso_utc, read_entries, serial_hex, write_entries

DEFAULT_HUB_NAME = "区域卫生信息平台"
CA_DAYS = 3650
HUB_DAYS = 730


class _HubProfile(NamedTuple):
    """What differs between the hub's three certificates."""

    role: str
    key_type: str
    cert_path: Path
    key_path: Path
    subject: x509.Name
    usage: x509.KeyUsage
    extended_usage: tuple = ()
    alt_names: tuple = ()


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _write_pair(*, cert: x509.Certificate, key: PrivateKey, cert_path: Path, key_path: Path) -> None:
    ensure_private_dir(key_path.parent)
    atomic_write(key_path, private_key_pem(key), mode=PRIVATE_FILE_MODE)
    atomic_write(cert_path, certificate_pem(cert))


def _load_ca(paths: PkiPaths) -> tuple[x509.Certificate, PrivateKey]:
    if not (paths.ca_cert.is_file() and paths.ca_key.is_file()):
        raise CertsError("pki.missing", detail=str(paths.root))
    return load_certificate(paths.ca_cert), load_private_key(paths.ca_key)


def init_pki(
    directory: Path | str,
    *,
    hub_name: str = DEFAULT_HUB_NAME,
    ca_key_type: str = "ec-p256",
    sign_key_type: str = "ec-p256",
    enc_key_type: str = "rsa-2048",
    hostnames: Iterable[str] = (),
    days: int = HUB_DAYS,
    ca_days: int = CA_DAYS,
    force: bool = False,
) -> PkiPaths:
    """Create the CA, the hub's signing/encryption/TLS certificates, an empty CRL and registry."""
    hub_name = names.check_display_name(hub_name, max_length=names.HUB_NAME_MAX)
    check_key_type(ca_key_type)
    check_key_type(sign_key_type)
    check_key_type(enc_key_type, allowed=RSA_KEY_TYPES)  # members wrap keys for it with RSA-OAEP
    alt_names: list[x509.GeneralName] = [
        x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    for host in (hostnames,) if isinstance(hostnames, str) else hostnames:  # one name, not its letters
        alt_name = names.general_name_for(host)
        if alt_name not in alt_names:
            alt_names.append(alt_name)
    now = _now()
    ca_window = issuance.validity_window(now=now, days=ca_days)
    hub_window = issuance.validity_window(now=now, days=days, limit=ca_window[1])
    paths = PkiPaths.of(directory)
    with pki_lock(paths.root):
        if paths.ca_cert.exists() and not force:
            raise CertsError("pki.exists", detail=str(paths.root))
        if force and paths.members.exists():
            # a new CA invalidates every member certificate the old one signed
            shutil.rmtree(paths.members)
        ca_key = generate_private_key(ca_key_type)
        ca_cert = issuance.build_ca(key=ca_key, subject=names.ca_subject(hub_name),
                                    not_before=ca_window[0], not_after=ca_window[1])
        _write_pair(cert=ca_cert, key=ca_key, cert_path=paths.ca_cert, key_path=paths.ca_key)
        profiles = [
            _HubProfile(names.ROLE_HUB_SIGN, sign_key_type, paths.hub_sign_cert, paths.hub_sign_key,
                        names.hub_subject(hub_name, purpose="signing"),
                        issuance.key_usage("digitalSignature", "contentCommitment")),
            _HubProfile(names.ROLE_HUB_ENC, enc_key_type, paths.hub_enc_cert, paths.hub_enc_key,
                        names.hub_subject(hub_name, purpose="encryption"),
                        issuance.key_usage("keyEncipherment", "dataEncipherment")),
            # no organizationIdentifier: the TLS certificate must never pass as the hub signer
            _HubProfile(names.ROLE_TLS, "ec-p256", paths.tls_cert, paths.tls_key,
                        names.hub_subject(hub_name, purpose="TLS", with_org_id=False),
                        issuance.key_usage("digitalSignature"), (issuance.SERVER_AUTH,), tuple(alt_names)),
        ]
        entries = []
        for profile in profiles:
            key = generate_private_key(profile.key_type)
            cert = issuance.build_leaf(
                subject=profile.subject, public_key=key.public_key(), ca_cert=ca_cert, ca_key=ca_key,
                not_before=hub_window[0], not_after=hub_window[1], usage=profile.usage,
                extended_usage=profile.extended_usage, alt_names=profile.alt_names,
            )
            _write_pair(cert=cert, key=key, cert_path=profile.cert_path, key_path=profile.key_path)
            entries.append(entry_for(cert, role=profile.role, member=names.HUB_ORG_ID,
                                     cert_path=profile.cert_path, root=paths.root))
        ensure_private_dir(paths.members)
        write_entries(paths.root, entries)
        write_crl(paths.root, ca_cert=ca_cert, ca_key=ca_key, entries=entries, now=now)
    return paths


def issue_member(
    directory: Path | str,
    *,
    member: str,
    member_name: str | None = None,
    key_type: str = "rsa-2048",
    days: int = 365,
    renew: bool = False,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key_usage_override: Iterable[str] | None = None,
) -> MemberPaths:
    """Issue a certificate and key for ``member``; ``renew`` replaces the current one."""
    names.check_member(member)
    member_name = names.check_display_name(member_name or member, max_length=names.MEMBER_NAME_MAX)
    check_key_type(key_type)
    usage = issuance.member_key_usage(key_type, override=key_usage_override)
    paths = PkiPaths.of(directory)
    files = MemberPaths.of(paths.root, member)
    with pki_lock(paths.root):
        ca_cert, ca_key = _load_ca(paths)
        if files.cert.exists() and not renew:
            raise CertsError("pki.member.exists", detail=member)
        window = issuance.validity_window(now=_now(), days=days, not_before=not_before,
                                          not_after=not_after, limit=ca_cert.not_valid_after_utc)
        entries = read_entries(paths.root)
        if files.cert.exists():
            _supersede(paths=paths, files=files, entries=entries)
        key = generate_private_key(key_type)
        cert = issuance.build_leaf(
            subject=names.member_subject(member, member_name=member_name), public_key=key.public_key(),
            ca_cert=ca_cert, ca_key=ca_key, not_before=window[0], not_after=window[1],
            usage=usage, extended_usage=(issuance.CLIENT_AUTH,),
        )
        _write_pair(cert=cert, key=key, cert_path=files.cert, key_path=files.key)
        entries.append(entry_for(cert, role=names.ROLE_MEMBER, member=member,
                                 cert_path=files.cert, root=paths.root))
        write_entries(paths.root, entries)
    return files


def _supersede(*, paths: PkiPaths, files: MemberPaths, entries: list[dict]) -> None:
    """Keep a copy of the certificate a renewal replaces and point the registry at it."""
    old = load_certificate(files.cert)
    serial = serial_hex(old.serial_number)
    # a copy, not a move: if the renewal dies half-way the current cert.pem is still intact
    kept = atomic_write(files.superseded / f"{serial}.pem", files.cert.read_bytes())
    for entry in entries:
        if entry["serial"] == serial and entry["role"] == names.ROLE_MEMBER:
            entry["cert"] = kept.relative_to(paths.root).as_posix()


def revoke_member(directory: Path | str, *, member: str, reason: str = "unspecified") -> Path:
    """Revoke every unrevoked certificate of ``member`` and rewrite the CRL."""
    names.check_member(member)
    reason = check_reason(reason)
    paths = PkiPaths.of(directory)
    with pki_lock(paths.root):
        ca_cert, ca_key = _load_ca(paths)
        entries = read_entries(paths.root)
        targets = [entry for entry in entries if entry["role"] == names.ROLE_MEMBER
                   and entry["member"] == member and not entry["revoked_at"]]
        if not targets:
            raise CertsError("pki.member.unknown", detail=member)
        now = datetime.now(timezone.utc)  # with its microseconds (see the entry below)
        for entry in targets:
            # to the microsecond: doors that see no certificate (API tokens) compare it with when a
            # token was issued (the CRL keeps whole seconds)
            entry["revoked_at"] = iso_utc(now, precise=True)
            entry["revocation_reason"] = reason
        # registry first: the CRL is rebuilt from it, so a crash here loses no revocation
        # (``refresh_crl`` re-signs it); the reverse order could silently un-revoke later
        write_entries(paths.root, entries)
        return write_crl(paths.root, ca_cert=ca_cert, ca_key=ca_key, entries=entries, now=now.replace(microsecond=0))


def refresh_crl(directory: Path | str, *, days: int = CRL_DAYS) -> Path:
    """Re-sign the CRL from the registry with a new nextUpdate (run it before the old one lapses)."""
    paths = PkiPaths.of(directory)
    with pki_lock(paths.root):
        ca_cert, ca_key = _load_ca(paths)
        return write_crl(paths.root, ca_cert=ca_cert, ca_key=ca_key,
                         entries=read_entries(paths.root), now=_now(), days=days)


__all__ = ["init_pki", "issue_member", "revoke_member", "refresh_crl"]
