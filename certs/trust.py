"""The one place that decides whether a presented certificate is trusted (CA, CRL, role, usage)."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from . import names
from .errors import CertificateRejected, CertsError, TrustStoreError
from .keys import key_type_of, load_certificate
from .layout import PkiPaths
from .registry import serial_hex

CACHE_SIZE = 4096


@dataclass(frozen=True)
class Identity:
    """Who a trusted certificate speaks for; the only thing callers should use after the check."""

    member: str
    serial_hex: str
    not_after: datetime
    key_type: str
    fingerprint_sha256: str


@dataclass(frozen=True)
class _Profile:
    """Facts about a certificate that never change, so they are computed once per fingerprint."""

    issued_by_ca: bool
    unit: str | None
    is_ca: bool | None  # None when BasicConstraints is absent
    member: str | None
    can_sign: bool
    key_type: str
    fingerprint_hex: str


@dataclass(frozen=True)
class _CrlState:
    stat_key: tuple[int, int, int]
    revoked: Mapping[int, datetime] | None  # serial -> revocation date; None when the file was unusable
    next_update: datetime | None
    failure: str | None


def _stat_key(stat: os.stat_result) -> tuple[int, int, int]:
    # inode too: os.replace gives each rewrite a new inode even within one mtime tick and size
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


class TrustStore:
    """Checks member and hub-signer certificates against the hub CA and its (hot-reloaded) CRL."""

    def __init__(self, pki_dir: Path | str):
        paths = PkiPaths.of(pki_dir)
        self._setup(ca_cert=paths.ca_cert, crl=paths.crl)

    @classmethod
    def from_files(cls, *, ca_cert: Path | str | x509.Certificate, crl: Path | str) -> TrustStore:
        """Build a store from a CA certificate (path or object) and the CRL file path."""
        store = cls.__new__(cls)
        store._setup(ca_cert=ca_cert, crl=crl)
        return store

    def _setup(self, *, ca_cert: Path | str | x509.Certificate, crl: Path | str) -> None:
        try:
            self._ca = ca_cert if isinstance(ca_cert, x509.Certificate) else load_certificate(ca_cert)
            constraints = self._ca.extensions.get_extension_for_class(x509.BasicConstraints).value
        except (CertsError, x509.ExtensionNotFound):
            raise TrustStoreError(detail="CA certificate missing or unreadable") from None
        if not constraints.ca:
            raise TrustStoreError(detail="trust anchor is not a CA certificate")
        self._crl_path = Path(crl)
        self._crl_state: _CrlState | None = None
        self._highest_crl_number = -1
        self._reload_lock = threading.Lock()
        self._profiles: dict[bytes, _Profile] = {}
        self._profiles_lock = threading.Lock()
        self._revoked()  # fail at start-up, not on the first request, if the CRL is bad

    @property
    def ca_certificate(self) -> x509.Certificate:
        return self._ca

    @property
    def crl_next_update(self) -> datetime | None:
        """nextUpdate of the CRL currently in force (for health checks and warnings)."""
        self._revoked()
        return self._crl_state.next_update if self._crl_state else None

    def revocations(self) -> Mapping[int, datetime]:
        """Every serial the CRL in force revokes, with its revocation date (re-read when the file changes)."""
        return self._revoked()

    def check_member(self, cert: x509.Certificate, *, at: datetime) -> Identity:
        """Accept a member organization's certificate at time ``at`` or raise CertificateRejected."""
        return self._check(cert, at=at, unit=names.OU_MEMBER)

    def check_hub_signer(self, cert: x509.Certificate, *, at: datetime) -> Identity:
        """Accept the hub's message-signing certificate at time ``at`` or raise CertificateRejected."""
        return self._check(cert, at=at, unit=names.OU_HUB)

    def _check(self, cert: x509.Certificate, *, at: datetime, unit: str) -> Identity:
        if at.utcoffset() is None:
            raise ValueError("at must be timezone-aware")
        revoked = self._revoked()  # a broken CRL fails every check, whatever the certificate
        profile = self._profile(cert)
        if not profile.issued_by_ca or profile.unit != unit or profile.is_ca is not False:
            raise CertificateRejected("security.certificate.untrusted")
        # the organizationIdentifier must agree with the role: HUB only on hub certificates
        if profile.member is not None and (profile.member == names.HUB_ORG_ID) != (unit == names.OU_HUB):
            raise CertificateRejected("security.certificate.untrusted")
        # from here on the CA vouches for the certificate's member: refusals name it (for the audit)
        holder = {"member": profile.member, "serial_hex": serial_hex(cert.serial_number)}
        if not (self._ca.not_valid_before_utc <= at <= self._ca.not_valid_after_utc):
            raise CertificateRejected("security.certificate.expired", **holder)
        if not (cert.not_valid_before_utc <= at <= cert.not_valid_after_utc):
            raise CertificateRejected("security.certificate.expired", **holder)
        if cert.serial_number in revoked:
            raise CertificateRejected("security.certificate.revoked", **holder)
        if not profile.can_sign or profile.member is None:
            raise CertificateRejected("security.certificate.usage", **holder)
        return Identity(
            member=profile.member,
            serial_hex=serial_hex(cert.serial_number),
            not_after=cert.not_valid_after_utc,
            key_type=profile.key_type,
            fingerprint_sha256=profile.fingerprint_hex,
        )

    def _profile(self, cert: x509.Certificate) -> _Profile:
        fingerprint = cert.fingerprint(hashes.SHA256())
        profile = self._profiles.get(fingerprint)
        if profile is None:
            profile = self._build_profile(cert, fingerprint)
            with self._profiles_lock:
                while len(self._profiles) >= CACHE_SIZE:
                    self._profiles.pop(next(iter(self._profiles)))  # oldest first
                self._profiles[fingerprint] = profile
        return profile

    def _build_profile(self, cert: x509.Certificate, fingerprint: bytes) -> _Profile:
        try:
            cert.verify_directly_issued_by(self._ca)
            issued_by_ca = True
        except (ValueError, TypeError, InvalidSignature):
            issued_by_ca = False
        try:
            extensions = cert.extensions
        except (x509.DuplicateExtension, ValueError):  # an extension twice, or one that cannot be read
            extensions = x509.Extensions([])
            issued_by_ca = False  # not something this CA ever issues: untrusted, whatever else it says
        try:
            is_ca = extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except (x509.ExtensionNotFound, ValueError):
            is_ca = None
        try:
            can_sign = extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
        except (x509.ExtensionNotFound, ValueError):
            can_sign = False
        try:
            key_type = key_type_of(cert.public_key())
        except Exception:  # unsupported curve or algorithm: not a key this CA ever issues
            key_type = None
            issued_by_ca = False
        try:
            member, unit = names.member_of(cert), names.unit_of(cert)
        except ValueError:  # a subject cryptography cannot decode: no usable identity
            member, unit, issued_by_ca = None, None, False
        if member is not None and member != names.HUB_ORG_ID:
            try:
                names.check_member(member)
            except CertsError:
                member = None  # an unusable identity is treated like a missing one
        return _Profile(
            issued_by_ca=issued_by_ca, unit=unit, is_ca=is_ca, member=member,
            can_sign=can_sign, key_type=key_type, fingerprint_hex=fingerprint.hex(),
        )

    def _revoked(self) -> Mapping[int, datetime]:
        """Serials revoked by the current CRL, re-reading the file whenever it has changed."""
        try:
            key = _stat_key(os.stat(self._crl_path))
        except OSError:
            raise TrustStoreError(detail="CRL missing") from None
        state = self._crl_state
        if state is None or state.stat_key != key:
            with self._reload_lock:
                state = self._crl_state
                if state is None or state.stat_key != key:
                    state = self._crl_state = self._load_crl()
        if state.revoked is None:
            raise TrustStoreError(detail=state.failure)
        return state.revoked

    def _load_crl(self) -> _CrlState:
        try:
            with open(self._crl_path, "rb") as handle:
                key = _stat_key(os.fstat(handle.fileno()))  # the stat of exactly what we read
                data = handle.read()
        except OSError:
            raise TrustStoreError(detail="CRL missing") from None

        def failed(reason: str) -> _CrlState:
            # remembered per file version, so a broken CRL is not re-parsed on every request
            return _CrlState(stat_key=key, revoked=None, next_update=None, failure=reason)

        try:
            crl = x509.load_pem_x509_crl(data)
        except ValueError:
            return failed("CRL unreadable")
        if crl.issuer != self._ca.subject or not crl.is_signature_valid(self._ca.public_key()):
            return failed("CRL not signed by the CA")
        try:
            number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        except (x509.ExtensionNotFound, ValueError):
            return failed("CRL has no CRL number")
        if number < self._highest_crl_number:
            # an older, validly signed CRL put back in place could hide a revocation
            return failed("CRL number went backwards")
        self._highest_crl_number = number
        return _CrlState(
            stat_key=key,
            revoked=MappingProxyType({entry.serial_number: entry.revocation_date_utc for entry in crl}),
            next_update=crl.next_update_utc,
            failure=None,
        )
