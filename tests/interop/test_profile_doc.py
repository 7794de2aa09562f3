"""docs/security-profile.md and docs/faults.md say what the code does, in the same words.

The seven signed parts are listed identically in both docs and equal ``REQUIRED_SIGNED_PARTS``;
the code the profile gives for a missing Timestamp is the one faults.md describes and the one a
request without a Timestamp gets from the hub; the encryption algorithm allowlist comes after the
signature, in the doc's list of checks and in the hub.
"""
from __future__ import annotations

import re
import uuid
from pathlib import Path

from protocol.errors import FAULTS
from protocol.policy import REQUIRED_SIGNED_PARTS
from tests.exchange.attacks.kit import AES256_CBC, Kit, Msg
from tests.exchange.builders import fault_code, sealed

DOCS = Path(__file__).resolve().parents[2] / "docs"
PROFILE = (DOCS / "security-profile.md").read_text("utf-8")
FAULTS_DOC = (DOCS / "faults.md").read_text("utf-8")


def _parts(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(","))


def test_signed_parts_are_listed_alike_in_both_docs_and_the_code():
    [in_profile] = re.findall(r"must\*\* cover the seven required parts \(([^)]+)\)", PROFILE)
    [in_faults] = re.findall(r"^\| `security\.signature\.incomplete` \|[^|]+\|[^|]+\| [^(|]*\(([^)]+)\) \|$",
                             FAULTS_DOC, re.M)
    assert _parts(in_profile) == _parts(in_faults) == REQUIRED_SIGNED_PARTS
    assert FAULTS["security.signature.incomplete"].message.endswith(f"({', '.join(REQUIRED_SIGNED_PARTS)})")
    assert len(REQUIRED_SIGNED_PARTS) == 7


def test_missing_timestamp_code_is_documented_alike_and_sent(hub, post, members, hub_enc_cert):
    [code] = re.findall(r"a missing `wsu:Timestamp` \(or a second one\) is\s+\[`([a-z_.]+)`\]", PROFILE)
    assert re.search(rf"^\| `{re.escape(code)}` \|[^\n]*timestamp missing", FAULTS_DOC, re.M)

    message_id = f"urn:uuid:{uuid.uuid4()}"
    msg = Msg(sealed(members["CLINIC01"], hub_enc_cert, message_id=message_id), member=members["CLINIC01"],
              message_id=message_id, marker="")
    msg.security.remove(msg.stamp)
    msg.resign(targets=[msg.body, msg.ek, msg.wsa("Action"), msg.wsa("MessageID"), msg.wsa("To"), msg.wsa("From")])
    assert fault_code(post(msg.bytes()).body) == code


def test_encryption_algorithms_are_checked_after_the_signature(hub, post, members, hub_enc_cert):
    steps = PROFILE[PROFILE.index("## 5. What the hub checks"):PROFILE.index("## 6.")]
    assert steps.index("4. signature value") < steps.index("9. decrypt: first the encryption algorithm allowlist")

    kit = Kit(members, hub_enc_cert)
    try:
        msg = kit.seal()
        msg.reencrypt(kit.plaintext(msg), recipient=hub_enc_cert, data_alg=AES256_CBC)
        assert fault_code(post(msg.bytes()).body) == "security.signature.invalid"  # not re-signed: fails first
        assert fault_code(post(msg.resign().bytes()).body) == "security.algorithm.forbidden"
    finally:
        kit.close()
