"""Sealed elements: content encrypted for one recipient, then signed by its sender (the hub's replies).

Layout: ``<X Id="..."> metadata... <xenc:EncryptedData> (KeyInfo holds the EncryptedKey)
<ds:Signature/></X>`` — encrypt first, then sign over the ciphertext, like requests.
"""
from __future__ import annotations

import uuid

from cryptography import x509
from lxml import etree

from . import encryption
from .credentials import Credentials
from .errors import SecurityError
from .ns import DS, XENC, DataEncryption, q
from .policy import REPLY_POLICY, Policy
from .signed_element import sign_element, verify_element


def seal_element(wrapper: etree._Element, content: bytes, *, recipient: x509.Certificate,
                 signer: Credentials) -> etree._Element:
    """Encrypt ``content`` for ``recipient`` into ``wrapper`` and sign the wrapper."""
    key, data = encryption.encrypt_content(content, data_id=f"ed-{uuid.uuid4().hex}",
                                           algorithm=DataEncryption.AES256_GCM)
    ek = encryption.wrap_key(key, recipient, key_id=f"ek-{uuid.uuid4().hex}")
    key_info = etree.Element(q(DS, "KeyInfo"), nsmap={"ds": DS})
    key_info.append(ek)
    data.insert(1, key_info)  # after EncryptionMethod, before CipherData
    wrapper.append(data)
    return sign_element(wrapper, signer=signer)


def open_sealed(wrapper: etree._Element, *, recipient: Credentials, check_signer,
                policy: Policy = REPLY_POLICY) -> bytes:
    """Verify the signer's signature over ``wrapper`` (``check_signer``) and decrypt its content."""
    verify_element(wrapper, check_signer=check_signer, policy=policy)
    datas = wrapper.findall(q(XENC, "EncryptedData"))
    if len(datas) != 1:
        raise SecurityError("security.decryption.failed", "expected one EncryptedData")
    keys = datas[0].findall(f"{q(DS, 'KeyInfo')}/{q(XENC, 'EncryptedKey')}")
    if len(keys) != 1:
        raise SecurityError("security.decryption.failed", "expected one EncryptedKey")
    return encryption.decrypt(datas[0], keys[0], private_key=recipient.private_key,
                              recipient=recipient.certificate, policy=policy)


__all__ = ["seal_element", "open_sealed"]
