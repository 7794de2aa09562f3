"""Who changes the registry: the organization (and, over SOAP, the verified request) to audit."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from .. import audit


@dataclass(frozen=True)
class Actor:
    """The author of a registry write; ``verified`` adds certificate and MessageID to the audit row."""

    member: str
    verified: object | None = None  # hub.exchange.gate.VerifiedRequest
    client_address: str | None = None

    def audit(self, session: Session, event_type: str) -> None:
        """Audit one registry write in the caller's transaction (no names or other entry content)."""
        audit.record(session, event_type, member=self.member, verified=self.verified,
                     client_address=self.client_address)


# Writes made by the hub's operator (CLI, demo seed) rather than by a member organization.
HUB_OPERATOR = Actor(member="hub")

__all__ = ["Actor", "HUB_OPERATOR"]
