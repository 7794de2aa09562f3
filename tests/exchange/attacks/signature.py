"""Signature attacks: the WS-Security header, references, algorithms, certificates, member binding.

Signature wrapping, references left out or outside the allowed positions, forbidden algorithms,
transforms and reference URIs, untrusted, expired, revoked or misused certificates, a From that
names another organization, tampered values and KeyInfo forms the profile does not allow.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import uuid
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID
from lxml import etree

from protocol import signature as dsig
from protocol.ns import DS, SOAP11, WSSE, XENC, q
from protocol.signature import SigningKey
from protocol.timestamps import format_utc, utcnow

from .kit import (
    ENVELOPED,
    EVIL,
    EXC_C14N,
    EXC_C14N_COMMENTS,
    HMAC_SHA256,
    RSA_SHA1,
    SHA1,
    SIGNATURE,
    WSU_ID,
    XPATH,
    XSLT,
    Attack,
    Kit,
    Msg,
    Ref,
    b64,
    case,
    header_block,
    replace_text,
)


@case(SIGNATURE, "security.signature.missing")
def unsigned(kit: Kit) -> Attack:
    """The ds:Signature removed from an otherwise valid message."""
    return kit.seal().unsign().attack()


@case(SIGNATURE, "security.signature.incomplete", valid_signature=True)
def body_not_referenced(kit: Kit) -> Attack:
    """Re-signed by the member over every required part except the Body."""
    msg = kit.seal()
    return msg.resign(targets=msg.required_parts()[1:]).attack()


@case(SIGNATURE, "security.signature.incomplete", valid_signature=True)
def from_not_referenced(kit: Kit) -> Attack:
    """Re-signed without wsa:From (the member claim would be unsigned)."""
    msg = kit.seal()
    return msg.resign(targets=msg.required_parts()[:-1]).attack()


@case(SIGNATURE, "security.signature.incomplete", valid_signature=True)
def encrypted_key_not_referenced(kit: Kit) -> Attack:
    """Re-signed without the EncryptedKey (the key could be swapped)."""
    msg = kit.seal()
    parts = msg.required_parts()
    return msg.resign(targets=parts[:2] + parts[3:]).attack()


@case(SIGNATURE, "soap.must_understand", valid_signature=True)
def unknown_mandatory_header(kit: Kit) -> Attack:
    """A header block the hub does not process, marked soap:mustUnderstand="1" (SOAP 1.1 §4.2.3)."""
    msg = kit.seal()
    header_block(msg, "Routing", "elsewhere").set(f"{{{SOAP11}}}mustUnderstand", "1")
    return msg.attack()


def _wrap(kit: Kit, place: str) -> Attack:
    """Move the signed Body to ``place`` and put an attacker Body in its position (no re-signing)."""
    msg = kit.seal()
    signed_body = msg.body
    evil = kit.attacker_body(msg)
    msg.root.replace(signed_body, evil)
    if place == "security":
        msg.security.append(signed_body)
    elif place == "header":
        wrapper = header_block(msg, "Wrapper")
        wrapper.set(q(SOAP11, "mustUnderstand"), "0")
        wrapper.append(signed_body)
    elif place == "second-body":
        msg.root.append(signed_body)
    elif place == "inside-body":
        etree.SubElement(evil, q(EVIL, "Wrapper"), nsmap={"evil": EVIL}).append(signed_body)
    elif place == "same-id":
        evil.set(WSU_ID, signed_body.get(WSU_ID))
        header_block(msg, "Wrapper").append(signed_body)
    return msg.attack(None, evil.findtext(f".//{q(XENC, 'CipherValue')}")[:24])


@case(SIGNATURE, "security.signature.wrapping", valid_signature=True)
def wrap_body_in_security(kit: Kit) -> Attack:
    """Signed Body moved into wsse:Security, an attacker Body in its place."""
    return _wrap(kit, "security")


@case(SIGNATURE, "security.signature.wrapping", valid_signature=True)
def wrap_body_in_new_header(kit: Kit) -> Attack:
    """Signed Body moved into a new header block (mustUnderstand=0), an attacker Body in its place."""
    return _wrap(kit, "header")


@case(SIGNATURE, "soap.invalid", valid_signature=True)
def wrap_body_as_second_body(kit: Kit) -> Attack:
    """Attacker Body first, the signed Body as a second Body after it."""
    return _wrap(kit, "second-body")


@case(SIGNATURE, "security.signature.wrapping", valid_signature=True)
def wrap_body_inside_body(kit: Kit) -> Attack:
    """The signed Body nested (in a wrapper element) inside the attacker's Body."""
    return _wrap(kit, "inside-body")


@case(SIGNATURE, "security.signature.wrapping")
def duplicate_ids(kit: Kit) -> Attack:
    """Attacker Body carrying the signed Body's wsu:Id; the signed Body kept in a header wrapper."""
    return _wrap(kit, "same-id")


@case(SIGNATURE, "security.signature.wrapping")
def duplicate_id_across_attributes(kit: Kit) -> Attack:
    """A header block with Id="<the Body's wsu:Id>": same value under another id attribute name."""
    msg = kit.seal()
    header_block(msg).set("Id", msg.body.get(WSU_ID))
    return msg.attack()


@case(SIGNATURE, "security.signature.wrapping", valid_signature=True)
def wrap_timestamp(kit: Kit) -> Attack:
    """An old signed Timestamp moved into a header wrapper; a fresh unsigned one in wsse:Security."""
    msg = kit.seal(now=utcnow() - timedelta(hours=2))
    old = msg.stamp
    fresh = copy.deepcopy(old)
    fresh.set(WSU_ID, f"ts-{uuid.uuid4().hex}")
    now = utcnow()
    fresh[0].text, fresh[1].text = format_utc(now), format_utc(now + timedelta(minutes=5))
    msg.security.replace(old, fresh)
    header_block(msg, "Wrapper").append(old)
    return msg.attack()


@case(SIGNATURE, "security.signature.wrapping", valid_signature=True)
def reference_outside_positions(kit: Kit) -> Attack:
    """The member also signs a header block of its own (a reference outside the allowed positions)."""
    msg = kit.seal()
    block = header_block(msg, "Extra", "EVIL-EXTRA")
    block.set(WSU_ID, f"extra-{uuid.uuid4().hex}")
    return msg.resign(targets=msg.required_parts() + [block]).attack(None, "EVIL-EXTRA")


@case(SIGNATURE, "security.signature.wrapping", valid_signature=True)
def second_signature(kit: Kit) -> Attack:
    """Two valid ds:Signatures by the member in wsse:Security (which one would be checked?)."""
    msg = kit.seal()
    first = msg.sig
    msg.security.remove(first)
    msg.resign()
    msg.security.append(first)
    return msg.attack()


@case(SIGNATURE, "xml.forbidden", valid_signature=True)
def comment_in_from_address(kit: Kit) -> Attack:
    """'urn:hie:org:CLINIC01<!--x-->' in the signed wsa:From: digest unchanged, comment refused."""
    msg = kit.seal()
    msg.wsa("From")[0].append(etree.Comment("EVIL-COMMENT"))
    return msg.attack(None, "EVIL-COMMENT")


def _refs(msg: Msg, **overrides) -> list[Ref]:
    return [Ref(target=part, **overrides) for part in msg.required_parts()]


@case(SIGNATURE, "security.algorithm.forbidden", valid_signature=True)
def rsa_sha1_signature(kit: Kit) -> Attack:
    """SignatureMethod rsa-sha1, validly signed by the member."""
    msg = kit.seal()
    return msg.sign_custom(_refs(msg), method=RSA_SHA1).attack()


@case(SIGNATURE, "security.algorithm.forbidden", valid_signature=True)
def sha1_digest(kit: Kit) -> Attack:
    """DigestMethod sha1 on every reference, validly signed."""
    msg = kit.seal()
    return msg.sign_custom(_refs(msg, digest=SHA1)).attack()


@case(SIGNATURE, "security.algorithm.forbidden")
def hmac_signature(kit: Kit) -> Attack:
    """SignatureMethod hmac-sha256 with a truncating HMACOutputLength of 8 bits."""
    msg = kit.seal()
    msg.sign_custom(_refs(msg))
    method = msg.sig.find(f"{q(DS, 'SignedInfo')}/{q(DS, 'SignatureMethod')}")
    method.set("Algorithm", HMAC_SHA256)
    etree.SubElement(method, q(DS, "HMACOutputLength")).text = "8"
    return msg.attack()


@case(SIGNATURE, "security.algorithm.forbidden", valid_signature=True)
def c14n_with_comments(kit: Kit) -> Attack:
    """CanonicalizationMethod exc-c14n#WithComments for SignedInfo, validly signed."""
    msg = kit.seal()
    return msg.sign_custom(_refs(msg), c14n=EXC_C14N_COMMENTS).attack()


@case(SIGNATURE, "security.algorithm.forbidden")
def xslt_transform(kit: Kit) -> Attack:
    """An XSLT transform (document('file:///etc/passwd')) on the Body reference."""
    msg = kit.seal()
    refs = _refs(msg)
    refs[0].transforms = (XSLT, EXC_C14N)
    return msg.sign_custom(refs).attack()


@case(SIGNATURE, "security.algorithm.forbidden", valid_signature=True)
def xpath_transform(kit: Kit) -> Attack:
    """An XPath filter transform on every reference, validly signed."""
    msg = kit.seal()
    return msg.sign_custom(_refs(msg, transforms=(XPATH, EXC_C14N))).attack()


@case(SIGNATURE, "security.algorithm.forbidden")
def external_reference_uri(kit: Kit) -> Attack:
    """An extra reference to http://127.0.0.1:9/evil (the verifier would fetch it)."""
    msg = kit.seal()
    refs = _refs(msg) + [Ref(uri="http://127.0.0.1:9/evil", digest_value=hashlib.sha256(b"").digest())]
    return msg.sign_custom(refs).attack()


@case(SIGNATURE, "security.algorithm.forbidden", valid_signature=True)
def empty_reference_uri(kit: Kit) -> Attack:
    """Reference URI="" (the whole document, enveloped) instead of per-part references."""
    msg = kit.seal()
    return msg.sign_custom([Ref(uri="", transforms=(ENVELOPED, EXC_C14N))]).attack()


@case(SIGNATURE, "security.algorithm.forbidden")
def xpointer_reference_uri(kit: Kit) -> Attack:
    """Reference URI="#xpointer(/)" (the whole document by XPointer)."""
    msg = kit.seal()
    refs = _refs(msg) + [Ref(uri="#xpointer(/)", digest_value=hashlib.sha256(b"").digest())]
    return msg.sign_custom(refs).attack()


@case(SIGNATURE, "security.signature.invalid")
def too_many_references(kit: Kit) -> Attack:
    """Eleven references (the limit is ten): the Body referenced five times over."""
    msg = kit.seal()
    return msg.sign_custom(_refs(msg) + [Ref(target=msg.body)] * 4).attack()


@case(SIGNATURE, "security.algorithm.forbidden", valid_signature=True)
def too_many_transforms(kit: Kit) -> Attack:
    """Three exc-c14n transforms on each reference (the limit is two), validly signed."""
    msg = kit.seal()
    return msg.sign_custom(_refs(msg, transforms=(EXC_C14N,) * 3)).attack()


@case(SIGNATURE, "security.signature.invalid")
def relative_namespace_in_body(kit: Kit) -> Attack:
    """A relative namespace URI declared on the signed Body: exclusive c14n refuses it, so no digest
    over it can be computed (no member signature is needed to get this far)."""
    msg = kit.seal()
    return msg.attack(replace_text(msg.bytes(), b"<soap:Body ", b'<soap:Body xmlns:rel="not/absolute" '))


def _signed_by_outsider(kit: Kit, key: SigningKey, cert_der: bytes) -> Attack:
    """A valid message whose token is ``cert_der``, signed over the required parts with ``key``."""
    msg = kit.seal()
    msg.token.text = b64(cert_der)
    msg.unsign()
    sig = dsig.sign(msg.security, msg.required_parts(), key=key)
    msg.token_reference(sig)
    return msg.attack()


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    length = bytes([size]) if size < 0x80 else bytes([0x80 | ((size.bit_length() + 7) // 8)]) + size.to_bytes(
        (size.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + content


def _certificate_with_key_usage_twice() -> tuple[SigningKey, bytes]:
    """A self-signed 'CLINIC01' EC certificate whose keyUsage extension appears twice.

    cryptography will not build one: the second copy is added under an unused OID (2.5.29.99),
    which is then patched to keyUsage (2.5.29.15) in the to-be-signed bytes, signed again.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "member"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "CLINIC01"),
                      x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "CLINIC01")])
    now = utcnow()
    usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).add_extension(usage, critical=True)
            .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("2.5.29.99"), bytes.fromhex("03020780")),
                           critical=False)
            .sign(key, hashes.SHA256()))
    tbs = cert.tbs_certificate_bytes
    assert tbs.count(bytes.fromhex("0603551d63")) == 1
    tbs = tbs.replace(bytes.fromhex("0603551d63"), bytes.fromhex("0603551d0f"))
    ecdsa_with_sha256 = _der(0x30, _der(0x06, bytes.fromhex("2a8648ce3d040302")))
    der = _der(0x30, tbs + ecdsa_with_sha256 + _der(0x03, b"\x00" + key.sign(tbs, ec.ECDSA(hashes.SHA256()))))
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return SigningKey.from_pem(pem), der


@case(SIGNATURE, "security.certificate.untrusted")
def certificate_key_usage_twice(kit: Kit) -> Attack:
    """An outsider's self-signed certificate with keyUsage twice, the message validly signed with its key.

    cryptography raises ``DuplicateExtension`` reading it: before, that escaped the trust check as
    a retryable ``server.unavailable`` with an ERROR log line per request."""
    return _signed_by_outsider(kit, *_certificate_with_key_usage_twice())


@case(SIGNATURE, "security.certificate.untrusted")
def foreign_ca(kit: Kit) -> Attack:
    """A member of another CA (FOREIGN01), validly signed with its own key."""
    return kit.seal("FOREIGN01").attack()


@case(SIGNATURE, "security.certificate.untrusted", needs_openssl=True)
def self_signed_unsupported_curve(kit: Kit) -> Attack:
    """A self-signed 'CLINIC01' certificate on prime239v1: OpenSSL signs, cryptography cannot load it."""
    return _signed_by_outsider(kit, *kit.openssl_member("prime239v1"))


@case(SIGNATURE, "security.certificate.expired")
def expired_certificate(kit: Kit) -> Attack:
    """Signed by EXPIRED01, whose certificate ended yesterday."""
    return kit.seal("EXPIRED01").attack()


@case(SIGNATURE, "security.certificate.expired")
def certificate_not_yet_valid(kit: Kit) -> Attack:
    """Signed by NOTYET01, whose certificate starts tomorrow."""
    return kit.seal("NOTYET01").attack()


@case(SIGNATURE, "security.certificate.revoked")
def revoked_certificate(kit: Kit) -> Attack:
    """Signed by REVOKED01, listed in the hub CRL (keyCompromise)."""
    return kit.seal("REVOKED01").attack()


@case(SIGNATURE, "security.certificate.usage")
def no_signing_key_usage(kit: Kit) -> Attack:
    """Signed by NOSIGN01, whose key usage is keyEncipherment only."""
    return kit.seal("NOSIGN01").attack()


@case(SIGNATURE, "security.sender.mismatch", valid_signature=True)
def sender_mismatch(kit: Kit) -> Attack:
    """CLINIC01 signs a message whose wsa:From names HOSP01."""
    msg = kit.seal()
    msg.wsa("From")[0].text = "urn:hie:org:HOSP01"
    return msg.resign().attack()


@case(SIGNATURE, "security.signature.invalid")
def signature_value_tampered(kit: Kit) -> Attack:
    """One bit of the SignatureValue flipped."""
    msg = kit.seal()
    value = msg.sig.find(q(DS, "SignatureValue"))
    raw = base64.b64decode("".join(value.text.split()))
    value.text = b64(raw[:10] + bytes([raw[10] ^ 0x01]) + raw[11:])
    return msg.attack()


@case(SIGNATURE, "security.signature.invalid")
def digest_tampered(kit: Kit) -> Attack:
    """The Body's DigestValue replaced by the digest of other content."""
    msg = kit.seal()
    msg.sig.find(f".//{q(DS, 'DigestValue')}").text = b64(hashlib.sha256(b"EVIL").digest())
    return msg.attack()


@case(SIGNATURE, "security.signature.invalid")
def body_changed_after_signing(kit: Kit) -> Attack:
    """The Body's EncryptedData replaced by the attacker's, signature untouched."""
    msg = kit.seal()
    evil = kit.attacker_body(msg)[0]
    evil.set("Id", msg.ed.get("Id"))
    msg.body.replace(msg.ed, evil)
    return msg.attack()


@case(SIGNATURE, "security.signature.invalid")
def token_swapped(kit: Kit) -> Attack:
    """CLINIC01's signature presented with HOSP01's certificate in the BinarySecurityToken."""
    msg = kit.seal()
    msg.token.text = b64(kit.members["HOSP01"].cert_der)
    return msg.attack()


@case(SIGNATURE, "security.header.invalid")
def key_info_not_token(kit: Kit) -> Attack:
    """KeyInfo's SecurityTokenReference points at an id that is not the BinarySecurityToken."""
    msg = kit.seal()
    msg.sig.find(f".//{q(WSSE, 'Reference')}").set("URI", "#" + msg.body.get(WSU_ID))
    return msg.attack()


@case(SIGNATURE, "security.header.invalid")
def key_info_x509_data(kit: Kit) -> Attack:
    """KeyInfo carries the signer's certificate inline (X509Data) instead of referencing the token."""
    msg = kit.seal()
    key_info = msg.sig.find(q(DS, "KeyInfo"))
    for child in list(key_info):
        key_info.remove(child)
    etree.SubElement(etree.SubElement(key_info, q(DS, "X509Data")), q(DS, "X509Certificate")).text = msg.token.text
    return msg.attack()


@case(SIGNATURE, "security.header.invalid", valid_signature=True)
def empty_message_id(kit: Kit) -> Attack:
    """A validly signed message whose wsa:MessageID is blank."""
    msg = kit.seal()
    msg.wsa("MessageID").text = "  "
    return msg.resign().attack()


@case(SIGNATURE, "security.header.invalid", valid_signature=True)
def oversized_message_id(kit: Kit) -> Attack:
    """A validly signed 300-character MessageID (columns hold 200)."""
    msg = kit.seal(message_id="urn:uuid:" + "7" * 291)
    return msg.attack()
