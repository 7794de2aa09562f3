"""The certs package's one error root and its table of machine codes.

Messages are fixed per code and never built from certificate contents, key material or input.
The ``security.*`` and ``server.unavailable`` codes and messages match ``protocol.errors.FAULTS`` so
the hub can map a rejection onto its own fault without reading the text.
"""
from __future__ import annotations

MESSAGES: dict[str, str] = {
    # operator tooling
    "pki.exists": "PKI directory is already initialised (use force to replace it)",
    "pki.missing": "PKI directory is not initialised (CA certificate or key missing)",
    "pki.member.exists": "member already has a certificate (hie pki issue --renew replaces it)",
    "pki.member.unknown": "member has no unrevoked certificate",
    "pki.member.invalid": "member code must match ^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$ and not be HUB",
    "pki.name.invalid": "name must be 1 to 64 printable characters",
    "pki.hostname.invalid": "hostname must be a DNS name or an IP address",
    "pki.key_type.invalid": "unsupported key type for this certificate",
    "pki.key_usage.invalid": "unknown key usage name",
    "pki.validity.invalid": "validity period is empty, too long or not timezone-aware",
    "pki.reason.invalid": "unknown revocation reason",
    "pki.file.invalid": "file is missing, unreadable or not the expected PEM object",
    "pki.registry.invalid": "certificate registry is unreadable or malformed",
    "pki.crl.invalid": "not a numbered CRL signed by this hub's CA",
    # trust decisions (same codes and messages as protocol.errors.FAULTS)
    "security.certificate.untrusted": "certificate is not issued by the hub CA",
    "security.certificate.expired": "certificate is outside its validity period",
    "security.certificate.revoked": "certificate has been revoked",
    "security.certificate.usage": "certificate key usage does not allow signing",
    "server.unavailable": "hub is temporarily unable to accept messages; retry later",
}


class CertsError(Exception):
    """Root of every error the certs package raises on purpose; carries a dotted machine code."""

    def __init__(self, code: str, *, detail: str | None = None):
        if code not in MESSAGES:
            raise ValueError(f"unregistered certs error code {code!r}")
        self.code = code
        self.detail = detail  # for operators' logs: fixed wording or a path, never file contents
        super().__init__(code if detail is None else f"{code}: {detail}")

    @property
    def message(self) -> str:
        return MESSAGES[self.code]


class CertificateRejected(CertsError):
    """A presented certificate failed the trust check.

    ``member`` and ``serial_hex`` say whose certificate it was, and are set only when the hub CA
    issued it (a revoked or expired certificate of a member): the CA vouches for the name, so the
    refusal can be audited against the member. A certificate from elsewhere names nobody.
    """

    def __init__(self, code: str, *, detail: str | None = None, member: str | None = None,
                 serial_hex: str | None = None):
        if not code.startswith("security.certificate."):
            raise ValueError(f"not a certificate rejection code {code!r}")
        super().__init__(code, detail=detail)
        self.member = member
        self.serial_hex = serial_hex


class TrustStoreError(CertsError):
    """The trust anchors (CA certificate, CRL) cannot be used; callers must fail closed."""

    def __init__(self, *, detail: str | None = None):
        super().__init__("server.unavailable", detail=detail)


__all__ = ["MESSAGES", "CertsError", "CertificateRejected", "TrustStoreError"]
