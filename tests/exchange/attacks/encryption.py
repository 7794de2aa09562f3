"""Encryption attacks: a valid member signs what it sends, so only decryption can refuse.

Forbidden key transport and content algorithms, tampered GCM tags and wrapped keys, keys wrapped
for someone else, EncryptedKeys whose KeyInfo does not name the hub's encryption certificate by
issuer and serial (protocol.recipient), key size and ciphertext length mismatches, EncryptedData outside the signature,
plaintexts that are not XML, hold an entity or a comment, or carry another operation.
"""
from __future__ import annotations

import copy
import os

from lxml import etree

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from protocol.ns import DS, HIE, WSSE, XENC, q

from .. import builders
from .kit import AES128_GCM, AES256_CBC, ENCRYPTION, MD5, RSA_1_5, Attack, Kit, b64, case, header_block


@case(ENCRYPTION, "security.algorithm.forbidden", authenticated=True, valid_signature=True)
def rsa_1_5_key_transport(kit: Kit) -> Attack:
    """Content key wrapped with RSA PKCS#1 v1.5 (Bleichenbacher oracle), signed by the member."""
    msg = kit.seal()
    return msg.reencrypt(kit.plaintext(msg), recipient=kit.hub_cert, transport=RSA_1_5).resign().attack()


@case(ENCRYPTION, "security.algorithm.forbidden", authenticated=True, valid_signature=True)
def aes_cbc_data(kit: Kit) -> Attack:
    """Body encrypted with AES-256-CBC (padding oracle), signed by the member."""
    msg = kit.seal()
    return msg.reencrypt(kit.plaintext(msg), recipient=kit.hub_cert, data_alg=AES256_CBC).resign().attack()


@case(ENCRYPTION, "security.algorithm.forbidden", authenticated=True, valid_signature=True)
def oaep_md5_digest(kit: Kit) -> Attack:
    """OAEP with an MD5 DigestMethod named in EncryptionMethod."""
    msg = kit.seal()
    return msg.reencrypt(kit.plaintext(msg), recipient=kit.hub_cert, oaep_digest=MD5).resign().attack()


@case(ENCRYPTION, "security.algorithm.forbidden", authenticated=True, valid_signature=True)
def ecdh_key_agreement(kit: Kit) -> Attack:
    """ECDH-ES key agreement + AES key wrap in a request (the profile allows it only in replies)."""
    return kit.seal(recipient=kit.members["HOSP01"].certificate).attack()


@case(ENCRYPTION, "security.decryption.failed", authenticated=True, valid_signature=True)
def tampered_gcm_tag(kit: Kit) -> Attack:
    """Last byte of the GCM tag flipped, then signed by the member."""
    msg = kit.seal()
    return msg.reencrypt(kit.plaintext(msg), recipient=kit.hub_cert, tamper_tag=True).resign().attack()


@case(ENCRYPTION, "security.decryption.failed", authenticated=True, valid_signature=True)
def tampered_wrapped_key(kit: Kit) -> Attack:
    """First byte of the RSA-OAEP wrapped key flipped, then signed by the member."""
    msg = kit.seal()
    return msg.reencrypt(kit.plaintext(msg), recipient=kit.hub_cert, tamper_key=True).resign().attack()


@case(ENCRYPTION, "security.recipient.unknown", authenticated=True, valid_signature=True)
def wrong_recipient(kit: Kit) -> Attack:
    """HOSP01 seals for CLINIC01's certificate instead of the hub's encryption certificate."""
    return kit.seal("HOSP01", recipient=kit.members["CLINIC01"].certificate).attack()


@case(ENCRYPTION, "security.decryption.failed", authenticated=True, valid_signature=True)
def wrong_recipient_claiming_hub(kit: Kit) -> Attack:
    """Key wrapped for CLINIC01 while the EncryptedKey's IssuerSerial names the hub certificate."""
    msg = kit.seal("HOSP01", recipient=kit.members["CLINIC01"].certificate)
    msg.ek.find(f".//{q(DS, 'X509SerialNumber')}").text = str(kit.hub_cert.serial_number)
    return msg.resign().attack()


def _key_info(msg, *children) -> None:
    """Replace the EncryptedKey's KeyInfo content (the key stays wrapped for the hub)."""
    key_info = msg.ek.find(q(DS, "KeyInfo"))
    for child in list(key_info):
        key_info.remove(child)
    key_info.extend(children)


def _issuer_serial(issuer: str, serial: int) -> etree._Element:
    data = etree.Element(q(DS, "X509Data"))
    pair = etree.SubElement(data, q(DS, "X509IssuerSerial"))
    etree.SubElement(pair, q(DS, "X509IssuerName")).text = issuer
    etree.SubElement(pair, q(DS, "X509SerialNumber")).text = str(serial)
    return data


@case(ENCRYPTION, "security.recipient.unknown", authenticated=True, valid_signature=True)
def recipient_other_issuer_same_serial(kit: Kit) -> Attack:
    """Key wrapped for the hub; IssuerSerial has the hub certificate's serial under another CA's name."""
    msg = kit.seal()
    other = kit.members["FOREIGN01"].certificate.issuer.rfc4514_string()
    assert other != kit.hub_cert.issuer.rfc4514_string()
    _key_info(msg, _issuer_serial(other, kit.hub_cert.serial_number))
    return msg.resign().attack()


@case(ENCRYPTION, "security.recipient.unknown", authenticated=True, valid_signature=True)
def recipient_not_named(kit: Kit) -> Attack:
    """Key wrapped for the hub, but the EncryptedKey has no KeyInfo at all."""
    msg = kit.seal()
    msg.ek.remove(msg.ek.find(q(DS, "KeyInfo")))
    return msg.resign().attack()


@case(ENCRYPTION, "security.recipient.unknown", authenticated=True, valid_signature=True)
def recipient_by_thumbprint(kit: Kit) -> Attack:
    """Key wrapped for the hub, named by a SecurityTokenReference with its SHA-1 thumbprint (not accepted)."""
    msg = kit.seal()
    reference = etree.Element(q(WSSE, "SecurityTokenReference"))
    etree.SubElement(reference, q(WSSE, "KeyIdentifier"), ValueType=(
        "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#ThumbprintSHA1")).text = b64(
        kit.hub_cert.fingerprint(hashes.SHA1()))
    _key_info(msg, reference)
    return msg.resign().attack()


@case(ENCRYPTION, "security.recipient.unknown", authenticated=True, valid_signature=True)
def recipient_other_certificate(kit: Kit) -> Attack:
    """Key wrapped for the hub; KeyInfo carries CLINIC01's X509Certificate instead of the hub's."""
    msg = kit.seal()
    data = etree.Element(q(DS, "X509Data"))
    etree.SubElement(data, q(DS, "X509Certificate")).text = b64(
        kit.members["CLINIC01"].certificate.public_bytes(Encoding.DER))
    _key_info(msg, data)
    return msg.resign().attack()


@case(ENCRYPTION, "security.recipient.unknown", authenticated=True, valid_signature=True)
def recipient_named_twice(kit: Kit) -> Attack:
    """The hub's IssuerSerial, then a second X509Data naming CLINIC01: one identification only."""
    msg = kit.seal()
    clinic = kit.members["CLINIC01"].certificate
    _key_info(msg, _issuer_serial(kit.hub_cert.issuer.rfc4514_string(), kit.hub_cert.serial_number),
              _issuer_serial(clinic.issuer.rfc4514_string(), clinic.serial_number))
    return msg.resign().attack()


@case(ENCRYPTION, "security.decryption.failed", authenticated=True, valid_signature=True)
def key_size_mismatch(kit: Kit) -> Attack:
    """EncryptionMethod aes128-gcm while the wrapped key is 32 bytes."""
    msg = kit.seal()
    msg.reencrypt(kit.plaintext(msg), recipient=kit.hub_cert, key_size=32)
    msg.ed.find(q(XENC, "EncryptionMethod")).set("Algorithm", AES128_GCM)
    return msg.resign().attack()


@case(ENCRYPTION, "security.decryption.failed", authenticated=True, valid_signature=True)
def truncated_ciphertext(kit: Kit) -> Attack:
    """A CipherValue shorter than IV + tag."""
    msg = kit.seal()
    msg.ed.find(f".//{q(XENC, 'CipherValue')}").text = b64(os.urandom(20))
    return msg.resign().attack()


@case(ENCRYPTION, "security.signature.incomplete", valid_signature=True)
def encrypted_data_outside_signature(kit: Kit) -> Attack:
    """The signed EncryptedKey's DataReference points to an EncryptedData in an unsigned header block."""
    msg = kit.seal()
    stray = copy.deepcopy(kit.attacker_body(msg)[0])
    header_block(msg, "Stash").append(stray)
    msg.ek.find(f".//{q(XENC, 'DataReference')}").set("URI", "#" + stray.get("Id"))
    return msg.resign().attack()


@case(ENCRYPTION, "security.decryption.failed", authenticated=True, valid_signature=True)
def plaintext_not_xml(kit: Kit) -> Attack:
    """Correctly encrypted and signed, but the plaintext is not XML."""
    msg = kit.seal()
    return msg.reencrypt(f"{msg.marker} is not XML <<<".encode(), recipient=kit.hub_cert).resign().attack()


@case(ENCRYPTION, "security.decryption.failed", authenticated=True, valid_signature=True)
def plaintext_with_xxe(kit: Kit) -> Attack:
    """Encrypted plaintext with an external entity: the plaintext goes through the same hardened parser."""
    msg = kit.seal()
    plaintext = (f'<!DOCTYPE hie:SubmitDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                 f'<hie:SubmitDocument xmlns:hie="{HIE}"><hie:Document><Note>{msg.marker}&xxe;</Note>'
                 f'</hie:Document></hie:SubmitDocument>').encode()
    return msg.reencrypt(plaintext, recipient=kit.hub_cert).resign().attack(None, "root:")


@case(ENCRYPTION, "security.decryption.failed", authenticated=True, valid_signature=True)
def plaintext_with_comment(kit: Kit) -> Attack:
    """Encrypted plaintext holding a comment."""
    msg = kit.seal()
    plaintext = kit.plaintext(msg).replace(msg.marker.encode(), msg.marker.encode() + b"<!--EVIL-->")
    return msg.reencrypt(plaintext, recipient=kit.hub_cert).resign().attack()


@case(ENCRYPTION, "soap.operation.unknown", authenticated=True, valid_signature=True)
def plaintext_other_operation(kit: Kit) -> Attack:
    """wsa:Action SubmitDocument while the encrypted content is a GetStatus."""
    msg = kit.seal()
    status = etree.tostring(builders.operation("GetStatus", MessageId=msg.marker))
    return msg.reencrypt(status, recipient=kit.hub_cert).resign().attack()
