"""The kit of the attack corpus: the case registry, the message surgery and the Kit.

``case`` registers one named build function per attack in ``CASES``; the cases themselves live
in the modules named by their class (``parser``, ``signature``, ``encryption``, ``replay``).
``Msg`` is a sealed request as an lxml tree with the parts an attacker reaches for: it re-signs
with the hub's own signing code or by hand with any algorithm and reference form
(``sign_custom``, ``Ref``), and re-encrypts with any algorithm (``reencrypt``). ``Kit`` seals
genuinely valid requests and builds each case once. ``xmlsec_accepts`` is the permissive
(zeep-like) verifier that shows a mutated message still carries a member's valid signature.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from protocol import signature as dsig
from protocol.ns import DS, ENC_CONTENT, SOAP11, WSA, WSSE, WSU, X509V3, XENC, q
from protocol.signature import SigningKey

from .. import builders

PARSER, SIGNATURE, ENCRYPTION, REPLAY = "parser", "signature", "encryption", "replay"
CLASSES = (PARSER, SIGNATURE, ENCRYPTION, REPLAY)

MAX_BYTES = 10 * 1024 * 1024  # Settings.max_message_bytes default, which the test hubs keep
WSU_ID = q(WSU, "Id")

# Algorithm identifiers a profile-abiding member never uses (W3C URIs).
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
HMAC_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
MD5 = "http://www.w3.org/2001/04/xmldsig-more#md5"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"
RSA_1_5 = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
RSA_OAEP_MGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
AES256_CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
AES256_GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
AES128_GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
XSL = "http://www.w3.org/1999/XSL/Transform"
EVIL = "urn:evil:wrapper"


@dataclass(frozen=True)
class Attack:
    """One built attack: the bytes to POST and what the answer must not contain."""

    data: bytes
    message_id: str = ""
    headers: dict = field(default_factory=dict)
    prime: tuple[bytes, ...] = ()       # posted first (e.g. the original of a replay)
    secrets: tuple[bytes, ...] = ()     # input fragments the fault must never echo


@dataclass(frozen=True)
class Case:
    name: str
    klass: str
    code: str
    build: Callable[["Kit"], Attack]
    authenticated: bool = False   # refused after the signature check (receipt names the MessageID)
    valid_signature: bool = False  # the mutated message still carries a member's valid signature
    needs_openssl: bool = False

    @property
    def doc(self) -> str:
        return (self.build.__doc__ or "").strip()


CASES: dict[str, Case] = {}


def case(klass: str, code: str, **flags):
    def register(build):
        name = build.__name__.lstrip("_")
        assert name not in CASES, name
        CASES[name] = Case(name=name, klass=klass, code=code, build=build, **flags)
        return build
    return register


# ---------------------------------------------------------------- message surgery

def _parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(remove_blank_text=False, resolve_entities=False))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _marker(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:16]}"


class Msg:
    """A sealed request as an lxml tree, with the parts an attacker reaches for."""

    def __init__(self, data: bytes, *, member, message_id: str, marker: str):
        self.root = _parse(data)
        self.member = member
        self.message_id = message_id
        self.marker = marker

    # parts (found before any move, so "the signed X" stays that element object)
    @property
    def header(self):
        return self.root.find(q(SOAP11, "Header"))

    @property
    def body(self):
        return self.root.find(q(SOAP11, "Body"))

    @property
    def security(self):
        return self.header.find(q(WSSE, "Security"))

    @property
    def stamp(self):
        return self.security.find(q(WSU, "Timestamp"))

    @property
    def token(self):
        return self.security.find(q(WSSE, "BinarySecurityToken"))

    @property
    def ek(self):
        return self.security.find(q(XENC, "EncryptedKey"))

    @property
    def ed(self):
        return self.body.find(q(XENC, "EncryptedData"))

    @property
    def sig(self):
        return self.security.find(q(DS, "Signature"))

    def wsa(self, local: str):
        return self.header.find(q(WSA, local))

    def required_parts(self) -> list:
        return [self.body, self.stamp, self.ek, self.wsa("Action"), self.wsa("MessageID"), self.wsa("To"),
                self.wsa("From")]

    def bytes(self) -> bytes:
        return etree.tostring(self.root, encoding="utf-8", xml_declaration=True)

    # signing
    def unsign(self) -> "Msg":
        if self.sig is not None:
            self.security.remove(self.sig)
        return self

    def resign(self, signer=None, targets=None) -> "Msg":
        """Sign again (the hub's own signing code) as ``signer`` over ``targets``."""
        self.unsign()
        signer = signer or self.member
        sig = dsig.sign(self.security, targets if targets is not None else self.required_parts(),
                        key=signer.signing_key)
        self.token_reference(sig)
        return self

    def token_reference(self, sig, uri: str | None = None) -> None:
        str_ = etree.SubElement(dsig.key_info_of(sig), q(WSSE, "SecurityTokenReference"))
        etree.SubElement(str_, q(WSSE, "Reference"), URI=uri or "#" + self.token.get(WSU_ID), ValueType=X509V3)

    def sign_custom(self, refs: list["Ref"], *, method: str = RSA_SHA256, c14n: str = EXC_C14N,
                    signer=None) -> "Msg":
        """Sign by hand (any algorithm or reference form) with the member's RSA key.

        Digests are computed over exclusive c14n of each target, which is what every transform
        used here yields too, so xmlsec with all transforms enabled verifies the result.
        """
        self.unsign()
        signer = signer or self.member
        sig = etree.SubElement(self.security, q(DS, "Signature"), nsmap={"ds": DS})
        info = etree.SubElement(sig, q(DS, "SignedInfo"))
        etree.SubElement(info, q(DS, "CanonicalizationMethod"), Algorithm=c14n)
        etree.SubElement(info, q(DS, "SignatureMethod"), Algorithm=method)
        for ref in refs:
            ref.append_to(info, self)
        c14n_info = etree.tostring(info, method="c14n", exclusive=True)
        algorithm = hashes.SHA1() if method == RSA_SHA1 else hashes.SHA256()
        value = signer.private_key.sign(c14n_info, padding.PKCS1v15(), algorithm)
        etree.SubElement(sig, q(DS, "SignatureValue")).text = b64(value)
        etree.SubElement(sig, q(DS, "KeyInfo"))
        self.token_reference(sig)
        return self

    # encryption
    def reencrypt(self, plaintext: bytes, *, recipient: x509.Certificate, data_alg: str = AES256_GCM,
                  transport: str = RSA_OAEP_MGF1P, oaep_digest: str = SHA1, key_size: int | None = None,
                  tamper_tag: bool = False, tamper_key: bool = False) -> "Msg":
        """Replace EncryptedData and EncryptedKey (same ids) with hand-made ones."""
        key = os.urandom(key_size or (16 if data_alg == AES128_GCM else 32))
        if data_alg == AES256_CBC:
            padder = sym_padding.PKCS7(128).padder()
            iv = os.urandom(16)
            encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
            blob = iv + encryptor.update(padder.update(plaintext) + padder.finalize()) + encryptor.finalize()
        else:
            iv = os.urandom(12)
            blob = iv + AESGCM(key).encrypt(iv, plaintext, None)
        if tamper_tag:
            blob = blob[:-1] + bytes([blob[-1] ^ 0x01])
        old_ed, old_ek = self.ed, self.ek
        ed = etree.Element(q(XENC, "EncryptedData"), {"Id": old_ed.get("Id"), "Type": ENC_CONTENT},
                           nsmap={"xenc": XENC})
        etree.SubElement(ed, q(XENC, "EncryptionMethod"), Algorithm=data_alg)
        etree.SubElement(etree.SubElement(ed, q(XENC, "CipherData")), q(XENC, "CipherValue")).text = b64(blob)
        old_ed.getparent().replace(old_ed, ed)
        if transport == RSA_1_5:
            wrapped = recipient.public_key().encrypt(key, padding.PKCS1v15())
        else:
            # MD5 is only named: the hub must refuse the name before it unwraps anything.
            digest = {SHA1: hashes.SHA1, SHA256: hashes.SHA256, MD5: hashes.SHA1}[oaep_digest]
            wrapped = recipient.public_key().encrypt(
                key, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=digest(), label=None))
        if tamper_key:
            wrapped = bytes([wrapped[0] ^ 0x01]) + wrapped[1:]
        ek = etree.Element(q(XENC, "EncryptedKey"), {"Id": old_ek.get("Id")}, nsmap={"xenc": XENC, "ds": DS})
        method = etree.SubElement(ek, q(XENC, "EncryptionMethod"), Algorithm=transport)
        if transport != RSA_1_5:
            etree.SubElement(method, q(DS, "DigestMethod"), Algorithm=oaep_digest)
        serial = etree.SubElement(etree.SubElement(etree.SubElement(ek, q(DS, "KeyInfo")), q(DS, "X509Data")),
                                  q(DS, "X509IssuerSerial"))
        etree.SubElement(serial, q(DS, "X509IssuerName")).text = recipient.issuer.rfc4514_string()
        etree.SubElement(serial, q(DS, "X509SerialNumber")).text = str(recipient.serial_number)
        etree.SubElement(etree.SubElement(ek, q(XENC, "CipherData")), q(XENC, "CipherValue")).text = b64(wrapped)
        etree.SubElement(etree.SubElement(ek, q(XENC, "ReferenceList")), q(XENC, "DataReference"),
                         URI="#" + ed.get("Id"))
        old_ek.getparent().replace(old_ek, ek)
        return self

    def secrets(self, *extra: str | bytes) -> tuple[bytes, ...]:
        """Input fragments that must not come back: ciphertexts, token, signature, markers."""
        found = [self.marker.encode()]
        for value in self.root.iter(q(XENC, "CipherValue"), q(DS, "SignatureValue"), q(DS, "DigestValue")):
            text = "".join((value.text or "").split())
            if len(text) >= 24:
                found.append(text[:24].encode())
        token = "".join((self.token.text or "").split()) if self.token is not None else ""
        if token:
            found.append(token[-48:-4].encode())  # the certificate's own signature bytes: unique
        found.extend(item.encode() if isinstance(item, str) else item for item in extra)
        return tuple(found)

    def attack(self, data: bytes | None = None, *extra_secrets, **kwargs) -> Attack:
        return Attack(data=self.bytes() if data is None else data, message_id=self.message_id,
                      secrets=self.secrets(*extra_secrets), **kwargs)


@dataclass
class Ref:
    """A hand-made ds:Reference: to ``target`` by its id, or to a raw ``uri``."""

    target: etree._Element | None = None
    uri: str | None = None
    digest: str = SHA256
    transforms: tuple = (EXC_C14N,)
    digest_value: bytes | None = None

    def append_to(self, info, msg: Msg) -> None:
        uri = self.uri if self.uri is not None else "#" + _id_of(self.target)
        ref = etree.SubElement(info, q(DS, "Reference"), URI=uri)
        if self.transforms:
            holder = etree.SubElement(ref, q(DS, "Transforms"))
            for algorithm in self.transforms:
                transform = etree.SubElement(holder, q(DS, "Transform"), Algorithm=algorithm)
                if algorithm == XPATH:
                    etree.SubElement(transform, q(DS, "XPath")).text = "not(ancestor-or-self::ds:Signature)"
                elif algorithm == XSLT:
                    sheet = etree.SubElement(transform, q(XSL, "stylesheet"), version="1.0", nsmap={"xsl": XSL})
                    template = etree.SubElement(sheet, q(XSL, "template"), match="/")
                    etree.SubElement(template, q(XSL, "copy-of"), select="document('file:///etc/passwd')")
        etree.SubElement(ref, q(DS, "DigestMethod"), Algorithm=self.digest)
        if self.digest_value is not None:
            value = self.digest_value
        else:
            canonical = etree.tostring(self.target if self.target is not None else _without_signature(msg.root),
                                       method="c14n", exclusive=True, with_comments=False)
            value = (hashlib.sha1 if self.digest == SHA1 else hashlib.sha256)(canonical).digest()
        etree.SubElement(ref, q(DS, "DigestValue")).text = b64(value)


def _without_signature(root: etree._Element) -> etree._Element:
    """What an enveloped-signature transform over the whole document digests."""
    root = copy.deepcopy(root)
    for sig in root.iter(q(DS, "Signature")):
        sig.getparent().remove(sig)
        break
    return root


def _id_of(element) -> str:
    return element.get(WSU_ID) or element.get("Id")


# ---------------------------------------------------------------- the kit

class Kit:
    """Builds each case once (module scope): the same bytes go to every backend."""

    def __init__(self, members: dict, hub_cert: x509.Certificate):
        self.members = members
        self.hub_cert = hub_cert
        self._built: dict[str, Attack] = {}
        self._tmp = Path(tempfile.mkdtemp(prefix="attack-corpus-"))

    def attack(self, name: str) -> Attack:
        if name not in self._built:
            self._built[name] = CASES[name].build(self)
        return self._built[name]

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def seal(self, member: str = "CLINIC01", *, op: str = "SubmitDocument", content=None, recipient=None,
             message_id: str | None = None, **kwargs) -> Msg:
        """A genuinely valid request (builders.sealed) whose plaintext carries a unique marker."""
        marker = _marker("PLAINTEXT")
        message_id = message_id or f"urn:uuid:{uuid.uuid4()}"
        if content is None:
            content = (builders.submit_document(builders.sample_document(marker)) if op == "SubmitDocument"
                       else builders.operation(op, MessageId=f"urn:uuid:{uuid.uuid4()}"))
        creds = self.members[member]
        data = builders.sealed(creds, recipient or self.hub_cert, content, op=op, message_id=message_id, **kwargs)
        return Msg(data, member=creds, message_id=message_id, marker=marker)

    def attacker_body(self, msg: Msg) -> etree._Element:
        """A Body the attacker made: fresh ids, content encrypted for the hub with a fresh key."""
        body = etree.Element(q(SOAP11, "Body"), {WSU_ID: f"body-{uuid.uuid4().hex}"})
        plaintext = etree.tostring(builders.submit_document(builders.sample_document(_marker("EVIL"))))
        key = AESGCM.generate_key(256)
        iv = os.urandom(12)
        ed = etree.SubElement(body, q(XENC, "EncryptedData"), {"Id": f"ed-{uuid.uuid4().hex}", "Type": ENC_CONTENT},
                              nsmap={"xenc": XENC})
        etree.SubElement(ed, q(XENC, "EncryptionMethod"), Algorithm=AES256_GCM)
        etree.SubElement(etree.SubElement(ed, q(XENC, "CipherData")), q(XENC, "CipherValue")).text = b64(
            iv + AESGCM(key).encrypt(iv, plaintext, None))
        return body

    def plaintext(self, msg: Msg) -> bytes:
        return etree.tostring(builders.submit_document(builders.sample_document(msg.marker)))

    def openssl_member(self, curve: str) -> tuple[SigningKey, bytes]:
        """A self-signed 'member' certificate on an EC curve that OpenSSL knows and cryptography does not."""
        key_path, cert_path = self._tmp / f"{curve}.key", self._tmp / f"{curve}.pem"
        subject = "/C=CN/O=CLINIC01/OU=member/CN=CLINIC01/organizationIdentifier=CLINIC01"
        subprocess.run(["openssl", "ecparam", "-name", curve, "-genkey", "-noout", "-out", str(key_path)],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "req", "-new", "-x509", "-key", str(key_path), "-subj", subject, "-days", "30",
                        "-sha256", "-out", str(cert_path)], check=True, capture_output=True)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = xmlsec.Key.from_memory(key_path.read_bytes(), xmlsec.constants.KeyDataFormatPem)
        return SigningKey(key=key, method=dsig.SignatureMethod.ECDSA_SHA256), cert.public_bytes(Encoding.DER)


def replace_text(data: bytes, old: str | bytes, new: str | bytes) -> bytes:
    old = old.encode() if isinstance(old, str) else old
    new = new.encode() if isinstance(new, str) else new
    assert data.count(old) == 1, old
    return data.replace(old, new)


def with_doctype(msg: Msg, doctype: str, *, in_message_id: str = "") -> bytes:
    """Insert a DOCTYPE after the XML declaration (and an entity reference in the MessageID)."""
    data = msg.bytes()
    declaration_end = data.index(b"?>") + 2
    data = data[:declaration_end] + b"\n" + doctype.encode() + data[declaration_end:]
    if in_message_id:
        data = replace_text(data, f">{msg.message_id}<", f">{msg.message_id}{in_message_id}<")
    return data


def header_block(msg: Msg, local: str = "Extra", text: str | None = None) -> etree._Element:
    block = etree.Element(q(EVIL, local), nsmap={"evil": EVIL})
    block.text = text
    msg.header.insert(0, block)
    return block

# ---------------------------------------------------------------- validity of the member signatures

def xmlsec_accepts(data: bytes) -> bool:
    """Would a permissive verifier (zeep-like: all ids registered, every transform on) accept it?"""
    root = etree.fromstring(data)
    security = root.find(f"{q(SOAP11, 'Header')}/{q(WSSE, 'Security')}")
    sig = security.find(q(DS, "Signature"))
    token = security.find(q(WSSE, "BinarySecurityToken"))
    ctx = xmlsec.SignatureContext()
    for element in root.iter(etree.Element):
        for name, ns in ((WSU_ID, WSU), ("Id", None)):
            if element.get(name) is not None:
                ctx.register_id(element, name.rpartition("}")[2], ns)
    ctx.key = xmlsec.Key.from_memory(base64.b64decode(token.text), xmlsec.constants.KeyDataFormatCertDer)
    try:
        ctx.verify(sig)
    except xmlsec.Error:
        return False
    return True


__all__ = ["Attack", "Case", "CASES", "CLASSES", "ENCRYPTION", "Kit", "MAX_BYTES", "Msg", "PARSER", "REPLAY", "Ref",
           "SIGNATURE", "case", "xmlsec_accepts"]
