"""What ``hie-agent status`` shows, and the warnings raised before something breaks sending.

Clock skew: the hub refuses a request whose timestamp is created more than 2 minutes ahead of
its clock or expired (5-minute lifetime) more than 2 minutes ago. The agent measures the hub's
clock from the ``ReceivedAt`` of every receipt (against the middle of the request's round trip)
and warns past ``warnings.clock_skew_seconds`` (default 60 s), long before either limit.

The outbox line (``Tally``) is the one summary both ``status`` and ``push-now`` print, read from
the same outbox by the same function, so the two never disagree. Its counts do not overlap.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from protocol.credentials import load_certificate

from .collect import waiting_files
from .config import AgentConfig
from .outbox import ItemState, Outbox, QuarantinedBy


@dataclass(frozen=True)
class Tally:
    """Where every record is: each outbox item in exactly one count, and the files not collected yet."""

    queued: int  # collected, never sent
    sent: int  # sent, no receipt yet: sent again under the same MessageID
    accepted: int  # the hub's receipt says stored (processed or awaiting processing), no findings standing
    with_findings: int  # stored, and the hub's acknowledgement reported findings to correct (hie-agent findings)
    rejected: int  # refused by the hub: its gate, or normalization (the acknowledgement)
    quarantined: int  # refused by the source adapter: never sent
    waiting: int  # files changed within settle_seconds: collected on a later run

    def line(self) -> str:
        return (f"queued {self.queued}, sent {self.sent}, accepted {self.accepted}, "
                f"accepted with findings {self.with_findings}, rejected {self.rejected}, "
                f"quarantined {self.quarantined}, waiting {self.waiting}")


def tally(config: AgentConfig, outbox: Outbox) -> Tally:
    """The outbox's counts now, and the files of folder sources held back by ``settle_seconds``."""
    counts, refused, with_findings = outbox.counts(), outbox.quarantine_counts(), outbox.with_findings()
    return Tally(queued=counts[ItemState.PENDING.value], sent=counts[ItemState.SENT.value],
                 accepted=counts[ItemState.ACCEPTED.value] + counts[ItemState.PROCESSED.value] - with_findings,
                 with_findings=with_findings,
                 rejected=refused[QuarantinedBy.HUB.value] + refused[QuarantinedBy.NORMALIZATION.value],
                 quarantined=refused[QuarantinedBy.SOURCE.value],
                 waiting=sum(waiting_files(source) for source in config.sources))


@dataclass(frozen=True)
class AgentStatus:
    counts: dict[str, int]
    last_success: str
    last_error: str
    last_error_at: str
    retry_at: float
    certificate_expires: datetime | None
    clock_skew_seconds: float | None
    tally: Tally | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def backlog(self) -> int:
        return self.counts["pending"] + self.counts["sent"]

    def lines(self) -> list[str]:
        c = self.counts
        lines = [f"outbox           {self.tally.line()}"] if self.tally else []
        lines += [f"backlog          {self.backlog} (pending {c['pending']}, sent without receipt {c['sent']})",
                  f"at the hub       {c['accepted']} accepted, awaiting processing; {c['processed']} processed",
                  f"last success     {self.last_success or 'never'}",
                  f"last error       {self.last_error or 'none'}" + (f" at {self.last_error_at}"
                                                                    if self.last_error else "")]
        if self.tally and self.tally.with_findings:
            lines.append(f"findings         {self.tally.with_findings} document(s) accepted with findings to correct "
                         "at the source (hie-agent findings)")
        if self.retry_at > datetime.now(timezone.utc).timestamp():
            when = datetime.fromtimestamp(self.retry_at, timezone.utc).isoformat(timespec="seconds")
            lines.append(f"next push        not before {when} (backing off)")
        if self.certificate_expires:
            lines.append(f"certificate      expires {self.certificate_expires.isoformat(timespec='minutes')}")
        if self.clock_skew_seconds is not None:
            lines.append(f"clock skew       {self.clock_skew_seconds:+.1f} s (hub minus this computer)")
        lines.extend(f"WARNING          {warning}" for warning in self.warnings)
        return lines


def certificate_warnings(paths: dict[str, Path], *, within_days: int, now: datetime | None = None) -> list[str]:
    """A line for each certificate that is expired or expires within ``within_days``."""
    now = now or datetime.now(timezone.utc)
    lines = []
    for label, path in paths.items():
        try:
            cert = load_certificate(path)
        except Exception:  # noqa: BLE001 - a missing file is reported, not raised
            lines.append(f"{label} certificate cannot be read ({path})")
            continue
        left = cert.not_valid_after_utc - now
        if left.total_seconds() <= 0:
            lines.append(f"{label} certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}: the hub refuses "
                         "everything this agent sends; ask the platform for a new one")
        elif left.days < within_days:
            lines.append(f"{label} certificate expires in {left.days} day(s) ({cert.not_valid_after_utc:%Y-%m-%d}); "
                         "ask the platform for a renewal")
    return lines


def skew_warning(skew_seconds: float | None, *, threshold: float) -> list[str]:
    """A warning when the hub's clock and ours differ by more than ``threshold`` seconds."""
    if skew_seconds is None or abs(skew_seconds) <= threshold:
        return []
    direction = "behind" if skew_seconds > 0 else "ahead of"
    return [f"this computer's clock is {abs(skew_seconds):.0f} s {direction} the hub's; the hub refuses requests "
            "beyond 2 minutes ahead or 7 minutes behind: set the clock (enable time synchronization)"]


def agent_status(config: AgentConfig, outbox: Outbox, *, now: datetime | None = None) -> AgentStatus:
    retry_at = float(outbox.get_meta("push.retry_at", "0"))
    if retry_at > (now or datetime.now(timezone.utc)).timestamp() + config.push.backoff_max:
        retry_at = 0.0  # the clock was set back since: the sender does not wait for it either
    skew_text = outbox.get_meta("clock_skew")
    skew = float(skew_text) if skew_text else None
    try:
        expires = load_certificate(config.certificates.cert).not_valid_after_utc
    except Exception:  # noqa: BLE001 - reported among the warnings
        expires = None
    certs = {"this clinic's": config.certificates.cert, "the hub's encryption": config.certificates.hub_cert}
    warnings = (certificate_warnings(certs, within_days=config.warnings.certificate_days, now=now)
                + skew_warning(skew, threshold=config.warnings.clock_skew_seconds))
    return AgentStatus(counts=outbox.counts(), last_success=outbox.get_meta("last_success"),
                       last_error=outbox.get_meta("last_error"), last_error_at=outbox.get_meta("last_error_at"),
                       retry_at=retry_at, certificate_expires=expires,
                       clock_skew_seconds=skew, tally=tally(config, outbox), warnings=warnings)


__all__ = ["AgentStatus", "Tally", "agent_status", "certificate_warnings", "skew_warning", "tally"]
