"""One hub process's long-lived parts, built once: store, trust, keys, gate."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from certs import MemberCertificates, PkiPaths, TrustStore
from protocol.credentials import Credentials
from protocol.errors import HubError, SecurityError
from protocol.timestamps import utcnow

from .codes import watch
from .errors import StoreError
from .exchange.gate import SecurityGate
from .exchange.models import RequestNonce
from .exchange.writer import InboxWriter
from .pipeline import Stage
from .records.stage import RecordsStage
from .settings import Settings
from .store.db import make_engine, migrate, session_factory, transaction


class NonceGuard:
    """Replay guard for non-submit requests: (member, MessageID) may be used once."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def __call__(self, member: str, message_id: str, expires_at: datetime) -> None:
        try:
            with transaction(self.sessions) as session:
                session.add(RequestNonce(member=member, message_id=message_id, expires_at=expires_at))
        except IntegrityError:
            raise SecurityError("security.replay", "MessageID seen before") from None
        except SQLAlchemyError:
            raise StoreError("server.unavailable", "nonce write failed") from None

    def prune(self, now: datetime | None = None) -> int:
        """Remove the MessageIDs expired at ``now``; how many. The processors' workflows runner does it
        periodically (its check ``exchange.nonces``, ``hub.workflows.nonces``)."""
        from .workflows.nonces import prune_nonces

        with transaction(self.sessions) as session:
            return prune_nonces(session, now or utcnow())


def processing_stages() -> list[Stage]:
    """What the processor does with each accepted message, in order."""
    return [RecordsStage()]


def after_processing(sessions: sessionmaker[Session], settings: Settings):
    """What the processor's process runs after its ticks: the workflows' runner (``hub.workflows``)."""
    from .workflows.runner import WorkflowTicker

    return WorkflowTicker(sessions, interval_s=settings.workflow_interval_s, settle_s=settings.workflow_settle_s)


@dataclass
class Hub:
    """Everything a request needs, shared by the threads of one process."""

    settings: Settings
    sessions: sessionmaker[Session]
    trust: TrustStore
    signer: Credentials      # hub signing key: receipts, replies
    decryptor: Credentials   # hub encryption key: unwraps members' content keys
    gate: SecurityGate
    nonces: NonceGuard
    inbox: InboxWriter
    stages: list[Stage]      # processing after the receipt (``hub.pipeline``)
    certificates: MemberCertificates  # members' certificates, for doors that see no certificate (tokens)

    @classmethod
    def open(cls, settings: Settings, *, run_migrations: bool = True) -> "Hub":
        paths = PkiPaths.of(settings.pki)
        if not paths.ca_cert.exists():
            raise HubError("server.unavailable", f"no PKI at {settings.pki}: run `hie pki init --dir {settings.pki}`")
        engine = make_engine(settings.db_url)
        if run_migrations:
            migrate(engine)
        sessions = session_factory(engine, settings=settings)  # the workflows read their settings there
        watch(sessions)  # the code lists: shipped plus imported, followed while the hub runs
        trust = TrustStore(settings.pki)
        signer = Credentials.from_files(paths.hub_sign_cert, paths.hub_sign_key)
        decryptor = Credentials.from_files(paths.hub_enc_cert, paths.hub_enc_key)
        nonces = NonceGuard(sessions)
        gate = SecurityGate(trust=trust, decryptor=decryptor, nonces=nonces, max_bytes=settings.max_message_bytes)
        return cls(settings=settings, sessions=sessions, trust=trust, signer=signer, decryptor=decryptor,
                   gate=gate, nonces=nonces, inbox=InboxWriter(sessions), stages=processing_stages(),
                   certificates=MemberCertificates(settings.pki, trust))


__all__ = ["Hub", "NonceGuard", "processing_stages", "after_processing"]
