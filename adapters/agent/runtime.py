"""The agent's jobs (collect, push, replies) over one config, each safe to call from its own thread.

Every job opens its own outbox connection and holds a per-job file lock in the state folder, so
``hie-agent push-now`` started while ``hie-agent run`` is pushing waits its turn instead of
sending the same backlog twice (harmless, the MessageIDs are fixed, but wasteful).
"""
from __future__ import annotations

import fcntl
import logging
import os
import statistics
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from protocol.credentials import Credentials, CredentialsError

from .collect import CollectResult, collect_all
from .config import AgentConfig, ConfigError
from .outbox import Outbox
from .replies import RepliesResult, ReplyRouter
from .send import PushResult, Sender, drain
from .status import AgentStatus, agent_status

log = logging.getLogger(__name__)


class JobBusy(Exception):
    """Another process (or thread) is running the same job on this state folder."""


class Agent:
    """The clinic agent for one configuration."""

    def __init__(self, config: AgentConfig):
        self.config = config
        config.state_dir.mkdir(parents=True, exist_ok=True)
        self._clients: dict[str, object] = {}
        self._guard = threading.Lock()

    def outbox(self) -> Outbox:
        return Outbox(self.config.outbox_path, member=self.config.member)

    def client(self, job: str):
        """One ``HubClient`` per job: a job never runs twice at once, so its client has one user."""
        from ..client import HubClient

        with self._guard:
            if job not in self._clients:
                certs = self.config.certificates
                for name in ("cert", "key", "hub_cert", "ca_cert", "crl"):
                    path = getattr(certs, name)
                    if path is not None and not os.access(path, os.R_OK):
                        raise ConfigError(f"[certificates] {name}: cannot read {path}")
                try:
                    self._clients[job] = HubClient(
                        self.config.hub_url, credentials=Credentials.from_files(certs.cert, certs.key),
                        hub_cert=certs.hub_cert, ca_cert=certs.ca_cert, crl=certs.crl,
                        timeout=self.config.push.timeout)
                except CredentialsError as error:  # not PEM, swapped, a key that does not match: said in fixed words
                    raise ConfigError(f"[certificates]: {error.detail}") from None
                except (ValueError, TypeError, OSError) as error:
                    raise ConfigError(f"[certificates]: the files cannot be used ({type(error).__name__})") from None
            return self._clients[job]

    @contextmanager
    def _job(self, name: str, *, wait: bool = False) -> Iterator[Outbox]:
        with open(self.config.state_dir / f"{name}.lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise JobBusy(name) from None
            with self.outbox() as outbox:
                yield outbox

    # ------------------------------------------------------------ jobs

    def collect(self) -> list[CollectResult]:
        with self._job("collect") as outbox:
            return collect_all(outbox, self.config)

    def push(self, *, drain_for: float | None = None, progress: Callable[[int], None] | None = None,
             wait: bool = False) -> PushResult:
        """Send the backlog; with ``drain_for``, keep retrying transient failures that long."""
        with self._job("push", wait=wait) as outbox:
            sender = Sender(outbox, self.client("push"), self.config.push)
            if drain_for is None:
                result = sender.push(progress=progress)
            else:
                result = drain(sender, give_up_after=drain_for, progress=progress)
            if result.skews:
                outbox.set_meta(clock_skew=round(statistics.median(result.skews), 3), clock_skew_at=time.time())
            return result

    def replies(self) -> RepliesResult:
        with self._job("replies") as outbox:
            router = ReplyRouter(outbox, self.client("replies"), self.config.replies)
            try:
                return router.run()
            finally:
                router.close()

    def status(self) -> AgentStatus:
        with self.outbox() as outbox:
            return agent_status(self.config, outbox)


__all__ = ["Agent", "JobBusy"]
