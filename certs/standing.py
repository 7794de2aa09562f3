"""What the PKI knows of each member's certificates, for decisions outside the message path.

The message path needs no more than ``TrustStore``: a revoked certificate cannot sign a message that
passes. Other doors do not see a certificate: a bearer token on the JSON API names only its member.
They ask here whether that member's certificates are still in force — from the certificate registry
(``registry.json``, which ``hie pki`` keeps: serial → member) and the CRL in force (a revocation the
registry has not heard of still counts). Both files are re-read when they change.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from . import names
from .layout import PkiPaths
from .registry import parse_iso, read_entries
from .trust import TrustStore


@dataclass(frozen=True)
class CertificateStanding:
    """One member's certificates as the PKI knows them."""

    issued: int = 0                          # certificates the hub's PKI issued to the member
    unrevoked: int = 0                       # of those, revoked neither in the registry nor by the CRL
    last_revoked_at: datetime | None = None  # the latest revocation of any of them

    def revoked_since(self, moment: datetime) -> bool:
        """Whether a certificate of the member was revoked at or after ``moment``."""
        return self.last_revoked_at is not None and self.last_revoked_at >= moment


NO_CERTIFICATES = CertificateStanding()
_CRL_PRECISION = timedelta(seconds=1)


class MemberCertificates:
    """Each member's ``CertificateStanding``, from the registry and the trust store's CRL."""

    def __init__(self, pki_dir: Path | str, trust: TrustStore):
        self._paths = PkiPaths.of(pki_dir)
        self._trust = trust
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._standings: dict[str, CertificateStanding] = {}

    def of(self, member: str) -> CertificateStanding:
        """The member's standing now; raises ``CertsError`` (fail closed) if the registry or CRL is unusable."""
        revocations = self._trust.revocations()
        try:
            stat = os.stat(self._paths.registry)
            registry_key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except FileNotFoundError:
            registry_key = None
        key = (registry_key, id(revocations))
        if key != self._key:
            with self._lock:
                if key != self._key:
                    self._standings = self._build(revocations)
                    self._key = key
        return self._standings.get(member, NO_CERTIFICATES)

    def _build(self, revocations) -> dict[str, CertificateStanding]:
        counts: dict[str, list] = {}
        for entry in read_entries(self._paths.root):
            if entry["role"] != names.ROLE_MEMBER:
                continue
            if entry["revoked_at"]:
                revoked_at = parse_iso(entry["revoked_at"])
            else:  # revoked by a CRL the registry has not heard of: it keeps whole seconds, so the
                revoked_at = revocations.get(int(entry["serial"], 16))  # whole second counts (fail closed)
                revoked_at = revoked_at + _CRL_PRECISION if revoked_at is not None else None
            issued, unrevoked, last = counts.get(entry["member"], (0, 0, None))
            if revoked_at is None:
                unrevoked += 1
            elif last is None or revoked_at > last:
                last = revoked_at
            counts[entry["member"]] = (issued + 1, unrevoked, last)
        return {member: CertificateStanding(*values) for member, values in counts.items()}


__all__ = ["CertificateStanding", "MemberCertificates", "NO_CERTIFICATES"]
