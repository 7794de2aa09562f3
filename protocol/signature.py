"""XML Signature for the profile: the one place that signs and verifies.

Members' messages are signed with python-xmlsec (libxmlsec1, the same engine as the ``xmlsec1``
tool integrators test against). Verification is strict and explicit: only ``#id`` references,
each id unique in the whole document, allowlisted algorithms and transforms, bounded counts;
then each digest is computed over the exact element object that was resolved, and the caller
learns exactly which elements were digested (``SignedReferences.elements``) and must use only
those. The hub's receipts are signed by ``sign_enveloped`` (same algorithms, no libxmlsec
context per receipt); tests verify them with libxmlsec too.
"""
from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import xmlsec
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from lxml import etree

from .errors import SecurityError
from .ns import DS, WSU, Digest, SignatureMethod, Transform, q
from .policy import DEFAULT_POLICY, Policy

ID_ATTRIBUTES = (q(WSU, "Id"), "Id", "ID", "id", "{http://www.w3.org/XML/1998/namespace}id")
_DS_SIGNEDINFO = q(DS, "SignedInfo")
_DS_SIGNATUREVALUE = q(DS, "SignatureValue")
_DS_CANONICALIZATIONMETHOD = q(DS, "CanonicalizationMethod")
_DS_SIGNATUREMETHOD = q(DS, "SignatureMethod")
_DS_REFERENCE = q(DS, "Reference")
_DS_DIGESTMETHOD = q(DS, "DigestMethod")
_DS_DIGESTVALUE = q(DS, "DigestValue")
_DS_TRANSFORM_PATH = f"{q(DS, 'Transforms')}/{q(DS, 'Transform')}"
_ID_REF = re.compile(r"^#([A-Za-z_][A-Za-z0-9_.\-]{0,127})$")
_SIGN_TRANSFORMS = {
    SignatureMethod.RSA_SHA256: xmlsec.constants.TransformRsaSha256,
    SignatureMethod.ECDSA_SHA256: xmlsec.constants.TransformEcdsaSha256,
}


_ID_VALUES = etree.XPath(" | ".join(f"descendant-or-self::*/@{name}" for name in ("wsu:Id", "Id", "ID", "id", "xml:id")),
                         namespaces={"wsu": WSU})


def id_map(root: etree._Element) -> dict[str, etree._Element]:
    """Map every id-like attribute value in ``root``'s subtree to its element; a duplicate is an attack."""
    found: dict[str, etree._Element] = {}
    for value in _ID_VALUES(root):
        if value in found:
            raise SecurityError("security.signature.wrapping", "duplicate id")
        found[str(value)] = value.getparent()
    return found


def _id_attribute(element: etree._Element) -> tuple[str, str | None]:
    for name in ID_ATTRIBUTES:
        if element.get(name) is not None:
            if name.startswith("{"):
                ns, local = name[1:].split("}")
                return local, ns
            return name, None
    raise ValueError("element has no id attribute")


def _register_ids(ctx: xmlsec.SignatureContext, elements) -> None:
    for element in elements:
        name, ns = _id_attribute(element)
        ctx.register_id(element, name, ns)


# ---------------------------------------------------------------- signing

@dataclass(frozen=True)
class SigningKey:
    """A private key loaded once for xmlsec, with the signature method it implies."""

    key: xmlsec.Key
    method: SignatureMethod
    private: object = None  # the same key for ``cryptography`` (``sign_enveloped``)

    @classmethod
    def from_pem(cls, pem: bytes, *, private=None) -> "SigningKey":
        """``private``: the same key already loaded by ``cryptography`` (loading an RSA key checks it,
        which costs tens of milliseconds: done once)."""
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        private = private if private is not None else load_pem_private_key(pem, password=None)
        if isinstance(private, rsa.RSAPrivateKey):
            method = SignatureMethod.RSA_SHA256
        elif isinstance(private, ec.EllipticCurvePrivateKey):
            method = SignatureMethod.ECDSA_SHA256
        else:
            raise ValueError("only RSA and EC P-256 keys are supported")
        return cls(key=xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatPem), method=method, private=private)


def key_info_of(signature: etree._Element) -> etree._Element:
    """The KeyInfo of a signature made by ``sign``.

    lxml's find() can miss nodes that libxmlsec created (their names are not interned in the
    document's dictionary), so this compares tags while iterating.
    """
    for child in signature:
        if child.tag == q(DS, "KeyInfo"):
            return child
    raise ValueError("signature has no KeyInfo")


def sign(parent: etree._Element, targets: list[etree._Element], *, key: SigningKey,
         enveloped: bool = False, index: int | None = None) -> etree._Element:
    """Append (or insert at ``index``) a ds:Signature over ``targets`` (referenced by their ids)."""
    signature = xmlsec.template.create(parent, xmlsec.constants.TransformExclC14N,
                                       _SIGN_TRANSFORMS[key.method], ns="ds")
    if index is None:
        parent.append(signature)
    else:
        parent.insert(index, signature)
    for target in targets:
        name, ns = _id_attribute(target)
        ref_id = target.get(f"{{{ns}}}{name}" if ns else name)
        ref = xmlsec.template.add_reference(signature, xmlsec.constants.TransformSha256, uri="#" + ref_id)
        if enveloped:
            xmlsec.template.add_transform(ref, xmlsec.constants.TransformEnveloped)
        xmlsec.template.add_transform(ref, xmlsec.constants.TransformExclC14N)
    xmlsec.template.ensure_key_info(signature)
    ctx = xmlsec.SignatureContext()
    ctx.key = key.key
    _register_ids(ctx, targets)
    ctx.sign(signature)
    return signature


def sign_enveloped(element: etree._Element, *, key: SigningKey) -> etree._Element:
    """Append an enveloped ds:Signature over ``element`` (its ``Id``), the hub's hot path.

    Produces what ``sign(..., enveloped=True)`` produces — exc-c14n, SHA-256 digest, RSA-SHA256 or
    ECDSA-SHA256 (raw r‖s) — straight from lxml c14n and ``cryptography``.
    """
    digest = hashlib.sha256(c14n(element)).digest()
    signature = etree.SubElement(element, q(DS, "Signature"), nsmap={"ds": DS})
    info = etree.SubElement(signature, _DS_SIGNEDINFO)
    etree.SubElement(info, _DS_CANONICALIZATIONMETHOD, Algorithm=Transform.EXCLUSIVE_C14N.value)
    etree.SubElement(info, _DS_SIGNATUREMETHOD, Algorithm=key.method.value)
    reference = etree.SubElement(info, _DS_REFERENCE, URI="#" + element.get("Id"))
    transforms = etree.SubElement(reference, q(DS, "Transforms"))
    etree.SubElement(transforms, q(DS, "Transform"), Algorithm=Transform.ENVELOPED.value)
    etree.SubElement(transforms, q(DS, "Transform"), Algorithm=Transform.EXCLUSIVE_C14N.value)
    etree.SubElement(reference, _DS_DIGESTMETHOD, Algorithm=Digest.SHA256.value)
    etree.SubElement(reference, _DS_DIGESTVALUE).text = base64.b64encode(digest).decode("ascii")
    value = signature_value(key, c14n(info))
    etree.SubElement(signature, _DS_SIGNATUREVALUE).text = base64.b64encode(value).decode("ascii")
    etree.SubElement(signature, q(DS, "KeyInfo"))
    return signature


def signature_value(key: SigningKey, signed_info_c14n: bytes) -> bytes:
    """SignatureValue bytes over canonical SignedInfo: RSA-SHA256 (PKCS#1 v1.5) or ECDSA-SHA256 as raw r‖s."""
    if key.method is SignatureMethod.ECDSA_SHA256:
        r, s_ = decode_dss_signature(key.private.sign(signed_info_c14n, ec.ECDSA(hashes.SHA256())))
        size = (key.private.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s_.to_bytes(size, "big")
    return key.private.sign(signed_info_c14n, padding.PKCS1v15(), hashes.SHA256())


# ---------------------------------------------------------------- verification

@dataclass(frozen=True)
class SignedReferences:
    """What a verified signature covers: the exact element objects that were digested."""

    elements: tuple[etree._Element, ...]
    method: str
    references: tuple[etree._Element, ...] = ()

    def covers(self, element: etree._Element) -> bool:
        return any(element is signed for signed in self.elements)


def check_signed_info(signature: etree._Element, ids: dict[str, etree._Element], *,
                      policy: Policy = DEFAULT_POLICY, allow_enveloped: bool = False) -> SignedReferences:
    """Check SignedInfo against the policy and resolve each reference to one element."""
    infos = signature.findall(_DS_SIGNEDINFO)
    if len(infos) != 1 or len(signature.findall(_DS_SIGNATUREVALUE)) != 1:
        raise SecurityError("security.signature.invalid", "malformed Signature")
    info = infos[0]
    c14n = info.findall(_DS_CANONICALIZATIONMETHOD)
    method = info.findall(_DS_SIGNATUREMETHOD)
    if len(c14n) != 1 or len(method) != 1:
        raise SecurityError("security.signature.invalid", "malformed SignedInfo")
    if c14n[0].get("Algorithm") not in policy.canonicalizations:
        raise SecurityError("security.algorithm.forbidden", "canonicalization")
    if method[0].get("Algorithm") not in policy.signature_methods:
        raise SecurityError("security.algorithm.forbidden", "signature method")
    if len(method[0]):
        raise SecurityError("security.algorithm.forbidden", "HMACOutputLength or parameters")
    references = info.findall(_DS_REFERENCE)
    if not references or len(references) > policy.max_references:
        raise SecurityError("security.signature.invalid", "reference count out of bounds")
    if len(info) != 2 + len(references):
        raise SecurityError("security.signature.invalid", "unexpected SignedInfo content")
    allowed = policy.reference_transforms | ({Transform.ENVELOPED.value} if allow_enveloped else set())
    elements = []
    for reference in references:
        match = _ID_REF.match(reference.get("URI") or "")
        if match is None:
            raise SecurityError("security.algorithm.forbidden", "only same-document #id references")
        if reference.get("Type") is not None and reference.get("Type").startswith("http://www.w3.org/2000/09/xmldsig#Manifest"):
            raise SecurityError("security.algorithm.forbidden", "manifests")
        transforms = reference.findall(_DS_TRANSFORM_PATH)
        if len(transforms) > policy.max_transforms:
            raise SecurityError("security.algorithm.forbidden", "too many transforms")
        for transform in transforms:
            if transform.get("Algorithm") not in allowed:
                raise SecurityError("security.algorithm.forbidden", "transform")
        # Exactly exc-c14n, optionally after enveloped-signature: no transforms at all would
        # mean inclusive c14n 1.0, which the profile does not allow.
        chain = [transform.get("Algorithm") for transform in transforms]
        if chain[-1:] != [Transform.EXCLUSIVE_C14N.value] or len(set(chain)) != len(chain):
            raise SecurityError("security.algorithm.forbidden", "transforms must end with exclusive c14n")
        digest = reference.findall(_DS_DIGESTMETHOD)
        if len(digest) != 1 or digest[0].get("Algorithm") not in policy.digests:
            raise SecurityError("security.algorithm.forbidden", "digest")
        target = ids.get(match.group(1))
        if target is None:
            raise SecurityError("security.signature.invalid", "dangling reference")
        if any(target is seen for seen in elements):
            raise SecurityError("security.signature.wrapping", "element referenced twice")
        elements.append(target)
    return SignedReferences(elements=tuple(elements), method=method[0].get("Algorithm"), references=tuple(references))


class _KeyCache:
    """Public keys by certificate DER (parsing a certificate costs more than verifying)."""

    def __init__(self, size: int = 4096):
        self._keys: OrderedDict[bytes, object] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, cert_der: bytes):
        with self._lock:
            key = self._keys.get(cert_der)
            if key is not None:
                self._keys.move_to_end(cert_der)
                return key
        key = x509.load_der_x509_certificate(cert_der).public_key()
        with self._lock:
            self._keys[cert_der] = key
            if len(self._keys) > self._size:
                self._keys.popitem(last=False)
        return key


_KEYS = _KeyCache()
_INCLUSIVE = q(Transform.EXCLUSIVE_C14N.value, "InclusiveNamespaces")


def _prefixes(method: etree._Element | None) -> list[str] | None:
    found = method.find(_INCLUSIVE) if method is not None else None
    return (found.get("PrefixList") or "").split() or None if found is not None else None


def c14n(element: etree._Element, prefixes: list[str] | None = None) -> bytes:
    """Exclusive XML canonicalization without comments (the profile's only c14n)."""
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False,
                          inclusive_ns_prefixes=prefixes)


def _received_c14n(element: etree._Element, prefixes: list[str] | None) -> bytes:
    """``c14n`` of a part of a received message; what cannot be canonicalized cannot have been signed.

    libxml2 refuses, for one, a relative namespace URI (``xmlns:p="not/absolute"``) in scope.
    """
    try:
        return c14n(element, prefixes)
    except etree.C14NError:
        raise SecurityError("security.signature.invalid", "signed part cannot be canonicalized") from None


def _without(element: etree._Element, signature: etree._Element) -> etree._Element:
    """A copy of ``element`` without ``signature`` (the enveloped-signature transform)."""
    index = next(i for i, child in enumerate(element) if child is signature)
    clone = copy.deepcopy(element)
    tail = clone[index].tail
    previous = clone[index].getprevious()
    clone.remove(clone[index])
    if tail:  # keep the text that followed the signature, as the transform does
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            clone.text = (clone.text or "") + tail
    return clone


def verify(signature: etree._Element, signed: SignedReferences, *, cert_der: bytes) -> None:
    """Verify every digest, then SignatureValue, with the certificate's key (after ``check_signed_info``).

    Each digest is computed here over the very element object that ``check_signed_info`` resolved
    and the caller checked — lxml exclusive c14n + SHA-256 — so what was digested is exactly what
    the caller reads. (libxmlsec verified the same messages at 5× the cost: it re-resolves ids.)
    """
    try:
        public_key = _KEYS.get(cert_der)
    except ValueError:
        raise SecurityError("security.certificate.untrusted", "unusable certificate key") from None
    for reference, element in zip(signed.references, signed.elements):
        transforms = reference.findall(_DS_TRANSFORM_PATH)
        target = element
        if transforms[0].get("Algorithm") == Transform.ENVELOPED.value:
            if not any(child is signature for child in element):
                raise SecurityError("security.signature.invalid", "enveloped signature not inside its element")
            target = _without(element, signature)
        data = _received_c14n(target, _prefixes(transforms[-1]))
        expected = _b64decode(reference.findtext(_DS_DIGESTVALUE))
        if not hmac.compare_digest(hashlib.sha256(data).digest(), expected):
            raise SecurityError("security.signature.invalid", "digest mismatch")
    info = signature.find(_DS_SIGNEDINFO)
    data = _received_c14n(info, _prefixes(info.find(_DS_CANONICALIZATIONMETHOD)))
    value = _b64decode(signature.findtext(_DS_SIGNATUREVALUE))
    try:
        if signed.method == SignatureMethod.RSA_SHA256.value and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(value, data, padding.PKCS1v15(), hashes.SHA256())
        elif signed.method == SignatureMethod.ECDSA_SHA256.value and isinstance(public_key, ec.EllipticCurvePublicKey):
            half = len(value) // 2
            if len(value) != 64:
                raise InvalidSignature()
            der = encode_dss_signature(int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big"))
            public_key.verify(der, data, ec.ECDSA(hashes.SHA256()))
        else:
            raise SecurityError("security.signature.invalid", "signature method does not fit the key")
    except InvalidSignature:
        raise SecurityError("security.signature.invalid", "signature value mismatch") from None


def _b64decode(text: str | None) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise SecurityError("security.signature.invalid", "bad base64") from None


__all__ = ["SigningKey", "SignedReferences", "sign", "sign_enveloped", "signature_value", "verify", "c14n", "check_signed_info", "id_map", "key_info_of", "ID_ATTRIBUTES"]
