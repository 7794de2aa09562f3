"""Request envelopes of the profile: sealed by a member, opened (verified) by the hub.

``seal_request`` encrypts the Body content for the hub, then signs Body, Timestamp, EncryptedKey
and the WS-Addressing headers with the member's key. ``open_request`` checks the structure
(each part exactly once, at its fixed position), the signature and the certificate and the
timestamp, and returns only the elements that were proven signed. Decryption is separate and
comes after the hub's replay check.
"""
from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree

from . import encryption, signature
from .credentials import Credentials
from .errors import HubError, SecurityError
from .ns import BASE64_BINARY, SOAP11, WSA, WSSE, WSU, X509V3, DataEncryption, KeyTransport, q
from .policy import DEFAULT_POLICY, Policy
from .timestamps import format_utc, parse_utc, utcnow

ORG_URI_PREFIX = "urn:hie:org:"
_UNDERSTOOD = frozenset({q(WSSE, "Security"), q(WSA, "Action"), q(WSA, "MessageID"), q(WSA, "To"), q(WSA, "From")})
MAX_MESSAGE_ID_LENGTH = 200  # the inbox, nonce and audit columns hold 200 characters
_WSU_ID = q(WSU, "Id")


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class SealedRequest:
    message_id: str
    data: bytes


def seal_request(content: etree._Element, *, credentials: Credentials, hub_cert: x509.Certificate, action: str,
                 to: str, message_id: str | None = None, now: datetime | None = None,
                 lifetime: timedelta = timedelta(minutes=5),
                 key_transport: KeyTransport = KeyTransport.RSA_OAEP_MGF1P,
                 data_encryption: DataEncryption = DataEncryption.AES256_GCM) -> SealedRequest:
    """Encrypt ``content`` for the hub and sign the envelope with the member's ``credentials``."""
    message_id = message_id or f"urn:uuid:{uuid.uuid4()}"
    now = now or utcnow()
    env = etree.Element(q(SOAP11, "Envelope"),
                        nsmap={"soap": SOAP11, "wsse": WSSE, "wsu": WSU, "wsa": WSA})
    header = etree.SubElement(env, q(SOAP11, "Header"))
    signed = []
    for local, text in (("Action", action), ("MessageID", message_id), ("To", to)):
        element = etree.SubElement(header, q(WSA, local), {_WSU_ID: _new_id(local.lower())})
        element.text = text
        signed.append(element)
    member_from = etree.SubElement(header, q(WSA, "From"), {_WSU_ID: _new_id("from")})
    etree.SubElement(member_from, q(WSA, "Address")).text = ORG_URI_PREFIX + (credentials.member or "")
    signed.append(member_from)
    security = etree.SubElement(header, q(WSSE, "Security"), {q(SOAP11, "mustUnderstand"): "1"})
    stamp = etree.SubElement(security, q(WSU, "Timestamp"), {_WSU_ID: _new_id("ts")})
    etree.SubElement(stamp, q(WSU, "Created")).text = format_utc(now)
    etree.SubElement(stamp, q(WSU, "Expires")).text = format_utc(now + lifetime)
    token_id = _new_id("x509")
    token = etree.SubElement(security, q(WSSE, "BinarySecurityToken"),
                             {"EncodingType": BASE64_BINARY, "ValueType": X509V3, _WSU_ID: token_id})
    token.text = base64.b64encode(credentials.cert_der).decode("ascii")
    body = etree.SubElement(env, q(SOAP11, "Body"), {_WSU_ID: _new_id("body")})
    data_id = _new_id("ed")
    key, encrypted = encryption.encrypt_content(etree.tostring(content, encoding="utf-8"), data_id=data_id,
                                                algorithm=data_encryption)
    body.append(encrypted)
    encrypted_key = encryption.wrap_key(key, hub_cert, key_id=_new_id("ek"), data_ids=(data_id,),
                                        transport=key_transport)
    security.append(encrypted_key)
    sig = signature.sign(security, [body, stamp, encrypted_key, *signed], key=credentials.signing_key)
    str_ = etree.SubElement(signature.key_info_of(sig), q(WSSE, "SecurityTokenReference"))
    etree.SubElement(str_, q(WSSE, "Reference"), URI="#" + token_id, ValueType=X509V3)
    return SealedRequest(message_id=message_id, data=etree.tostring(env, encoding="utf-8", xml_declaration=True))


# ---------------------------------------------------------------- hub side

@dataclass(frozen=True)
class SignedRequest:
    """A request whose signature, certificate and timestamp are verified (still encrypted)."""

    identity: object  # certs.trust.Identity: the member its certificate names
    cert_der: bytes
    message_id: str
    action: str
    to: str
    created: datetime
    expires: datetime
    encrypted_data: etree._Element
    encrypted_key: etree._Element


def _one(parent: etree._Element, tag: str, code: str = "security.header.invalid") -> etree._Element:
    found = parent.findall(tag)
    if len(found) != 1:
        raise SecurityError(code, f"expected exactly one {tag}")
    return found[0]


def _envelope_parts(root: etree._Element):
    if root.tag != q(SOAP11, "Envelope"):
        raise SecurityError("soap.invalid", "root is not a SOAP 1.1 Envelope")
    children = [child for child in root]
    if [child.tag for child in children] != [q(SOAP11, "Header"), q(SOAP11, "Body")]:
        raise SecurityError("soap.invalid", "Envelope must hold exactly Header then Body")
    if (root.text or "").strip() or any((child.tail or "").strip() for child in children):
        raise SecurityError("soap.invalid", "text outside Header and Body")
    return children


def open_request(root: etree._Element, *, trust, policy: Policy = DEFAULT_POLICY,
                 now: datetime | None = None) -> SignedRequest:
    """Verify structure, signature, certificate, member binding and timestamp of a request."""
    header, body = _envelope_parts(root)
    for block in header:  # SOAP 1.1 §4.2.3: a mandatory header block we do not process is a fault
        if block.tag not in _UNDERSTOOD and block.get(q(SOAP11, "mustUnderstand")) in ("1", "true"):
            raise SecurityError("soap.must_understand", "unknown mandatory header block")
    securities = header.findall(q(WSSE, "Security"))
    if len(securities) != 1:
        raise SecurityError("security.header.invalid", "expected exactly one wsse:Security")
    security = securities[0]
    signatures = security.findall(q(signature.DS, "Signature"))
    if not signatures:
        raise SecurityError("security.signature.missing", "no ds:Signature in wsse:Security")
    if len(signatures) != 1:
        raise SecurityError("security.signature.wrapping", "more than one ds:Signature")
    sig = signatures[0]
    stamp = security.findall(q(WSU, "Timestamp"))
    if len(stamp) != 1:
        raise SecurityError("security.timestamp.invalid", "expected exactly one wsu:Timestamp")
    stamp = stamp[0]
    token = _one(security, q(WSSE, "BinarySecurityToken"))
    encrypted_key = _one(security, q(encryption.XENC, "EncryptedKey"))
    message_id = _one(header, q(WSA, "MessageID"))
    action = _one(header, q(WSA, "Action"))
    to = _one(header, q(WSA, "To"))
    member_from = _one(header, q(WSA, "From"))
    message_id_text = _simple_text(message_id)
    if not message_id_text or len(message_id_text) > MAX_MESSAGE_ID_LENGTH:
        raise SecurityError("security.header.invalid", "MessageID must be 1 to 200 characters of text")

    # References are resolved before the remaining layout checks: a signed part moved into a
    # wrapper (an extra child of wsse:Security, a second child of the Body) is reported as
    # wrapping, the precise code, rather than as whichever layout rule the wrapper broke.
    ids = signature.id_map(root)
    signed = signature.check_signed_info(sig, ids, policy=policy)
    required = {"Body": body, "Timestamp": stamp, "EncryptedKey": encrypted_key, "MessageID": message_id,
                "To": to, "Action": action, "From": member_from}
    allowed_positions = list(required.values()) + [token]
    for element in signed.elements:
        if not any(element is allowed for allowed in allowed_positions):
            raise SecurityError("security.signature.wrapping", "reference outside the allowed positions")
    known = {q(WSU, "Timestamp"), q(WSSE, "BinarySecurityToken"), q(encryption.XENC, "EncryptedKey"),
             q(signature.DS, "Signature")}
    if any(child.tag not in known for child in security):
        raise SecurityError("security.header.invalid", "unexpected element in wsse:Security")
    body_children = [child for child in body]
    if (len(body_children) != 1 or body_children[0].tag != q(encryption.XENC, "EncryptedData")
            or (body.text or "").strip() or (body_children[0].tail or "").strip()):
        raise SecurityError("security.signature.incomplete", "Body must hold exactly one xenc:EncryptedData")
    encrypted_data = body_children[0]
    for part in policy.required_parts:
        if not signed.covers(required[part]):
            raise SecurityError("security.signature.incomplete", f"{part} is not signed")
    # The key to decrypt must be for the EncryptedData that sits in the signed Body.
    data_refs = encrypted_key.findall(f"{q(encryption.XENC, 'ReferenceList')}/{q(encryption.XENC, 'DataReference')}")
    if len(data_refs) != 1 or ids.get((data_refs[0].get("URI") or "")[1:]) is not encrypted_data:
        raise SecurityError("security.signature.incomplete", "EncryptedKey must reference the signed Body's EncryptedData")

    cert_der = _token_certificate(sig, token)
    signature.verify(sig, signed, cert_der=cert_der)
    now = now or utcnow()
    identity = _check_certificate(trust, cert_der, now)
    address = (member_from.findtext(q(WSA, "Address")) or "").strip()
    if address != ORG_URI_PREFIX + identity.member:
        raise SecurityError("security.sender.mismatch", "wsa:From does not name the certificate's organization")
    created, expires = _check_timestamp(stamp, now=now, policy=policy)
    return SignedRequest(identity=identity, cert_der=cert_der, message_id=message_id_text,
                         action=(action.text or "").strip(), to=(to.text or "").strip(), created=created,
                         expires=expires, encrypted_data=encrypted_data, encrypted_key=encrypted_key)


def _simple_text(element: etree._Element) -> str | None:
    """Stripped text of an element that holds text only (None if it has child elements)."""
    return None if len(element) else (element.text or "").strip()


def _token_certificate(sig: etree._Element, token: etree._Element) -> bytes:
    refs = sig.findall(f"{q(signature.DS, 'KeyInfo')}/{q(WSSE, 'SecurityTokenReference')}/{q(WSSE, 'Reference')}")
    if len(refs) != 1 or refs[0].get("URI") != "#" + (token.get(_WSU_ID) or "\0"):
        raise SecurityError("security.header.invalid", "KeyInfo must reference the BinarySecurityToken")
    if token.get("ValueType") != X509V3:
        raise SecurityError("security.header.invalid", "BinarySecurityToken must be X509v3")
    try:
        der = base64.b64decode("".join((token.text or "").split()), validate=True)
        public_key = x509.load_der_x509_certificate(der).public_key()
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        raise SecurityError("security.certificate.untrusted", "token is not a usable X.509 certificate") from None
    # Only the key types the hub CA issues (RSA >= 2048, EC P-256) reach xmlsec and the trust
    # store; others (curves OpenSSL knows and cryptography does not) would crash the trust check.
    if not (isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size >= 2048
            or isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1)):
        raise SecurityError("security.certificate.untrusted", "key type the hub CA never issues")
    return der


def _check_certificate(trust, cert_der: bytes, now: datetime):
    from certs.errors import CertificateRejected, TrustStoreError

    try:
        return trust.check_member(x509.load_der_x509_certificate(cert_der), at=now)
    except CertificateRejected as exc:  # whose it was, when the hub CA says so (for the audit, not the fault)
        raise SecurityError(exc.code, "certificate rejected", member=exc.member, cert_serial=exc.serial_hex) from None
    except TrustStoreError:
        raise HubError("server.unavailable", "trust store unavailable") from None
    except (ValueError, TypeError, UnsupportedAlgorithm):  # a certificate the trust store cannot read
        raise SecurityError("security.certificate.untrusted", "certificate unreadable") from None


_TIMESTAMP_CHILDREN = [q(WSU, "Created"), q(WSU, "Expires")]


def _check_timestamp(stamp: etree._Element, *, now: datetime, policy: Policy) -> tuple[datetime, datetime]:
    if [child.tag for child in stamp] != _TIMESTAMP_CHILDREN:  # exactly one of each: no second reading
        raise SecurityError("security.timestamp.invalid", "Timestamp must hold Created, then Expires")
    created, expires = parse_utc(stamp[0].text), parse_utc(stamp[1].text)
    if created is None or expires is None or expires <= created:
        raise SecurityError("security.timestamp.invalid", "Created/Expires missing or malformed")
    if expires - created > policy.max_timestamp_lifetime:
        raise SecurityError("security.timestamp.invalid", "lifetime over the limit")
    if created > now + policy.clock_skew:
        raise SecurityError("security.timestamp.future", "Created is in the future")
    if expires < now - policy.clock_skew:
        raise SecurityError("security.timestamp.expired", "Expires has passed")
    return created, expires


__all__ = ["SealedRequest", "SignedRequest", "seal_request", "open_request", "ORG_URI_PREFIX"]
