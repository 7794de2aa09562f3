"""The CRL shared through the OLTP database, so that a revocation reaches every hub node.

Each node keeps its own copy of the PKI (``D/pki``) and its ``TrustStore`` reads its own ``crl.pem``.
``hie pki revoke`` rewrites the CRL of one PKI directory only; it (and ``hie pki crl``, and ``hie serve``
at start) then *publishes* that CRL as a row of ``pki_crl``. Every web process *takes up* the newest
row every ``HIE_CRL_POLL_S``: a CRL with a higher number than its own file's, signed by its own CA, is
written atomically over ``D/pki/crl.pem`` and the TrustStore's reload applies it.

The table is never trusted blindly: a row that this node's CA did not sign is refused (one log line)
and not written; a lower or equal number is ignored, so a revocation is never rolled back.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import BigInteger, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from certs import CertsError, PkiPaths, load_certificate
from certs.crl import crl_number, verified_crl
from certs.files import atomic_write
from protocol.timestamps import utcnow

from .store.db import transaction
from .store.models import Base, UTCDateTime

log = logging.getLogger(__name__)
DEFAULT_POLL_S = 10.0


class PublishedCrl(Base):
    """``pki_crl``: each CRL a hub published, by its CRL number."""

    __tablename__ = "pki_crl"

    crl_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    pem: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())


def _local_crl(pki_dir: Path) -> x509.CertificateRevocationList | None:
    """This node's CRL, verified with its own CA; None when the file is missing or unusable."""
    paths = PkiPaths.of(pki_dir)
    try:
        return verified_crl(paths.crl.read_bytes(), load_certificate(paths.ca_cert))
    except (OSError, ValueError, CertsError):
        return None


def newest(session: Session) -> PublishedCrl | None:
    """The published CRL with the highest number, if any."""
    return session.scalars(select(PublishedCrl).order_by(PublishedCrl.crl_number.desc()).limit(1)).first()


def publish(sessions: sessionmaker[Session], pki_dir: Path | str) -> int | None:
    """Publish ``pki_dir``'s CRL if its number is higher than the newest published; returns the number
    published, or None (nothing newer to publish)."""
    crl = _local_crl(Path(pki_dir))
    if crl is None:
        return None
    number = crl_number(crl)
    try:
        with transaction(sessions) as session:
            row = newest(session)
            if row is not None and row.crl_number >= number:
                return None
            session.add(PublishedCrl(crl_number=number, pem=crl.public_bytes(Encoding.PEM).decode("ascii"),
                                     published_at=utcnow()))
    except IntegrityError:  # another node published the same number first
        return None
    return number


def take_up(sessions: sessionmaker[Session], pki_dir: Path | str) -> int | None:
    """Write the newest published CRL over ``pki_dir``'s crl.pem when it is newer and signed by this node's
    CA; returns the number written, or None."""
    paths = PkiPaths.of(pki_dir)
    with sessions() as session:
        row = newest(session)
    if row is None:
        return None
    local = _local_crl(Path(pki_dir))
    if local is not None and crl_number(local) >= row.crl_number:
        return None  # no rollback of a revocation; verifying again each poll would waste the CPU
    try:
        crl = verified_crl(row.pem.encode("ascii"), load_certificate(paths.ca_cert))
    except (CertsError, UnicodeEncodeError, OSError, ValueError):
        log.warning("pki.crl.invalid: published CRL %d refused: not signed by this node's CA", row.crl_number)
        return None
    number = crl_number(crl)
    if number != row.crl_number:
        log.warning("pki.crl.invalid: published CRL %d refused: it says number %d", row.crl_number, number)
        return None
    atomic_write(paths.crl, crl.public_bytes(Encoding.PEM))
    log.info("CRL %d taken up from the database", number)
    return number


class CrlPoller:
    """A daemon thread that takes up the newest published CRL every ``poll_s`` seconds."""

    def __init__(self, sessions: sessionmaker[Session], pki_dir: Path | str, *, poll_s: float = DEFAULT_POLL_S):
        self.sessions, self.pki_dir, self.poll_s = sessions, Path(pki_dir), poll_s
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "CrlPoller":
        self._thread = threading.Thread(target=self._run, name="hie-crl-poller", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            try:
                take_up(self.sessions, self.pki_dir)
            except Exception as error:  # the database away for a moment: the next poll tries again
                log.warning("CRL poll failed (%s); retrying in %s s", type(error).__name__, self.poll_s)
            if self._stopped.wait(self.poll_s):
                return


__all__ = ["PublishedCrl", "CrlPoller", "DEFAULT_POLL_S", "newest", "publish", "take_up"]
