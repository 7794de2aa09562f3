"""XML Encryption 1.1 for the profile: AES-GCM data, RSA-OAEP key transport (``cryptography``).

This is the one module that decrypts. Algorithms are checked against the policy before any
key is touched; every failure after that raises the single code ``security.decryption.failed``
and takes the same path (an unwrap failure continues with a random key so the timing of a bad
key and a bad tag match). Nothing decrypted is ever logged.
"""
from __future__ import annotations

import base64
import binascii
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from lxml import etree

from .errors import SecurityError
from .ns import (
    CONCAT_KDF,
    DS,
    DSIG11,
    ECDH_ES,
    ENC_CONTENT,
    MGF1_SHA1,
    MGF1_SHA256,
    OAEP_DIGEST_SHA1,
    OAEP_DIGEST_SHA256,
    P256_URN,
    XENC,
    XENC11,
    DataEncryption,
    Digest,
    KeyTransport,
    KeyWrap,
    q,
)
from .policy import DEFAULT_POLICY, Policy
from .recipient import check_recipient

_HASHES = {OAEP_DIGEST_SHA1: hashes.SHA1, OAEP_DIGEST_SHA256: hashes.SHA256,
           MGF1_SHA1: hashes.SHA1, MGF1_SHA256: hashes.SHA256}
_IV_LEN = 12
_TAG_LEN = 16


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes:
    if not text:
        raise SecurityError("security.decryption.failed", "empty CipherValue")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SecurityError("security.decryption.failed", "CipherValue is not base64") from None


def _cipher_value(parent: etree._Element) -> bytes:
    values = parent.findall(f"{q(XENC, 'CipherData')}/{q(XENC, 'CipherValue')}")
    if len(values) != 1 or len(parent.findall(q(XENC, "CipherData"))) != 1:
        raise SecurityError("security.decryption.failed", "expected one CipherData/CipherValue")
    return _unb64(values[0].text)


def _method(parent: etree._Element) -> etree._Element:
    methods = parent.findall(q(XENC, "EncryptionMethod"))
    if len(methods) != 1:
        raise SecurityError("security.algorithm.forbidden", "expected one EncryptionMethod")
    return methods[0]


# ---------------------------------------------------------------- sender side

def encrypt_content(plaintext: bytes, *, data_id: str,
                    algorithm: DataEncryption = DataEncryption.AES256_GCM) -> tuple[bytes, etree._Element]:
    """Encrypt element content; return the fresh content key and the EncryptedData element."""
    key = os.urandom(algorithm.key_size)
    iv = os.urandom(_IV_LEN)
    sealed = AESGCM(key).encrypt(iv, plaintext, None)
    data = etree.Element(q(XENC, "EncryptedData"), {"Id": data_id, "Type": ENC_CONTENT}, nsmap={"xenc": XENC})
    etree.SubElement(data, q(XENC, "EncryptionMethod"), Algorithm=algorithm.value)
    cipher = etree.SubElement(data, q(XENC, "CipherData"))
    etree.SubElement(cipher, q(XENC, "CipherValue")).text = _b64(iv + sealed)
    return key, data


def wrap_key(key: bytes, recipient: x509.Certificate, *, key_id: str, data_ids: tuple[str, ...] = (),
             transport: KeyTransport = KeyTransport.RSA_OAEP_MGF1P) -> etree._Element:
    """Build an EncryptedKey carrying ``key`` for the recipient's certificate.

    RSA recipients get RSA-OAEP key transport; EC P-256 recipients get ECDH-ES key agreement
    (ephemeral key, ConcatKDF with SHA-256) and AES-256 key wrap, as XML Encryption 1.1 defines.
    """
    public_key = recipient.public_key()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return _wrap_key_ecdh(key, recipient, key_id=key_id, data_ids=data_ids)
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("recipient certificate must hold an RSA or EC P-256 key")
    if transport is KeyTransport.RSA_OAEP_MGF1P:
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    else:
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    wrapped = public_key.encrypt(key, oaep)
    ek = etree.Element(q(XENC, "EncryptedKey"), {"Id": key_id}, nsmap={"xenc": XENC, "ds": DS})
    method = etree.SubElement(ek, q(XENC, "EncryptionMethod"), Algorithm=transport.value)
    if transport is KeyTransport.RSA_OAEP_MGF1P:
        etree.SubElement(method, q(DS, "DigestMethod"), Algorithm=OAEP_DIGEST_SHA1)
    else:
        etree.SubElement(method, q(DS, "DigestMethod"), Algorithm=OAEP_DIGEST_SHA256)
        etree.SubElement(method, q(XENC11, "MGF"), nsmap={"xenc11": XENC11}, Algorithm=MGF1_SHA256)
    _issuer_serial(etree.SubElement(ek, q(DS, "KeyInfo")), recipient)
    _finish_key(ek, wrapped, data_ids)
    return ek


def _issuer_serial(parent: etree._Element, cert: x509.Certificate) -> None:
    serial = etree.SubElement(etree.SubElement(parent, q(DS, "X509Data")), q(DS, "X509IssuerSerial"))
    etree.SubElement(serial, q(DS, "X509IssuerName")).text = cert.issuer.rfc4514_string()
    etree.SubElement(serial, q(DS, "X509SerialNumber")).text = str(cert.serial_number)


def _finish_key(ek: etree._Element, wrapped: bytes, data_ids: tuple[str, ...]) -> None:
    cipher = etree.SubElement(ek, q(XENC, "CipherData"))
    etree.SubElement(cipher, q(XENC, "CipherValue")).text = _b64(wrapped)
    if data_ids:
        refs = etree.SubElement(ek, q(XENC, "ReferenceList"))
        for data_id in data_ids:
            etree.SubElement(refs, q(XENC, "DataReference"), URI="#" + data_id)


def _kek(shared: bytes) -> bytes:
    # AlgorithmID, PartyUInfo and PartyVInfo are all the empty bit string ("00").
    return ConcatKDFHash(algorithm=hashes.SHA256(), length=32, otherinfo=b"").derive(shared)


def _wrap_key_ecdh(key: bytes, recipient: x509.Certificate, *, key_id: str,
                   data_ids: tuple[str, ...]) -> etree._Element:
    public_key = recipient.public_key()
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise ValueError("only EC P-256 recipients are supported")
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    wrapped = aes_key_wrap(_kek(ephemeral.exchange(ec.ECDH(), public_key)), key)
    ek = etree.Element(q(XENC, "EncryptedKey"), {"Id": key_id},
                       nsmap={"xenc": XENC, "xenc11": XENC11, "ds": DS, "dsig11": DSIG11})
    etree.SubElement(ek, q(XENC, "EncryptionMethod"), Algorithm=KeyWrap.AES256_KW.value)
    agreement = etree.SubElement(etree.SubElement(ek, q(DS, "KeyInfo")), q(XENC, "AgreementMethod"), Algorithm=ECDH_ES)
    kdf = etree.SubElement(agreement, q(XENC11, "KeyDerivationMethod"), Algorithm=CONCAT_KDF)
    params = etree.SubElement(kdf, q(XENC11, "ConcatKDFParams"), AlgorithmID="00", PartyUInfo="00", PartyVInfo="00")
    etree.SubElement(params, q(DS, "DigestMethod"), Algorithm=Digest.SHA256.value)
    ec_value = etree.SubElement(etree.SubElement(etree.SubElement(agreement, q(XENC, "OriginatorKeyInfo")),
                                                 q(DS, "KeyValue")), q(DSIG11, "ECKeyValue"))
    etree.SubElement(ec_value, q(DSIG11, "NamedCurve"), URI=P256_URN)
    etree.SubElement(ec_value, q(DSIG11, "PublicKey")).text = _b64(
        ephemeral.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))
    _issuer_serial(etree.SubElement(agreement, q(XENC, "RecipientKeyInfo")), recipient)
    _finish_key(ek, wrapped, data_ids)
    return ek


def _unwrap_ecdh(ek: etree._Element, private_key) -> bytes | None:
    """Recover a key wrapped by ``_wrap_key_ecdh``; None on any failure (caller fails uniformly)."""
    agreement = ek.find(f"{q(DS, 'KeyInfo')}/{q(XENC, 'AgreementMethod')}")
    if agreement is None or agreement.get("Algorithm") != ECDH_ES:
        raise SecurityError("security.algorithm.forbidden", "key agreement must be ECDH-ES")
    kdf = agreement.find(q(XENC11, "KeyDerivationMethod"))
    params = kdf.find(q(XENC11, "ConcatKDFParams")) if kdf is not None else None
    digest = params.find(q(DS, "DigestMethod")) if params is not None else None
    if (kdf is None or kdf.get("Algorithm") != CONCAT_KDF or digest is None
            or digest.get("Algorithm") != Digest.SHA256.value
            or any(params.get(name) != "00" for name in ("AlgorithmID", "PartyUInfo", "PartyVInfo"))):
        raise SecurityError("security.algorithm.forbidden", "ConcatKDF with SHA-256 and empty parties required")
    point = agreement.findtext(f"{q(XENC, 'OriginatorKeyInfo')}/{q(DS, 'KeyValue')}/{q(DSIG11, 'ECKeyValue')}/{q(DSIG11, 'PublicKey')}")
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        return None
    try:
        originator = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(point))
        return aes_key_unwrap(_kek(private_key.exchange(ec.ECDH(), originator)), _cipher_value(ek))
    except (ValueError, InvalidUnwrap, SecurityError):
        return None


# ---------------------------------------------------------------- recipient side

def check_key_transport(ek: etree._Element, *, policy: Policy = DEFAULT_POLICY) -> padding.OAEP:
    """Check an EncryptedKey's algorithms against the policy; return the OAEP padding to use."""
    method = _method(ek)
    algorithm = method.get("Algorithm")
    if algorithm not in policy.key_transport:
        raise SecurityError("security.algorithm.forbidden", "key transport not allowed")
    digests = method.findall(q(DS, "DigestMethod"))
    mgfs = method.findall(q(XENC11, "MGF"))
    if len(digests) > 1 or len(mgfs) > 1 or len(method) != len(digests) + len(mgfs) + len(method.findall(q(XENC, "OAEPparams"))):
        raise SecurityError("security.algorithm.forbidden", "unexpected EncryptionMethod content")
    digest = digests[0].get("Algorithm") if digests else OAEP_DIGEST_SHA1
    if algorithm == KeyTransport.RSA_OAEP_MGF1P.value:
        if mgfs:
            raise SecurityError("security.algorithm.forbidden", "MGF is fixed for rsa-oaep-mgf1p")
        mgf = MGF1_SHA1
    else:
        mgf = mgfs[0].get("Algorithm") if mgfs else MGF1_SHA1
    if digest not in policy.oaep_digests or mgf not in policy.oaep_mgfs:
        raise SecurityError("security.algorithm.forbidden", "OAEP digest or MGF not allowed")
    params = method.find(q(XENC, "OAEPparams"))
    label = _unb64(params.text) if params is not None else None
    return padding.OAEP(mgf=padding.MGF1(_HASHES[mgf]()), algorithm=_HASHES[digest](), label=label)


def check_data_encryption(data: etree._Element, *, policy: Policy = DEFAULT_POLICY) -> DataEncryption:
    """Check an EncryptedData's algorithm against the policy."""
    algorithm = _method(data).get("Algorithm")
    if algorithm not in policy.data_encryption:
        raise SecurityError("security.algorithm.forbidden", "data encryption not allowed")
    if len(_method(data)):
        raise SecurityError("security.algorithm.forbidden", "unexpected EncryptionMethod content")
    return DataEncryption(algorithm)


def decrypt(data: etree._Element, ek: etree._Element, *, private_key,
            recipient: x509.Certificate, policy: Policy = DEFAULT_POLICY) -> bytes:
    """Check the algorithms and the recipient, then unwrap the content key and decrypt EncryptedData.

    Algorithms outside the policy are ``security.algorithm.forbidden`` and a KeyInfo that does not
    name ``recipient`` is ``security.recipient.unknown``; after that, one code for every failure.
    """
    algorithm = check_data_encryption(data, policy=policy)
    blob = _cipher_value(data)
    key = None
    if _method(ek).get("Algorithm") == KeyWrap.AES256_KW.value and policy.allow_key_agreement:
        key = _unwrap_ecdh(ek, private_key)
    else:
        oaep = check_key_transport(ek, policy=policy)
        check_recipient(ek, recipient)  # its own code: the KeyInfo is public, naming it reveals no key
        wrapped = _cipher_value(ek)
        if isinstance(private_key, rsa.RSAPrivateKey):
            try:
                key = private_key.decrypt(wrapped, oaep)
            except ValueError:
                key = None
    if key is None or len(key) != algorithm.key_size:
        key = os.urandom(algorithm.key_size)  # keep going: same path, same timing, then fail
    if len(blob) < _IV_LEN + _TAG_LEN:
        raise SecurityError("security.decryption.failed", "ciphertext too short")
    try:
        return AESGCM(key).decrypt(blob[:_IV_LEN], blob[_IV_LEN:], None)
    except Exception:  # InvalidTag and friends: never say which part was wrong
        raise SecurityError("security.decryption.failed", "authentication failed") from None


__all__ = ["encrypt_content", "wrap_key", "decrypt", "check_key_transport", "check_data_encryption",
           "check_recipient"]
