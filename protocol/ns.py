"""Namespaces and algorithm identifiers of the hub's WS-Security profile (W3C / OASIS URIs)."""
from __future__ import annotations

from enum import Enum

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSA = "http://www.w3.org/2005/08/addressing"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
HIE = "urn:hie:exchange:v1"
# Hub-signed artifacts (receipts, replies) live in their own namespace: SOAP stacks rewrite the
# prefixes of the service namespace when they embed elements, which would break the signatures.
HIS = "urn:hie:signed:v1"
# Workflow notifications (alerts, referral steps, recalls) and the workflow SOAP service.
WORKFLOW = "urn:hie:workflow:v1"

X509V3 = ("http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3")
BASE64_BINARY = ("http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary")
ENC_CONTENT = XENC + "Content"

NSMAP = {"soap": SOAP11, "wsse": WSSE, "wsu": WSU, "wsa": WSA, "ds": DS, "xenc": XENC, "hie": HIE}


def q(ns: str, local: str) -> str:
    """Clark notation ``{ns}local``."""
    return f"{{{ns}}}{local}"


class C14n(str, Enum):
    EXCLUSIVE = "http://www.w3.org/2001/10/xml-exc-c14n#"


class Transform(str, Enum):
    EXCLUSIVE_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
    ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"


class Digest(str, Enum):
    SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


class SignatureMethod(str, Enum):
    RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"


class DataEncryption(str, Enum):
    AES256_GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
    AES128_GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm"

    @property
    def key_size(self) -> int:
        return 32 if self is DataEncryption.AES256_GCM else 16


class KeyTransport(str, Enum):
    RSA_OAEP_MGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
    RSA_OAEP = "http://www.w3.org/2009/xmlenc11#rsa-oaep"


class KeyWrap(str, Enum):
    AES256_KW = "http://www.w3.org/2001/04/xmlenc#kw-aes256"


ECDH_ES = "http://www.w3.org/2009/xmlenc11#ECDH-ES"
CONCAT_KDF = "http://www.w3.org/2009/xmlenc11#ConcatKDF"
DSIG11 = "http://www.w3.org/2009/xmldsig11#"
P256_URN = "urn:oid:1.2.840.10045.3.1.7"

# OAEP digest (ds:DigestMethod inside EncryptionMethod) and MGF (xenc11:MGF) identifiers.
OAEP_DIGEST_SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
OAEP_DIGEST_SHA256 = Digest.SHA256.value
MGF1_SHA1 = "http://www.w3.org/2009/xmlenc11#mgf1sha1"
MGF1_SHA256 = "http://www.w3.org/2009/xmlenc11#mgf1sha256"
