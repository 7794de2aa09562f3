"""Interoperability of the WS-Security profile with an independent stack: Debian's xmlsec1 tool.

1. Our client → xmlsec1: a request sealed by ``seal_request`` verifies with ``xmlsec1 --verify``
   (tampered copies do not), and its Body decrypts with ``xmlsec1 --decrypt`` once the same
   bytes are laid out as a standalone EncryptedData carrying the EncryptedKey in its KeyInfo.
2. xmlsec1 → our hub: xmlsec1 does all the cryptography of a request (``--encrypt`` with a fresh
   AES-256-GCM session key wrapped with rsa-oaep-mgf1p for the hub, then ``--sign``) over the
   templates in ``templates/``; the test only fills in data and moves elements where the profile
   wants them. The hub must accept it, store it and hand back the very document.

xmlsec1 1.2.x matches ``--id-attr:Id`` by the attribute's local name, so one option per element
covers both ``wsu:Id`` (Body, Timestamp, WS-Addressing headers) and the plain ``Id`` of
xenc:EncryptedKey. It does not follow WS-Security references (SecurityTokenReference,
ReferenceList): keys are given on the command line.
"""
from __future__ import annotations

import base64
import hashlib
import ssl
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from string import Template
from xml.sax.saxutils import escape

import pytest
from lxml import etree
from sqlalchemy import select

from hub.exchange.gate import action_for
from hub.exchange.models import Envelope, Message
from protocol.credentials import load_certificate
from protocol.ns import DS, HIS, SOAP11, WSA, WSSE, WSU, XENC, KeyTransport, q
from protocol.receipts import read_receipt
from protocol.request import seal_request
from tests.exchange.builders import TO, fault_code, sample_document, submit_document
from tests.exchange.conftest import stored

from .conftest import Xmlsec1, documented_command

TEMPLATES = Path(__file__).parent / "templates"
MEMBERS = ("CLINIC01", "HOSP01")  # RSA-2048 and EC P-256 signers
SIGNED_ELEMENTS = ((SOAP11, "Body"), (WSU, "Timestamp"), (WSA, "MessageID"), (WSA, "To"), (WSA, "Action"),
                   (WSA, "From"), (XENC, "EncryptedKey"))
ALL_SIGNED = f"SignedInfo References (ok/all): {len(SIGNED_ELEMENTS)}/{len(SIGNED_ELEMENTS)}"
# The name newer xmlsec1 releases list for xmlenc11#rsa-oaep; Debian's 1.2.37 does not have it.
RSA_OAEP_ENC11 = "rsa-oaep-enc11"


def _id_attr_args() -> list[str]:
    args = []
    for ns, local in SIGNED_ELEMENTS:
        args += ["--id-attr:Id", f"{ns}:{local}"]
    return args


def _member_files(pki_dir: Path, code: str) -> tuple[Path, Path]:
    return pki_dir / "members" / code / "cert.pem", pki_dir / "members" / code / "key.pem"


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def _seal(members, hub_enc_cert, code: str, transport: KeyTransport, text: str) -> tuple[bytes, etree._Element]:
    content = submit_document(sample_document(text))
    original = etree.fromstring(_c14n(content))  # a detached copy of exactly what is sealed
    data = seal_request(content, credentials=members[code], hub_cert=hub_enc_cert, action=action_for("SubmitDocument"),
                        to=TO, key_transport=transport).data
    return data, original


def _verify(xmlsec1: Xmlsec1, cert: Path, document: Path):
    """The profile's documented ``xmlsec1 --verify`` command line, run on ``document``."""
    return xmlsec1.run_documented("verify", {"member-cert.pem": cert, "request.xml": document})


def test_documented_commands_name_every_signed_part():
    for name in ("verify", "sign"):
        args = documented_command(name)
        named = [args[i + 1] for i, arg in enumerate(args) if arg == "--id-attr:Id"]
        assert named == _id_attr_args()[1::2], name


@pytest.mark.parametrize("code", MEMBERS)
def test_documented_verify_command_accepts_what_the_hub_accepts(xmlsec1, pki_dir, members, hub_enc_cert, hub, post,
                                                                tmp_path, code):
    """A request the hub accepts, written to a file, passes the profile's ``xmlsec1 --verify`` as written."""
    data, _ = _seal(members, hub_enc_cert, code, KeyTransport.RSA_OAEP_MGF1P, "文档中的 xmlsec1 命令")
    request = tmp_path / "request.xml"
    request.write_bytes(data)
    cert, _ = _member_files(pki_dir, code)
    result = _verify(xmlsec1, cert, request)
    assert result.returncode == 0, result.stderr
    assert ALL_SIGNED in result.stdout + result.stderr
    response = post(request.read_bytes())
    assert response.status == 200 and fault_code(response.body) is None, response.body[:300]


# ---------------------------------------------------------------- 1. our client → xmlsec1

def _tampered(data: bytes) -> dict[str, bytes]:
    """Copies of a signed request, each with one signed byte changed (re-serialised by lxml).

    ``unchanged`` is the control: the same re-serialisation without a change, which must still verify.
    """
    def edit(change) -> bytes:
        root = etree.fromstring(data)
        change(root)
        return etree.tostring(root, encoding="utf-8", xml_declaration=True)

    def flip(text: str) -> str:
        return ("B" if text[0] != "B" else "C") + text[1:]

    def unchanged(root):
        pass

    def to(root):
        root.find(f"{q(SOAP11, 'Header')}/{q(WSA, 'To')}").text += "x"

    def created(root):
        node = root.find(f".//{q(WSU, 'Timestamp')}/{q(WSU, 'Created')}")
        node.text = node.text[:-2] + ("1" if node.text[-2] != "1" else "2") + "Z"  # last digit, still valid

    def body_cipher(root):
        node = root.find(f"{q(SOAP11, 'Body')}/{q(XENC, 'EncryptedData')}/"
                         f"{q(XENC, 'CipherData')}/{q(XENC, 'CipherValue')}")
        node.text = flip(node.text)

    def key_cipher(root):
        node = root.find(f".//{q(XENC, 'EncryptedKey')}/{q(XENC, 'CipherData')}/{q(XENC, 'CipherValue')}")
        node.text = flip(node.text)

    def signature_value(root):
        node = root.find(f".//{q(DS, 'Signature')}/{q(DS, 'SignatureValue')}")
        node.text = flip(node.text)

    return {fn.__name__: edit(fn) for fn in (unchanged, to, created, body_cipher, key_cipher, signature_value)}


@pytest.mark.parametrize("transport", [KeyTransport.RSA_OAEP_MGF1P, KeyTransport.RSA_OAEP], ids=["mgf1p", "xenc11"])
@pytest.mark.parametrize("code", MEMBERS)
def test_xmlsec1_verifies_sealed_request(xmlsec1, pki_dir, members, hub_enc_cert, tmp_path, code, transport):
    data, _ = _seal(members, hub_enc_cert, code, transport, "签名互通")
    cert, _ = _member_files(pki_dir, code)
    sealed = tmp_path / "sealed.xml"
    sealed.write_bytes(data)
    result = _verify(xmlsec1, cert, sealed)
    assert result.returncode == 0, result.stderr
    assert ALL_SIGNED in result.stdout + result.stderr

    # The verdict depends on the bytes: each signed part changed makes xmlsec1 refuse it...
    copies = _tampered(data)
    control = tmp_path / "reserialised.xml"
    control.write_bytes(copies.pop("unchanged"))
    assert _verify(xmlsec1, cert, control).returncode == 0
    for name, copy in copies.items():
        path = tmp_path / f"tampered-{name}.xml"
        path.write_bytes(copy)
        refused = _verify(xmlsec1, cert, path)
        assert refused.returncode != 0, f"xmlsec1 accepted a copy with {name} tampered"
    # ...and so does another member's key on the untouched message.
    other, _ = _member_files(pki_dir, next(m for m in MEMBERS if m != code))
    assert _verify(xmlsec1, other, sealed).returncode != 0


def _standalone_encrypted_data(data: bytes) -> bytes:
    """Re-lay a sealed request's EncryptedData out for xmlsec1: the EncryptedKey goes in its KeyInfo.

    Only elements move; every byte of both CipherValues is kept as sealed.
    """
    root = etree.fromstring(data)
    encrypted = root.find(f"{q(SOAP11, 'Body')}/{q(XENC, 'EncryptedData')}")
    key = root.find(f"{q(SOAP11, 'Header')}/{q(WSSE, 'Security')}/{q(XENC, 'EncryptedKey')}")
    ciphers = [v.text for v in (*encrypted.iter(q(XENC, "CipherValue")), *key.iter(q(XENC, "CipherValue")))]
    method = encrypted.find(q(XENC, "EncryptionMethod"))
    key_info = etree.Element(q(DS, "KeyInfo"), nsmap={"ds": DS})
    method.addnext(key_info)  # XML Encryption order: EncryptionMethod, KeyInfo, CipherData
    key_info.append(key)
    standalone = etree.tostring(encrypted, encoding="utf-8", xml_declaration=True)
    assert sorted(v.text for v in etree.fromstring(standalone).iter(q(XENC, "CipherValue"))) == sorted(ciphers)
    return standalone


@pytest.mark.parametrize("transport", [KeyTransport.RSA_OAEP_MGF1P, KeyTransport.RSA_OAEP], ids=["mgf1p", "xenc11"])
@pytest.mark.parametrize("code", MEMBERS)
def test_xmlsec1_decrypts_sealed_request(xmlsec1, pki_dir, members, hub_enc_cert, hub_paths, tmp_path, code,
                                         transport):
    if transport is KeyTransport.RSA_OAEP and RSA_OAEP_ENC11 not in xmlsec1.transforms:
        pytest.skip(f"xmlsec1 {xmlsec1.version_text} does not implement {KeyTransport.RSA_OAEP.value} "
                    f"(no '{RSA_OAEP_ENC11}' in its --list-transforms): tool limitation, our message is not at fault")
    data, original = _seal(members, hub_enc_cert, code, transport, "加密互通 门诊")
    standalone = tmp_path / "encrypted-data.xml"
    standalone.write_bytes(_standalone_encrypted_data(data))
    result = xmlsec1.run("--decrypt", *xmlsec1.key_search_args(), "--privkey-pem", hub_paths.hub_enc_key,
                         "--output", tmp_path / "plain.xml", standalone)
    assert result.returncode == 0, result.stderr
    plaintext = etree.parse(str(tmp_path / "plain.xml")).getroot()
    assert _c14n(plaintext) == _c14n(original)
    assert plaintext.findtext(".//{urn:hie:doc:v1}Text") == "加密互通 门诊"
    # Control: another RSA key (a member's, not the hub's) cannot unwrap the session key.
    _, wrong_key = _member_files(pki_dir, "CLINIC01")
    wrong = xmlsec1.run("--decrypt", *xmlsec1.key_search_args(), "--privkey-pem", wrong_key,
                        "--output", tmp_path / "wrong.xml", standalone)
    assert wrong.returncode != 0


# ---------------------------------------------------------------- 2. xmlsec1 → our hub

def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fill(name: str, **values: str) -> bytes:
    return Template((TEMPLATES / name).read_text("utf-8")).substitute(values).encode("utf-8")


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


SIGNATURE_METHODS = {"CLINIC01": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                     "HOSP01": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"}


def _build_with_xmlsec1(xmlsec1: Xmlsec1, tmp_path: Path, *, pki_dir: Path, hub_paths, code: str,
                        message_id: str, content: etree._Element) -> bytes:
    cert, key = _member_files(pki_dir, code)
    ids = {name: _new_id(prefix) for name, prefix in (
        ("action_id", "action"), ("message_id_id", "messageid"), ("to_id", "to"), ("from_id", "from"),
        ("timestamp_id", "ts"), ("token_id", "x509"), ("body_id", "body"), ("key_id", "ek"), ("data_id", "ed"))}
    now = datetime.now(timezone.utc)
    envelope = _fill(
        "envelope.xml", **{k: v for k, v in ids.items() if k != "data_id"},
        action=escape(action_for("SubmitDocument")), message_id=escape(message_id), to=escape(TO),
        from_address=escape(f"urn:hie:org:{code}"), created=_utc(now), expires=_utc(now + timedelta(minutes=5)),
        token=base64.b64encode(ssl.PEM_cert_to_DER_cert(cert.read_text("ascii"))).decode("ascii"),
        signature_method=SIGNATURE_METHODS[code], content=etree.tostring(content, encoding="unicode"))
    (tmp_path / "plain-envelope.xml").write_bytes(envelope)
    (tmp_path / "encrypted-data-template.xml").write_bytes(
        _fill("encrypted-data.xml", data_id=ids["data_id"], key_id=ids["key_id"]))

    # xmlsec1 encrypts the Body's content: fresh AES-256-GCM key, wrapped for the hub's certificate
    # (rsa-oaep-mgf1p); it also writes the certificate's X509IssuerSerial into the EncryptedKey.
    encrypted = xmlsec1.run(
        "--encrypt", *xmlsec1.key_search_args(), "--pubkey-cert-pem", hub_paths.hub_enc_cert,
        "--session-key", "aes-256", "--xml-data", tmp_path / "plain-envelope.xml",
        "--node-name", f"{SOAP11}:Body", "--output", tmp_path / "encrypted-envelope.xml",
        tmp_path / "encrypted-data-template.xml")
    assert encrypted.returncode == 0, encrypted.stderr

    # Move the EncryptedKey from the EncryptedData's KeyInfo into wsse:Security (profile layout).
    root = etree.parse(str(tmp_path / "encrypted-envelope.xml")).getroot()
    body = root.find(q(SOAP11, "Body"))
    [data] = body
    assert data.tag == q(XENC, "EncryptedData") and data.get("Id") == ids["data_id"]
    [key_info] = data.findall(q(DS, "KeyInfo"))
    [encrypted_key] = key_info
    assert encrypted_key.tag == q(XENC, "EncryptedKey") and encrypted_key.get("Id") == ids["key_id"]
    data.remove(key_info)
    security = root.find(f"{q(SOAP11, 'Header')}/{q(WSSE, 'Security')}")
    security.find(q(WSSE, "BinarySecurityToken")).addnext(encrypted_key)
    encrypted_key.tail = "\n      "
    serial = encrypted_key.findtext(f"{q(DS, 'KeyInfo')}/{q(DS, 'X509Data')}/{q(DS, 'X509IssuerSerial')}/"
                                    f"{q(DS, 'X509SerialNumber')}")
    assert serial and int(serial) == load_certificate(hub_paths.hub_enc_cert).serial_number
    data_reference = encrypted_key.find(f"{q(XENC, 'ReferenceList')}/{q(XENC, 'DataReference')}")
    assert data_reference.get("URI") == "#" + ids["data_id"]
    (tmp_path / "unsigned.xml").write_bytes(etree.tostring(root, encoding="utf-8", xml_declaration=True))

    # xmlsec1 signs the template in wsse:Security; KeyInfo holds the SecurityTokenReference from
    # the template, which xmlsec1 1.2 neither resolves nor rewrites (the key comes from --privkey-pem).
    signed = xmlsec1.run_documented("sign", {"member-key.pem": key, "member-cert.pem": cert,
                                             "signed.xml": tmp_path / "signed.xml",
                                             "unsigned.xml": tmp_path / "unsigned.xml"})
    assert signed.returncode == 0, signed.stderr
    message = (tmp_path / "signed.xml").read_bytes()
    reference = etree.fromstring(message).find(
        f".//{q(DS, 'Signature')}/{q(DS, 'KeyInfo')}/{q(WSSE, 'SecurityTokenReference')}/{q(WSSE, 'Reference')}")
    assert reference is not None and reference.get("URI") == "#" + ids["token_id"]
    assert _verify(xmlsec1, cert, tmp_path / "signed.xml").returncode == 0  # self-check before the hub sees it
    return message


@pytest.mark.parametrize("code", MEMBERS)
def test_hub_accepts_request_built_by_xmlsec1(xmlsec1, pki_dir, hub_paths, hub, post, tmp_path, code):
    document = sample_document(f"由 xmlsec1 加密并签名 {code}")
    expected_document = _c14n(document)
    message_id = f"urn:uuid:{uuid.uuid4()}"
    message = _build_with_xmlsec1(xmlsec1, tmp_path, pki_dir=pki_dir, hub_paths=hub_paths, code=code,
                                  message_id=message_id, content=submit_document(document))
    assert expected_document.decode() not in message.decode()  # the document travels encrypted only
    before = stored(hub)

    # Control: the hub really checks xmlsec1's signature (one ciphertext byte changed → refused).
    tampered = _tampered(message)["body_cipher"]  # (the re-serialisation alone verifies: see part 1)
    refused = post(tampered)
    assert refused.status != 200 and fault_code(refused.body) == "security.signature.invalid"
    assert stored(hub) == before

    response = post(message)

    assert response.status == 200 and fault_code(response.body) is None, response.body.decode()
    [receipt] = etree.fromstring(response.body).iter(q(HIS, "Receipt"))
    hub_sign_cert = load_certificate(hub_paths.hub_sign_cert)

    def check_signer(cert):
        assert cert == hub_sign_cert

    info = read_receipt(receipt, check_signer=check_signer)
    assert info.accepted and info.member == code and info.message_id == message_id
    assert info.message_sha256 == hashlib.sha256(message).hexdigest()
    assert info.document_sha256 == hashlib.sha256(expected_document).hexdigest()
    after = stored(hub)
    assert after["inbox_message"] == before["inbox_message"] + 1
    assert after["inbox_envelope"] == before["inbox_envelope"] + 1
    with hub.sessions() as session:
        row = session.scalars(select(Message).where(Message.message_id == message_id)).one()
        raw = session.get(Envelope, row.envelope_id).raw
    assert row.member == code and row.document == expected_document
    assert raw == message  # kept exactly as xmlsec1 wrote and signed it


def test_missing_xmlsec1_skips_locally_and_fails_in_ci(monkeypatch, tmp_path):
    from .conftest import require_xmlsec1

    missing = str(tmp_path / "no-such-xmlsec1")
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_xmlsec1(missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        require_xmlsec1(missing)
