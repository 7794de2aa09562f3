"""XML Signature for the profile, the one place that signs and verifies (python-xmlsec).

Verification is strict before xmlsec ever runs: only ``#id`` references, each id unique in the
whole document, allowlisted algorithms and transforms, bounded counts. The caller learns exactly
which elements were digested (``SignedReferences.elements``) and must use only those.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import xmlsec
from lxml import etree

from ..errors import SecurityError
from .ns import DS, WSU, SignatureMethod, Transform, q
from .policy import DEFAULT_POLICY, Policy

ID_ATTRIBUTES = (q(WSU, "Id"), "Id", "ID", "id", "{http://www.w3.org/XML/1998/namespace}id")
_ID_REF = re.compile(r"^#([A-Za-z_][A-Za-z0-9_.\-]{0,127})$")
_SIGN_TRANSFORMS = {
    SignatureMethod.RSA_SHA256: xmlsec.constants.TransformRsaSha256,
    SignatureMethod.ECDSA_SHA256: xmlsec.constants.TransformEcdsaSha256,
}
_XMLSEC_TRANSFORMS = {
    Transform.EXCLUSIVE_C14N.value: xmlsec.constants.TransformExclC14N,
    Transform.ENVELOPED.value: xmlsec.constants.TransformEnveloped,
}


def id_map(root: etree._Element) -> dict[str, etree._Element]:
    """Map every id-like attribute value to its element; a duplicate anywhere is an attack."""
    found: dict[str, etree._Element] = {}
    for element in root.iter(etree.Element):
        attrib = element.attrib
        if not attrib:
            continue
        for name in ID_ATTRIBUTES:
            value = attrib.get(name)
            if value is not None:
                if value in found:
                    raise SecurityError("security.signature.wrapping", "duplicate id")
                found[value] = element
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

    @classmethod
    def from_pem(cls, pem: bytes) -> "SigningKey":
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        private = load_pem_private_key(pem, password=None)
        if isinstance(private, rsa.RSAPrivateKey):
            method = SignatureMethod.RSA_SHA256
        elif isinstance(private, ec.EllipticCurvePrivateKey):
            method = SignatureMethod.ECDSA_SHA256
        else:
            raise ValueError("only RSA and EC P-256 keys are supported")
        return cls(key=xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatPem), method=method)


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


# ---------------------------------------------------------------- verification

@dataclass(frozen=True)
class SignedReferences:
    """What a verified signature covers: the exact element objects that were digested."""

    elements: tuple[etree._Element, ...]
    method: str

    def covers(self, element: etree._Element) -> bool:
        return any(element is signed for signed in self.elements)


def check_signed_info(signature: etree._Element, ids: dict[str, etree._Element], *,
                      policy: Policy = DEFAULT_POLICY, allow_enveloped: bool = False) -> SignedReferences:
    """Check SignedInfo against the policy and resolve each reference to one element."""
    infos = signature.findall(q(DS, "SignedInfo"))
    if len(infos) != 1 or len(signature.findall(q(DS, "SignatureValue"))) != 1:
        raise SecurityError("security.signature.invalid", "malformed Signature")
    info = infos[0]
    c14n = info.findall(q(DS, "CanonicalizationMethod"))
    method = info.findall(q(DS, "SignatureMethod"))
    if len(c14n) != 1 or len(method) != 1:
        raise SecurityError("security.signature.invalid", "malformed SignedInfo")
    if c14n[0].get("Algorithm") not in policy.canonicalizations:
        raise SecurityError("security.algorithm.forbidden", "canonicalization")
    if method[0].get("Algorithm") not in policy.signature_methods:
        raise SecurityError("security.algorithm.forbidden", "signature method")
    if len(method[0]):
        raise SecurityError("security.algorithm.forbidden", "HMACOutputLength or parameters")
    references = info.findall(q(DS, "Reference"))
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
        transforms = reference.findall(f"{q(DS, 'Transforms')}/{q(DS, 'Transform')}")
        if len(transforms) > policy.max_transforms:
            raise SecurityError("security.algorithm.forbidden", "too many transforms")
        for transform in transforms:
            if transform.get("Algorithm") not in allowed:
                raise SecurityError("security.algorithm.forbidden", "transform")
        digest = reference.findall(q(DS, "DigestMethod"))
        if len(digest) != 1 or digest[0].get("Algorithm") not in policy.digests:
            raise SecurityError("security.algorithm.forbidden", "digest")
        target = ids.get(match.group(1))
        if target is None:
            raise SecurityError("security.signature.invalid", "dangling reference")
        if any(target is seen for seen in elements):
            raise SecurityError("security.signature.wrapping", "element referenced twice")
        elements.append(target)
    return SignedReferences(elements=tuple(elements), method=method[0].get("Algorithm"))


class _KeyCache:
    """Public keys by certificate DER: loading one into xmlsec costs more than verifying."""

    def __init__(self, size: int = 4096):
        self._keys: OrderedDict[bytes, xmlsec.Key] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, cert_der: bytes) -> xmlsec.Key:
        with self._lock:
            key = self._keys.get(cert_der)
            if key is not None:
                self._keys.move_to_end(cert_der)
                return key
        key = xmlsec.Key.from_memory(cert_der, xmlsec.constants.KeyDataFormatCertDer)
        with self._lock:
            self._keys[cert_der] = key
            if len(self._keys) > self._size:
                self._keys.popitem(last=False)
        return key


_KEYS = _KeyCache()


def verify(signature: etree._Element, signed: SignedReferences, *, cert_der: bytes) -> None:
    """Verify digests and SignatureValue with the certificate's key (after ``check_signed_info``)."""
    ctx = xmlsec.SignatureContext()
    try:
        ctx.key = _KEYS.get(cert_der)
    except xmlsec.Error:
        raise SecurityError("security.certificate.untrusted", "unusable certificate key") from None
    _register_ids(ctx, signed.elements)
    # Second line of defence: xmlsec itself refuses anything outside these transforms.
    for transform in (*_XMLSEC_TRANSFORMS.values(), xmlsec.constants.TransformSha256):
        ctx.enable_reference_transform(transform)
    for transform in (xmlsec.constants.TransformExclC14N, *_SIGN_TRANSFORMS.values()):
        ctx.enable_signature_transform(transform)
    try:
        ctx.verify(signature)
    except xmlsec.Error:
        raise SecurityError("security.signature.invalid", "digest or signature value mismatch") from None


__all__ = ["SigningKey", "SignedReferences", "sign", "verify", "check_signed_info", "id_map", "key_info_of", "ID_ATTRIBUTES"]
