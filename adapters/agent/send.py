"""The sender: drains the outbox backlog to the hub, batch by batch, and records each receipt.

Failure policy, by what the hub (or the line) said:

* ``TransportError``, ``ResponseError`` or a retryable ``HubFault`` (``server.*``): nothing is
  lost, the items stay in the backlog; the next try waits an exponentially growing, jittered
  delay (``Backoff``), persisted so that a restart does not hammer a hub that is down.
* ``security.*`` / ``soap.*`` faults: the agent itself is wrong (certificate expired or revoked,
  clock skewed, hub certificate replaced). No document is to blame, so none is quarantined: the
  push stops and waits like a transient failure, and ``status`` shows the code.
* any other non-retryable fault of a *batch*: the batch is split and its documents sent one by one
  to find which one the hub refuses.
* a non-retryable fault of a single document, or a ``rejected`` receipt inside a batch: that
  document is quarantined with the hub's code and message; the rest go on.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from protocol.errors import FAULTS

from ..errors import HubFault, ResponseError, TransportError
from .config import PushPolicy
from .outbox import Outbox, OutboxItem

log = logging.getLogger(__name__)
AGENT_LEVEL_PREFIXES = ("security.", "soap.")


class PushHalted(Exception):
    """The hub cannot take anything now (down, or it refuses this agent): wait and try again."""

    def __init__(self, code: str, retry_at: float):
        super().__init__(code)
        self.code = code
        self.retry_at = retry_at


@dataclass
class PushResult:
    accepted: int = 0
    quarantined: int = 0
    requests: int = 0
    halted: PushHalted | None = None
    skews: list[float] = field(default_factory=list)  # hub clock minus ours, seconds, per receipt batch


class Backoff:
    """Exponential backoff with jitter, kept in the outbox so it survives restarts."""

    def __init__(self, outbox: Outbox, policy: PushPolicy, *, rng: random.Random | None = None):
        self.outbox, self.policy, self.rng = outbox, policy, rng or random.Random()

    @property
    def retry_at(self) -> float:
        retry_at = float(self.outbox.get_meta("push.retry_at", "0"))
        # Further away than the longest wait: the clock was set back since (it was ahead, which
        # is often why the hub refused). Waiting for it would stop sending for that long.
        return 0.0 if retry_at > time.time() + self.policy.backoff_max else retry_at

    def failed(self, code: str) -> float:
        failures = int(self.outbox.get_meta("push.failures", "0")) + 1
        ceiling = min(self.policy.backoff_max, self.policy.backoff_initial * 2 ** (failures - 1))
        retry_at = time.time() + self.rng.uniform(ceiling / 2, ceiling)  # jitter: clinics do not retry in step
        self.outbox.set_meta(**{"push.failures": failures, "push.retry_at": retry_at, "last_error": code,
                                "last_error_at": _now()})
        return retry_at

    def succeeded(self) -> None:
        if self.outbox.get_meta("push.failures", "0") != "0":
            self.outbox.set_meta(**{"push.failures": 0, "push.retry_at": 0})


class Sender:
    """Sends the backlog through one ``HubClient``."""

    def __init__(self, outbox: Outbox, client, policy: PushPolicy, *, rng: random.Random | None = None):
        self.outbox = outbox
        self.client = client
        self.policy = policy
        self.backoff = Backoff(outbox, policy, rng=rng)

    def push(self, *, max_items: int | None = None, progress: Callable[[int], None] | None = None,
             ignore_backoff: bool = False) -> PushResult:
        """Send the backlog (up to ``max_items``) until it is empty or the hub fails; never raises for the hub."""
        result = PushResult()
        if not ignore_backoff and time.time() < self.backoff.retry_at:
            result.halted = PushHalted(self.outbox.get_meta("last_error", "backoff"), self.backoff.retry_at)
            return result
        after_id, budget = 0, max_items
        while budget is None or budget > 0:
            size = self.policy.batch_size if budget is None else min(budget, self.policy.batch_size)
            batch = self.outbox.backlog(size, after_id=after_id)
            if not batch:
                break
            after_id = batch[-1].id  # quarantined or not, never picked twice in one push
            try:
                self._send(batch, result)
            except PushHalted as halted:
                result.halted = halted
                break
            if budget is not None:
                budget -= len(batch)
            if progress:
                progress(len(batch))
        if result.accepted:
            self.outbox.set_meta(last_success=_now())
        return result

    def _send(self, batch: list[OutboxItem], result: PushResult) -> None:
        self.outbox.mark_sent([item.id for item in batch])
        started = time.time()
        try:
            if len(batch) == 1:
                receipts = [self.client.submit(batch[0].document, message_id=batch[0].message_id)]
            else:
                receipts = self.client.submit_batch([(item.message_id, item.document) for item in batch])
        except HubFault as fault:
            self._refused(batch, fault, result, started)
            return
        except (TransportError, ResponseError) as error:
            self._halt(error.code, result)
        result.requests += 1
        middle = (started + time.time()) / 2
        accepted, refused = [], []
        for item, receipt in zip(batch, receipts):
            if receipt.accepted:
                accepted.append((item.id, receipt.document_sha256, _iso(receipt.received_at)))
            else:
                refused.append((item.id, receipt.code, _message(receipt.code), ""))
                log.warning("hub refused outbox item %s: %s", item.id, receipt.code)
        self.outbox.record_receipts(accepted, refused)
        self.backoff.succeeded()
        result.accepted += len(accepted)
        result.quarantined += len(refused)
        if receipts and receipts[0].received_at is not None:
            result.skews.append(receipts[0].received_at.timestamp() - middle)

    def _refused(self, batch: list[OutboxItem], fault: HubFault, result: PushResult, started: float) -> None:
        if fault.receipt is not None and fault.receipt.received_at is not None:
            result.skews.append(fault.receipt.received_at.timestamp() - (started + time.time()) / 2)
        if fault.retryable or fault.code.startswith(AGENT_LEVEL_PREFIXES):
            self._halt(fault.code, result)
        if len(batch) > 1:  # whose fault is it? one by one
            for item in batch:
                self._send([item], result)
            return
        log.warning("hub refused outbox item %s: %s", batch[0].id, fault.code)
        self.outbox.record_receipts([], [(batch[0].id, fault.code, fault.message, "")])
        self.backoff.succeeded()
        result.quarantined += 1

    def _halt(self, code: str, result: PushResult) -> None:
        log.warning("push stopped: %s; the backlog waits", code)
        raise PushHalted(code, self.backoff.failed(code))


def drain(sender: Sender, *, give_up_after: float, progress: Callable[[int], None] | None = None,
          sleep: Callable[[float], None] = time.sleep) -> PushResult:
    """Push until the backlog is empty, waiting out transient failures for at most ``give_up_after`` seconds."""
    total = PushResult()
    deadline = time.time() + give_up_after
    while True:
        result = sender.push(progress=progress, ignore_backoff=True)
        total.accepted += result.accepted
        total.quarantined += result.quarantined
        total.requests += result.requests
        total.skews += result.skews
        total.halted = result.halted
        if result.halted is None or result.halted.retry_at > deadline:
            return total
        sleep(max(0.0, result.halted.retry_at - time.time()))


def _message(code: str) -> str:
    spec = FAULTS.get(code)
    return spec.message if spec else "refused by the hub"


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


__all__ = ["AGENT_LEVEL_PREFIXES", "Backoff", "PushHalted", "PushResult", "Sender", "drain"]
