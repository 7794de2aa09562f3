"""The hub's PKI: CA and certificate issuance, the CRL, the registry and the trust check."""
from .errors import CertificateRejected, CertsError, TrustStoreError
from .expiry import expiry_warnings
from .keys import KEY_TYPES, load_certificate, load_private_key
from .layout import MemberPaths, PkiPaths
from .names import member_of
from .pki import init_pki, issue_member, refresh_crl, revoke_member
from .registry import CertificateRecord, list_certificates
from .standing import CertificateStanding, MemberCertificates
from .trust import Identity, TrustStore

__all__ = [
    "CertificateStanding", "MemberCertificates",
    "KEY_TYPES",
    "CertificateRecord",
    "CertificateRejected",
    "CertsError",
    "Identity",
    "MemberPaths",
    "PkiPaths",
    "TrustStore",
    "TrustStoreError",
    "expiry_warnings",
    "init_pki",
    "issue_member",
    "list_certificates",
    "load_certificate",
    "load_private_key",
    "member_of",
    "refresh_crl",
    "revoke_member",
]
