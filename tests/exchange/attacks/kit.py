"""The attack corpus: named malformed or malicious requests and the machine code each must get.

Every case starts from a genuinely valid request sealed by ``builders.sealed`` (the client's own
code path) and mutates it, with lxml or by byte surgery. Where the attack needs a member's valid
signature (a member who signs a forbidden algorithm, a wrong recipient, a From naming another
organization, ...) the member re-signs after the change, so only the profile can refuse it; for
those cases ``valid_signature`` is set and a test proves that a permissive xmlsec verifier
(every transform enabled, every id registered — the way zeep verifies) accepts the signature.

Classes: ``parser`` (bytes that must not get past the hardened parser or the transport reader),
``signature`` (WS-Security header, references, algorithms, certificates, sender binding),
``encryption`` (a valid member signs what it sends: only decryption can refuse), ``replay``
(timestamps and MessageID reuse).

``authenticated`` marks cases refused after the signature was verified: their fault carries a
receipt naming the (proven) MessageID; for every other case the MessageID must not be echoed.

One file on purpose, longer than our modules usually are: it is the catalogue, one named
function per case, read top to bottom by a reviewer; the surgery helpers come first.
"""
from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Callable

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID
from lxml import etree

from protocol import signature as dsig
from protocol.ns import DS, ENC_CONTENT, HIE, SOAP11, WSA, WSSE, WSU, X509V3, XENC, q
from protocol.signature import SigningKey
from protocol.timestamps import format_utc, utcnow

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


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _marker(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:16]}"


class Msg:
    """A sealed request as an lxml tree, with the parts an attacker reaches for."""

    def __init__(self, data: bytes, *, sender, message_id: str, marker: str):
        self.root = _parse(data)
        self.sender = sender
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
        signer = signer or self.sender
        sig = dsig.sign(self.security, targets if targets is not None else self.required_parts(),
                        key=signer.signing_key)
        self._token_reference(sig)
        return self

    def _token_reference(self, sig, uri: str | None = None) -> None:
        str_ = etree.SubElement(dsig.key_info_of(sig), q(WSSE, "SecurityTokenReference"))
        etree.SubElement(str_, q(WSSE, "Reference"), URI=uri or "#" + self.token.get(WSU_ID), ValueType=X509V3)

    def sign_custom(self, refs: list["Ref"], *, method: str = RSA_SHA256, c14n: str = EXC_C14N,
                    signer=None) -> "Msg":
        """Sign by hand (any algorithm or reference form) with the member's RSA key.

        Digests are computed over exclusive c14n of each target, which is what every transform
        used here yields too, so xmlsec with all transforms enabled verifies the result.
        """
        self.unsign()
        signer = signer or self.sender
        sig = etree.SubElement(self.security, q(DS, "Signature"), nsmap={"ds": DS})
        info = etree.SubElement(sig, q(DS, "SignedInfo"))
        etree.SubElement(info, q(DS, "CanonicalizationMethod"), Algorithm=c14n)
        etree.SubElement(info, q(DS, "SignatureMethod"), Algorithm=method)
        for ref in refs:
            ref.append_to(info, self)
        c14n_info = etree.tostring(info, method="c14n", exclusive=True)
        algorithm = hashes.SHA1() if method == RSA_SHA1 else hashes.SHA256()
        value = signer.private_key.sign(c14n_info, padding.PKCS1v15(), algorithm)
        etree.SubElement(sig, q(DS, "SignatureValue")).text = _b64(value)
        etree.SubElement(sig, q(DS, "KeyInfo"))
        self._token_reference(sig)
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
        etree.SubElement(etree.SubElement(ed, q(XENC, "CipherData")), q(XENC, "CipherValue")).text = _b64(blob)
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
        etree.SubElement(etree.SubElement(ek, q(XENC, "CipherData")), q(XENC, "CipherValue")).text = _b64(wrapped)
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
        etree.SubElement(ref, q(DS, "DigestValue")).text = _b64(value)


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

    def seal(self, sender: str = "CLINIC01", *, op: str = "SubmitDocument", content=None, recipient=None,
             message_id: str | None = None, **kwargs) -> Msg:
        """A genuinely valid request (builders.sealed) whose plaintext carries a unique marker."""
        marker = _marker("PLAINTEXT")
        message_id = message_id or f"urn:uuid:{uuid.uuid4()}"
        if content is None:
            content = (builders.submit_document(builders.sample_document(marker)) if op == "SubmitDocument"
                       else builders.operation(op, MessageId=f"urn:uuid:{uuid.uuid4()}"))
        creds = self.members[sender]
        data = builders.sealed(creds, recipient or self.hub_cert, content, op=op, message_id=message_id, **kwargs)
        return Msg(data, sender=creds, message_id=message_id, marker=marker)

    def attacker_body(self, msg: Msg) -> etree._Element:
        """A Body the attacker made: fresh ids, content encrypted for the hub with a fresh key."""
        body = etree.Element(q(SOAP11, "Body"), {WSU_ID: f"body-{uuid.uuid4().hex}"})
        plaintext = etree.tostring(builders.submit_document(builders.sample_document(_marker("EVIL"))))
        key = AESGCM.generate_key(256)
        iv = os.urandom(12)
        ed = etree.SubElement(body, q(XENC, "EncryptedData"), {"Id": f"ed-{uuid.uuid4().hex}", "Type": ENC_CONTENT},
                              nsmap={"xenc": XENC})
        etree.SubElement(ed, q(XENC, "EncryptionMethod"), Algorithm=AES256_GCM)
        etree.SubElement(etree.SubElement(ed, q(XENC, "CipherData")), q(XENC, "CipherValue")).text = _b64(
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


def _replace_text(data: bytes, old: str | bytes, new: str | bytes) -> bytes:
    old = old.encode() if isinstance(old, str) else old
    new = new.encode() if isinstance(new, str) else new
    assert data.count(old) == 1, old
    return data.replace(old, new)


def _with_doctype(msg: Msg, doctype: str, *, in_message_id: str = "") -> bytes:
    """Insert a DOCTYPE after the XML declaration (and an entity reference in the MessageID)."""
    data = msg.bytes()
    declaration_end = data.index(b"?>") + 2
    data = data[:declaration_end] + b"\n" + doctype.encode() + data[declaration_end:]
    if in_message_id:
        data = _replace_text(data, f">{msg.message_id}<", f">{msg.message_id}{in_message_id}<")
    return data


def _header_block(msg: Msg, local: str = "Extra", text: str | None = None) -> etree._Element:
    block = etree.Element(q(EVIL, local), nsmap={"evil": EVIL})
    block.text = text
    msg.header.insert(0, block)
    return block


# ================================================================ parser

_LAUGHS = "".join(f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))


@case(PARSER, "xml.forbidden")
def billion_laughs(kit: Kit) -> Attack:
    """Nine nested entities of ten references each (10^9 'lol's) referenced from the MessageID."""
    msg = kit.seal()
    doctype = f'<!DOCTYPE soap:Envelope [<!ENTITY lol0 "lol">{_LAUGHS}]>'
    return msg.attack(_with_doctype(msg, doctype, in_message_id="&lol9;"))


@case(PARSER, "xml.forbidden")
def quadratic_blowup(kit: Kit) -> Attack:
    """One 64 KB entity referenced 4,000 times (256 MB once expanded), no nesting at all."""
    msg = kit.seal()
    doctype = f'<!DOCTYPE soap:Envelope [<!ENTITY a "{"A" * 65536}">]>'
    return msg.attack(_with_doctype(msg, doctype, in_message_id="&a;" * 4000))


@case(PARSER, "xml.forbidden")
def doctype_internal_subset(kit: Kit) -> Attack:
    """An internal subset that declares an ID attribute and a defaulted attribute on the Body."""
    msg = kit.seal()
    doctype = ('<!DOCTYPE soap:Envelope [<!ATTLIST soap:Body evil CDATA "injected-default">'
               '<!ATTLIST wsa:MessageID xml:id ID #IMPLIED>]>')
    return msg.attack(_with_doctype(msg, doctype))


@case(PARSER, "xml.forbidden")
def xxe_file(kit: Kit) -> Attack:
    """External entity SYSTEM file:///etc/passwd referenced from the MessageID."""
    msg = kit.seal()
    doctype = '<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return msg.attack(_with_doctype(msg, doctype, in_message_id="&xxe;"), "root:")


@case(PARSER, "xml.forbidden")
def external_dtd(kit: Kit) -> Attack:
    """DOCTYPE with an external DTD on the network (a closed loopback port)."""
    msg = kit.seal()
    return msg.attack(_with_doctype(msg, '<!DOCTYPE soap:Envelope SYSTEM "http://127.0.0.1:9/evil.dtd">'))


@case(PARSER, "xml.forbidden")
def parameter_entities(kit: Kit) -> Attack:
    """Parameter entities: a remote %dtd; that would define an exfiltrating entity."""
    msg = kit.seal()
    doctype = ('<!DOCTYPE soap:Envelope [<!ENTITY % file SYSTEM "file:///etc/hostname">'
               '<!ENTITY % dtd SYSTEM "http://127.0.0.1:9/exfil.dtd"> %dtd; %file;]>')
    return msg.attack(_with_doctype(msg, doctype))


@case(PARSER, "xml.forbidden", valid_signature=True)
def xinclude(kit: Kit) -> Attack:
    """An xi:include of /etc/passwd in an (unsigned) header block of a validly signed message."""
    msg = kit.seal()
    block = _header_block(msg)
    etree.SubElement(block, "{http://www.w3.org/2001/XInclude}include", href="file:///etc/passwd", parse="text",
                     nsmap={"xi": "http://www.w3.org/2001/XInclude"})
    return msg.attack()


def _nested(msg: Msg, depth: int) -> bytes:
    data = msg.bytes()
    nest = b"<evil:n xmlns:evil='urn:evil'>" + b"<evil:n>" * (depth - 1) + b"</evil:n>" * depth
    return _replace_text(data, b"<soap:Header>", b"<soap:Header>" + nest)


@case(PARSER, "xml.too_deep")
def deep_nesting(kit: Kit) -> Attack:
    """A header block nested 60 levels deep (the limit is 48)."""
    msg = kit.seal()
    return msg.attack(_nested(msg, 60))


@case(PARSER, "xml.too_deep")
def deep_nesting_beyond_libxml2(kit: Kit) -> Attack:
    """Nested 5,000 levels deep: past libxml2's own limit of 256, still the depth code."""
    msg = kit.seal()
    return msg.attack(_nested(msg, 5000))


@case(PARSER, "xml.too_complex")
def element_flood(kit: Kit) -> Attack:
    """250,000 empty elements in one header block (the limit is 200,000 elements)."""
    msg = kit.seal()
    return msg.attack(_replace_text(msg.bytes(), b"<soap:Header>",
                                    b"<soap:Header><e:f xmlns:e='urn:evil'>" + b"<e:g/>" * 250_000 + b"</e:f>"))


@case(PARSER, "xml.too_complex", valid_signature=True)
def namespace_flood(kit: Kit) -> Attack:
    """300,000 namespace declarations on the Envelope of a validly signed message (8 MB).

    Exclusive c14n ignores them, so the signature stays valid, but every in-scope declaration is
    searched while canonicalizing: xmlsec spent over 3 s per request on this before the signature
    check could fail (a normal message of that size costs a few tens of milliseconds).
    """
    msg = kit.seal()
    declarations = b" ".join(b"xmlns:p%d='urn:p%d'" % (i, i) for i in range(300_000))
    return msg.attack(_replace_text(msg.bytes(), b"<soap:Envelope ", b"<soap:Envelope " + declarations + b" "))


@case(PARSER, "xml.too_complex")
def gzip_element_flood(kit: Kit) -> Attack:
    """10 KB of gzip inflating to just under the 10 MB limit: 2.6 million empty elements in a header.

    Built in full, such a tree cost 2.2 s and 350 MB per request (on the ASGI front, on its event
    loop: every submission stalled). An envelope may hold 5,000 elements and the parser stops at
    the 5,001st; ``test_element_flood_stops_early`` checks the early stop.
    """
    msg = kit.seal()
    data = msg.bytes()
    head, tail = b"<soap:Header><e:f xmlns:e='urn:evil'>", b"</e:f>"
    flood = b"<a/>" * ((MAX_BYTES - len(data) - len(head) - len(tail)) // 4)
    return msg.attack(gzip.compress(_replace_text(data, b"<soap:Header>", head + flood + tail), 9),
                      headers={"HTTP_CONTENT_ENCODING": "gzip"})


@case(PARSER, "transport.too_large")
def oversize(kit: Kit) -> Attack:
    """A valid message followed by whitespace up to one byte over the 10 MB limit."""
    msg = kit.seal()
    data = msg.bytes()
    return msg.attack(data + b" " * (MAX_BYTES + 1 - len(data)))


@case(PARSER, "transport.too_large")
def oversize_without_content_length(kit: Kit) -> Attack:
    """Over the limit with no Content-Length (chunked upload): the reader stops at limit + 1."""
    attack = kit.attack("oversize")
    return Attack(data=attack.data, message_id=attack.message_id, secrets=attack.secrets,
                  headers={"CONTENT_LENGTH": ""})


def _gzip_bomb(prefix: bytes, total: int) -> bytes:
    """A valid gzip member inflating to ``total`` bytes (prefix + spaces), built without inflating it.

    After Z_FULL_FLUSH the compressor keeps no history, so every 1 MiB block of spaces compresses
    to the same bytes: the stream is the prefix block, that block repeated, the final block and a
    correct trailer (CRC-32 and size of everything).
    """
    chunk = b" " * (1 << 20)
    count = (total - len(prefix)) // len(chunk)
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    assert comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH) == block
    final = comp.flush()[:-8]  # the last (empty) deflate block, without the trailer of the short stream
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    size = len(prefix) + count * len(chunk)
    return head + block * count + final + struct.pack("<II", crc, size & 0xFFFFFFFF)


@case(PARSER, "transport.too_large")
def gzip_bomb(kit: Kit) -> Attack:
    """1 MB of gzip (Content-Encoding: gzip) that inflates to 1 GiB: refused after limit + 1 bytes."""
    msg = kit.seal()
    return msg.attack(_gzip_bomb(msg.bytes(), 1 << 30), headers={"HTTP_CONTENT_ENCODING": "gzip"})


@case(PARSER, "transport.too_large")
def deflate_over_limit(kit: Kit) -> Attack:
    """Content-Encoding: deflate of a message padded to 12 MB."""
    msg = kit.seal()
    return msg.attack(zlib.compress(msg.bytes() + b" " * (12 * 1024 * 1024)),
                      headers={"HTTP_CONTENT_ENCODING": "deflate"})


@case(PARSER, "transport.encoding")
def gzip_corrupt(kit: Kit) -> Attack:
    """Content-Encoding: gzip over bytes that are not a gzip stream."""
    msg = kit.seal()
    data = gzip.compress(msg.bytes())
    return msg.attack(data[:10] + bytes(b ^ 0x5A for b in data[10:40]) + data[40:],
                      headers={"HTTP_CONTENT_ENCODING": "gzip"})


@case(PARSER, "transport.encoding")
def gzip_trailing_data(kit: Kit) -> Attack:
    """A valid gzip member followed by bytes that belong to no member (smuggled, never checked)."""
    msg = kit.seal()
    return msg.attack(gzip.compress(msg.bytes()) + b"EVIL-TRAILER" * 64, "EVIL-TRAILER",
                      headers={"HTTP_CONTENT_ENCODING": "gzip"})


@case(PARSER, "transport.encoding")
def unsupported_content_encoding(kit: Kit) -> Attack:
    """Content-Encoding: br (not offered by the hub)."""
    msg = kit.seal()
    return msg.attack(headers={"HTTP_CONTENT_ENCODING": "br"})


@case(PARSER, "transport.encoding")
def http_charset_not_utf8(kit: Kit) -> Attack:
    """Content-Type text/xml; charset=ISO-8859-1 on UTF-8 bytes: the two readings would differ."""
    msg = kit.seal()
    return msg.attack(headers={"CONTENT_TYPE": "text/xml; charset=ISO-8859-1"})


@case(PARSER, "xml.malformed")
def invalid_utf8(kit: Kit) -> Attack:
    """A 0xFF byte inside the MessageID text."""
    msg = kit.seal()
    return msg.attack(_replace_text(msg.bytes(), msg.message_id, msg.message_id[:-4].encode() + b"\xff\xfe"))


@case(PARSER, "xml.malformed")
def overlong_utf8(kit: Kit) -> Attack:
    """An overlong UTF-8 encoding of '<' (0xC0 0xBC) in the To address."""
    msg = kit.seal()
    return msg.attack(_replace_text(msg.bytes(), builders.TO, builders.TO.encode() + b"\xc0\xbc"))


@case(PARSER, "xml.malformed")
def declared_latin1(kit: Kit) -> Attack:
    """XML declaration encoding="ISO-8859-1" over the same bytes."""
    msg = kit.seal()
    return msg.attack(_replace_text(msg.bytes(), b"encoding='utf-8'", b"encoding='ISO-8859-1'"))


@case(PARSER, "xml.malformed")
def declared_latin1_after_bom(kit: Kit) -> Attack:
    """A UTF-8 byte order mark, then an XML declaration that says ISO-8859-1."""
    msg = kit.seal()
    return msg.attack(b"\xef\xbb\xbf" + _replace_text(msg.bytes(), b"encoding='utf-8'", b"encoding='ISO-8859-1'"))


@case(PARSER, "xml.malformed")
def declared_latin1_far_away(kit: Kit) -> Attack:
    """encoding="ISO-8859-1" placed 400 spaces into the XML declaration (legal whitespace)."""
    msg = kit.seal()
    return msg.attack(_replace_text(msg.bytes(), b" encoding='utf-8'", b" " * 400 + b"encoding='ISO-8859-1'"))


@case(PARSER, "xml.malformed")
def utf16(kit: Kit) -> Attack:
    """The whole message in UTF-16 with a BOM and a matching declaration."""
    msg = kit.seal()
    text = _replace_text(msg.bytes(), b"encoding='utf-8'", b"encoding='UTF-16'").decode("utf-8")
    return msg.attack(text.encode("utf-16"))


@case(PARSER, "xml.forbidden")
def comment_before_root(kit: Kit) -> Attack:
    """A comment between the XML declaration and the Envelope."""
    msg = kit.seal()
    data = msg.bytes()
    end = data.index(b"?>") + 2
    return msg.attack(data[:end] + b"<!--EVIL-COMMENT-->" + data[end:], "EVIL-COMMENT")


@case(PARSER, "xml.forbidden", valid_signature=True)
def processing_instruction(kit: Kit) -> Attack:
    """A processing instruction in an unsigned header block of a validly signed message."""
    msg = kit.seal()
    _header_block(msg).append(etree.ProcessingInstruction("evil", "EVIL-PI"))
    return msg.attack(None, "EVIL-PI")


@case(PARSER, "xml.forbidden", valid_signature=True)
def comment_in_cipher_value(kit: Kit) -> Attack:
    """'abc<!--x-->def' inside the signed CipherValue: comment-free c14n keeps the digest valid."""
    msg = kit.seal()
    value = msg.ed.find(f"{q(XENC, 'CipherData')}/{q(XENC, 'CipherValue')}")
    text = value.text
    value.text = text[:40]
    value.append(etree.Comment("x"))
    value[-1].tail = text[40:]
    return msg.attack()


# ================================================================ signature

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
    """Re-signed without wsa:From (the sender claim would be unsigned)."""
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
    _header_block(msg, "Routing", "elsewhere").set(f"{{{SOAP11}}}mustUnderstand", "1")
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
        wrapper = _header_block(msg, "Wrapper")
        wrapper.set(q(SOAP11, "mustUnderstand"), "0")
        wrapper.append(signed_body)
    elif place == "second-body":
        msg.root.append(signed_body)
    elif place == "inside-body":
        etree.SubElement(evil, q(EVIL, "Wrapper"), nsmap={"evil": EVIL}).append(signed_body)
    elif place == "same-id":
        evil.set(WSU_ID, signed_body.get(WSU_ID))
        _header_block(msg, "Wrapper").append(signed_body)
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
    _header_block(msg).set("Id", msg.body.get(WSU_ID))
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
    _header_block(msg, "Wrapper").append(old)
    return msg.attack()


@case(SIGNATURE, "security.signature.wrapping", valid_signature=True)
def reference_outside_positions(kit: Kit) -> Attack:
    """The member also signs a header block of its own (a reference outside the allowed positions)."""
    msg = kit.seal()
    block = _header_block(msg, "Extra", "EVIL-EXTRA")
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
    return msg.attack(_replace_text(msg.bytes(), b"<soap:Body ", b'<soap:Body xmlns:rel="not/absolute" '))


def _signed_by_outsider(kit: Kit, key: SigningKey, cert_der: bytes) -> Attack:
    """A valid message whose token is ``cert_der``, signed over the required parts with ``key``."""
    msg = kit.seal()
    msg.token.text = _b64(cert_der)
    msg.unsign()
    sig = dsig.sign(msg.security, msg.required_parts(), key=key)
    msg._token_reference(sig)
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
    value.text = _b64(raw[:10] + bytes([raw[10] ^ 0x01]) + raw[11:])
    return msg.attack()


@case(SIGNATURE, "security.signature.invalid")
def digest_tampered(kit: Kit) -> Attack:
    """The Body's DigestValue replaced by the digest of other content."""
    msg = kit.seal()
    msg.sig.find(f".//{q(DS, 'DigestValue')}").text = _b64(hashlib.sha256(b"EVIL").digest())
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
    msg.token.text = _b64(kit.members["HOSP01"].cert_der)
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


# ================================================================ encryption

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


@case(ENCRYPTION, "security.decryption.failed", authenticated=True, valid_signature=True)
def wrong_recipient(kit: Kit) -> Attack:
    """HOSP01 seals for CLINIC01's certificate instead of the hub's encryption certificate."""
    return kit.seal("HOSP01", recipient=kit.members["CLINIC01"].certificate).attack()


@case(ENCRYPTION, "security.decryption.failed", authenticated=True, valid_signature=True)
def wrong_recipient_claiming_hub(kit: Kit) -> Attack:
    """Key wrapped for CLINIC01 while the EncryptedKey's IssuerSerial names the hub certificate."""
    msg = kit.seal("HOSP01", recipient=kit.members["CLINIC01"].certificate)
    msg.ek.find(f".//{q(DS, 'X509SerialNumber')}").text = str(kit.hub_cert.serial_number)
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
    msg.ed.find(f".//{q(XENC, 'CipherValue')}").text = _b64(os.urandom(20))
    return msg.resign().attack()


@case(ENCRYPTION, "security.signature.incomplete", valid_signature=True)
def encrypted_data_outside_signature(kit: Kit) -> Attack:
    """The signed EncryptedKey's DataReference points to an EncryptedData in an unsigned header block."""
    msg = kit.seal()
    stray = copy.deepcopy(kit.attacker_body(msg)[0])
    _header_block(msg, "Stash").append(stray)
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


# ================================================================ replay and freshness

@case(REPLAY, "security.timestamp.expired")
def timestamp_expired(kit: Kit) -> Attack:
    """Created 10 minutes ago, expired 5 minutes ago (beyond the 2 minute skew)."""
    return kit.seal(now=utcnow() - timedelta(minutes=10)).attack()


@case(REPLAY, "security.timestamp.future")
def timestamp_future(kit: Kit) -> Attack:
    """Created 5 minutes from now (the skew allowed is 2 minutes)."""
    return kit.seal(now=utcnow() + timedelta(minutes=5)).attack()


@case(REPLAY, "security.timestamp.invalid", valid_signature=True)
def timestamp_missing(kit: Kit) -> Attack:
    """No wsu:Timestamp at all, re-signed by the member over the rest."""
    msg = kit.seal()
    msg.security.remove(msg.stamp)
    parts = msg.required_parts()
    return msg.resign(targets=parts[:1] + parts[2:]).attack()


@case(REPLAY, "security.timestamp.invalid")
def timestamp_lifetime_too_long(kit: Kit) -> Attack:
    """A timestamp valid for 10 minutes (the profile allows 5)."""
    return kit.seal(lifetime=timedelta(minutes=10)).attack()


@case(REPLAY, "security.timestamp.invalid", valid_signature=True)
def timestamp_not_utc(kit: Kit) -> Attack:
    """Created/Expires with a +08:00 offset instead of the profile's Z form, re-signed."""
    msg = kit.seal()
    for child in msg.stamp:
        child.text = child.text.replace("Z", "+08:00")
    return msg.resign().attack()


@case(REPLAY, "security.timestamp.invalid", valid_signature=True)
def timestamp_two_created(kit: Kit) -> Attack:
    """A second Created (an hour later) after Expires, re-signed: which one would a verifier read?"""
    msg = kit.seal()
    later = copy.deepcopy(msg.stamp[0])
    later.text = format_utc(utcnow() + timedelta(hours=1))
    msg.stamp.append(later)
    return msg.resign().attack()


@case(REPLAY, "security.timestamp.invalid", valid_signature=True)
def timestamp_expires_before_created(kit: Kit) -> Attack:
    """Expires one second before Created, re-signed."""
    msg = kit.seal()
    now = utcnow()
    msg.stamp[0].text, msg.stamp[1].text = format_utc(now), format_utc(now - timedelta(seconds=1))
    return msg.resign().attack()


@case(REPLAY, "security.replay", authenticated=True)
def replay_get_status(kit: Kit) -> Attack:
    """The same GetStatus request sent twice: the second is a replay."""
    msg = kit.seal(op="GetStatus")
    data = msg.bytes()
    return msg.attack(data, prime=(data,))


@case(REPLAY, "security.replay", authenticated=True)
def replay_get_status_resigned(kit: Kit) -> Attack:
    """A fresh GetStatus (new timestamp, new signature) reusing the MessageID of an earlier one."""
    first = kit.seal(op="GetStatus")
    again = kit.seal(op="GetStatus", message_id=first.message_id)
    return again.attack(prime=(first.bytes(),))


@case(REPLAY, "security.replay", authenticated=True)
def replay_fetch_replies(kit: Kit) -> Attack:
    """FetchReplies sent twice with the same MessageID."""
    msg = kit.seal(op="FetchReplies", content=builders.operation("FetchReplies", Max="5"))
    return msg.attack(prime=(msg.bytes(),))


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


__all__ = ["Attack", "Case", "CASES", "CLASSES", "Kit", "MAX_BYTES", "xmlsec_accepts"]
