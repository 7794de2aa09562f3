"""Subject names of the hub's certificates, input validation and reading identities back."""
from __future__ import annotations

import ipaddress
import re

from cryptography import x509
from cryptography.x509.oid import NameOID

from .errors import CertsError

ORG_ID_OID = NameOID.ORGANIZATION_IDENTIFIER  # 2.5.4.97, carries the organization code
HUB_ORG_ID = "HUB"
OU_MEMBER = "member"
OU_HUB = "hub"

ROLE_MEMBER = "member"
ROLE_HUB_SIGN = "hub-sign"
ROLE_HUB_ENC = "hub-enc"
ROLE_TLS = "tls"
ROLES = (ROLE_HUB_SIGN, ROLE_HUB_ENC, ROLE_TLS, ROLE_MEMBER)

_MEMBER_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,63}")
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
HUB_NAME_MAX = 48  # leaves room for the " signing" / " Root CA" suffixes inside CN's 64
MEMBER_NAME_MAX = 64  # X.520 upper bound for organizationName


def check_member(member: str) -> str:
    """Return ``member`` if it is a valid member code, else raise ``pki.member.invalid``."""
    # fullmatch, not "$": "$" would also accept a trailing newline
    if not isinstance(member, str) or not _MEMBER_CODE.fullmatch(member):
        raise CertsError("pki.member.invalid")
    if member.upper() == HUB_ORG_ID:  # any case: "hub" would read as the hub in logs
        raise CertsError("pki.member.invalid")
    return member


def check_display_name(name: str, *, max_length: int) -> str:
    """Return ``name`` stripped if it is 1..max_length printable characters."""
    if not isinstance(name, str):
        raise CertsError("pki.name.invalid")
    name = name.strip()
    if not 1 <= len(name) <= max_length or not name.isprintable():
        raise CertsError("pki.name.invalid")
    return name


def general_name_for(host: str) -> x509.GeneralName:
    """Turn a hostname or IP literal into a SAN entry, rejecting anything else."""
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host.rstrip(".").split(".") if isinstance(host, str) else []
    if not labels or len(host) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise CertsError("pki.hostname.invalid")
    return x509.DNSName(host.rstrip(".").lower())


def ca_subject(hub_name: str) -> x509.Name:
    """Subject (and issuer) of the hub root CA."""
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, hub_name),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{hub_name} Root CA"),
    ])


def hub_subject(hub_name: str, *, purpose: str, with_org_id: bool = True) -> x509.Name:
    """Subject of one of the hub's own certificates (``purpose`` is signing, encryption, TLS)."""
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, hub_name),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, OU_HUB),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{hub_name} {purpose}"),
    ]
    if with_org_id:
        attributes.append(x509.NameAttribute(ORG_ID_OID, HUB_ORG_ID))
    return x509.Name(attributes)


def member_subject(member: str, *, member_name: str) -> x509.Name:
    """Subject of a member organization's certificate."""
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, member_name),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, OU_MEMBER),
        x509.NameAttribute(NameOID.COMMON_NAME, member),
        x509.NameAttribute(ORG_ID_OID, member),
    ])


def _single_value(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    # two values for one attribute make the identity ambiguous: treat it as absent
    if len(values) != 1 or not isinstance(values[0].value, str):
        return None
    return values[0].value


def member_of(cert: x509.Certificate) -> str | None:
    """The organizationIdentifier (2.5.4.97) of the certificate's subject, or None."""
    return _single_value(cert.subject, ORG_ID_OID)


def unit_of(cert: x509.Certificate) -> str | None:
    """The organizationalUnitName of the certificate's subject (``member`` or ``hub``), or None."""
    return _single_value(cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
