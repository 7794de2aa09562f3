"""The exchange protocol both sides speak: the WS-Security profile (sign, verify, encrypt, decrypt),
the one hardened parser for untrusted XML, receipts, and the fault table with the error roots.

The hub imports it to verify and decrypt, the client library and the agent to sign and encrypt.
It imports nothing of the hub, the adapters, the ETL or the mart (``docs/security-profile.md``).
"""
