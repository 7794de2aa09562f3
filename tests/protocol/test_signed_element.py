"""Hub-signed elements (receipts, replies) verify with libxmlsec too, and tampering is caught."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID
from lxml import etree

from protocol import signature as dsig
from protocol.errors import SecurityError
from protocol.signature import SigningKey, sign, sign_enveloped
from protocol.signed_element import verify_element


def _key(kind: str):
    private = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else rsa.generate_private_key(65537, 2048)
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return SigningKey.from_pem(pem), pem


def _element() -> etree._Element:
    return etree.fromstring('<his:Receipt xmlns:his="urn:hie:signed:v1" Id="r-1"><his:Status>accepted</his:Status>'
                            '<his:Sender>测试</his:Sender></his:Receipt>'.encode())


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_sign_enveloped_verifies_with_libxmlsec(kind):
    key, pem = _key(kind)
    element = _element()
    signature = sign_enveloped(element, key=key)
    reparsed = etree.fromstring(etree.tostring(element))
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatPem)
    ctx.register_id(reparsed, "Id")
    ctx.verify(reparsed.find("{http://www.w3.org/2000/09/xmldsig#}Signature"))  # raises if invalid
    reparsed.find("{urn:hie:signed:v1}Status").text = "rejected"
    with pytest.raises(xmlsec.Error):
        ctx.verify(reparsed.find("{http://www.w3.org/2000/09/xmldsig#}Signature"))
    assert signature.getparent() is element


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_libxmlsec_enveloped_signature_verifies_with_ours(kind):
    key, _ = _key(kind)
    element = _element()
    sign(element, [element], key=key, enveloped=True)
    element = etree.fromstring(etree.tostring(element))  # as a receiver sees it
    signature = element.find("{http://www.w3.org/2000/09/xmldsig#}Signature")
    references = dsig.check_signed_info(signature, dsig.id_map(element), allow_enveloped=True)
    # a throwaway self-signed certificate carrying the public key
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.private.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key.private, hashes.SHA256()))
    der = cert.public_bytes(Encoding.DER)
    dsig.verify(signature, references, cert_der=der)
    element.find("{urn:hie:signed:v1}Sender").text = "改"
    with pytest.raises(SecurityError) as bad:
        dsig.verify(signature, references, cert_der=der)
    assert bad.value.code == "security.signature.invalid"


def _credentials(kind: str):
    from protocol.credentials import Credentials

    private = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "测试 hub signing")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
            .serial_number(7).not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(private, hashes.SHA256()))
    return Credentials.from_pem(cert.public_bytes(Encoding.PEM),
                                private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))


# Texts a receipt may carry: what lxml and exclusive c14n escape differently (\r), markup
# characters, quotes, whitespace, non-ASCII, astral characters, empty.
_TEXTS = ["", "accepted", "urn:uuid:1f0e-&-<tag>-\"q\"-'a'", "a\rb\r\nc\td\ne", "社区卫生服务中心", "𠀀😀", " ", "]]>"]


@pytest.mark.parametrize("texts", [tuple(_TEXTS[i:] + _TEXTS[:i])[:7] for i in range(len(_TEXTS))])
def test_flat_element_is_what_lxml_and_sign_element_write(texts):
    """Byte-for-byte, with RSA (PKCS#1 v1.5 is deterministic): the text path is the tree path."""
    from protocol.ns import HIS, q
    from protocol.signed_element import sign_element, signed_flat_element

    signer = _credentials("rsa")
    names = ("MessageId", "Sender", "MessageSha256", "DocumentSha256", "ReceivedAt", "Status", "Code")
    children = tuple(zip(names, texts))
    element = etree.Element(q(HIS, "Receipt"), {"Id": "receipt-0123abcd"}, nsmap={"his": HIS})
    for name, text in children:
        etree.SubElement(element, q(HIS, name)).text = text
    sign_element(element, signer=signer)
    assert signed_flat_element(HIS, "his", "Receipt", "receipt-0123abcd", children, signer=signer) == \
        etree.tostring(element, encoding="utf-8")


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_flat_element_verifies_and_tampering_is_caught(kind):
    from protocol.ns import HIS
    from protocol.signed_element import signed_flat_element

    signer = _credentials(kind)
    data = signed_flat_element(HIS, "his", "Receipt", "receipt-1", (("Status", "accepted"), ("Code", "a\rb&c")),
                               signer=signer)
    cert = verify_element(etree.fromstring(data), check_signer=lambda cert: None)
    assert cert.public_bytes(Encoding.DER) == signer.cert_der
    with pytest.raises(SecurityError):
        verify_element(etree.fromstring(data.replace(b"accepted", b"rejected")), check_signer=lambda cert: None)


def test_flat_element_refuses_what_lxml_refuses():
    from protocol.ns import HIS
    from protocol.signed_element import signed_flat_element

    signer = _credentials("ec")
    with pytest.raises(ValueError):
        etree.Element("x").text = "bell\x07"
    with pytest.raises(ValueError):
        signed_flat_element(HIS, "his", "Receipt", "receipt-1", (("Code", "bell\x07"),), signer=signer)
