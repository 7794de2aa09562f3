"""Whom an EncryptedKey is for (protocol.recipient): accepted KeyInfo forms and issuer spellings.

The refusals travel through the hub in the attack corpus (tests/exchange/attacks/encryption.py);
here each accepted form decrypts, and the issuer names other stacks write match the certificate.
"""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from lxml import etree

from protocol import distinguished_name, encryption
from protocol.errors import SecurityError
from protocol.ns import DS, WSSE, q
from protocol.recipient import check_recipient

HUB = "测试区域卫生信息平台"


def _certificate(issuer: x509.Name, serial: int = 598048295822261190167851394913906234435935239696):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "enc")]))
            .issuer_name(issuer).public_key(key.public_key()).serial_number(serial)
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert, key


ISSUER = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, HUB),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"{HUB} Root CA")])


@pytest.fixture(scope="module")
def recipient():
    return _certificate(ISSUER)


def _escaped(text: str) -> str:
    return "".join(f"\\{byte:02X}" for byte in text.encode("utf-8"))


SPELLINGS = {
    "cryptography": ISSUER.rfc4514_string(),
    "libxmlsec": f"CN={_escaped(HUB)} Root CA,O={_escaped(HUB)},C=CN",
    "dotnet": f"CN={HUB} Root CA, O={HUB}, C=CN",
    "rfc1779-quoted": f'CN="{HUB} Root CA"; O="{HUB}"; C=CN',
    "oids-and-ber": f"2.5.4.3=#0c{len((HUB + ' Root CA').encode()):02x}{(HUB + ' Root CA').encode().hex()},"
                    f"OID.2.5.4.10={HUB},C=CN",
    "case-and-spaces": f"cn={HUB}   root ca,o={HUB},c=cn",
}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_issuer_spellings_of_other_stacks_match(spelling):
    assert distinguished_name.parse(SPELLINGS[spelling]) == distinguished_name.of_name(ISSUER)


@pytest.mark.parametrize("text", [f"C=CN,O={HUB},CN={HUB} Root CA",  # certificate order, not RFC 4514's
                                  f"CN={HUB} Root CA,O={HUB}",  # an RDN short
                                  f"CN={HUB} Root CA,O={HUB},C=CN,OU=x",
                                  f"CN=Foreign CA Root CA,O={HUB},C=CN"])
def test_other_issuers_do_not_match(text):
    assert distinguished_name.parse(text) != distinguished_name.of_name(ISSUER)


@pytest.mark.parametrize("text", ["", "CN", "XX=1", "CN=a,", 'CN="open', "CN=#0c05ab", "CN=\\", "CN=\\ff"])
def test_unreadable_names_parse_to_none(text):
    assert distinguished_name.parse(text) is None


def _sealed_key(recipient_cert) -> tuple[etree._Element, etree._Element]:
    key, data = encryption.encrypt_content(b"<a>plain</a>", data_id="ed-1")
    return data, encryption.wrap_key(key, recipient_cert, key_id="ek-1", data_ids=("ed-1",))


def _with_key_info(ek: etree._Element, *children: etree._Element) -> etree._Element:
    key_info = ek.find(q(DS, "KeyInfo"))
    for child in list(key_info):
        key_info.remove(child)
    key_info.extend(children)
    return ek


def _issuer_serial(issuer: str, serial: int) -> etree._Element:
    data = etree.Element(q(DS, "X509Data"))
    pair = etree.SubElement(data, q(DS, "X509IssuerSerial"))
    etree.SubElement(pair, q(DS, "X509IssuerName")).text = issuer
    etree.SubElement(pair, q(DS, "X509SerialNumber")).text = str(serial)
    return data


def _certificate_data(cert) -> etree._Element:
    data = etree.Element(q(DS, "X509Data"))
    etree.SubElement(data, q(DS, "X509Certificate")).text = base64.b64encode(cert.public_bytes(Encoding.DER)).decode()
    return data


def _in_token_reference(child: etree._Element) -> etree._Element:
    reference = etree.Element(q(WSSE, "SecurityTokenReference"))
    reference.append(child)
    return reference


def test_accepted_forms_decrypt(recipient):
    cert, key = recipient
    forms = {
        "issuer-serial (wrap_key)": lambda ek: ek,
        "issuer-serial, libxmlsec spelling": lambda ek: _with_key_info(
            ek, _issuer_serial(SPELLINGS["libxmlsec"], cert.serial_number)),
        "security token reference": lambda ek: _with_key_info(
            ek, _in_token_reference(_issuer_serial(SPELLINGS["dotnet"], cert.serial_number))),
        "the certificate itself": lambda ek: _with_key_info(ek, _certificate_data(cert)),
    }
    for name, form in forms.items():
        data, ek = _sealed_key(cert)
        assert encryption.decrypt(data, form(ek), private_key=key, recipient=cert) == b"<a>plain</a>", name


def test_refused_forms_name_the_recipient_code(recipient):
    cert, _ = recipient
    other_issuer, _ = _certificate(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Other CA")]),
                                   serial=cert.serial_number)
    other_serial, _ = _certificate(ISSUER, serial=cert.serial_number + 1)
    forms = {
        "other issuer, same serial": _issuer_serial("CN=Other CA", cert.serial_number),
        "other serial": _issuer_serial(ISSUER.rfc4514_string(), cert.serial_number + 1),
        "serial not a number": _issuer_serial(ISSUER.rfc4514_string(), "0x" + format(cert.serial_number, "x")),
        "other certificate, same issuer and serial": _certificate_data(other_issuer),
        "other certificate, same issuer": _certificate_data(other_serial),
        "certificate in a token reference": _in_token_reference(_certificate_data(cert)),
        "key name": etree.Element(q(DS, "KeyName")),
    }
    for name, child in forms.items():
        _, ek = _sealed_key(cert)
        with pytest.raises(SecurityError) as refused:
            check_recipient(_with_key_info(ek, child), cert)
        assert refused.value.code == "security.recipient.unknown", name
    _, ek = _sealed_key(cert)
    with pytest.raises(SecurityError) as refused:
        check_recipient(_with_key_info(ek), cert)  # an empty KeyInfo
    assert refused.value.code == "security.recipient.unknown"
