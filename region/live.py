"""The region's members at work now: each sends this month's events as their time comes.

The current month of every sending member is planned like any other (events.plan; deterministic from
the seed), and an event goes out once its time has passed — the visits of 08:00-17:00 at the
clinics, around the clock at the hospitals' emergency rooms — on the member's schedule: the hospitals
every ``HOSPITAL_EVERY`` seconds, the community members every ``CLINIC_EVERY``. The first round
catches up with the month so far. Events without a time (a month's report) go at the month's end,
not here. MessageIDs are the loader's, so a restarted demo resends nothing twice.

    live = LiveTraffic(generated, Target(base_url, pki)).start()
    ...
    live.stop()
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

from .events import plan, senders
from .generate import Generated
from .load import Senders, Target

CHINA = timezone(timedelta(hours=8))
HOSPITAL_EVERY, CLINIC_EVERY = 15.0, 60.0


class LiveTraffic:
    def __init__(self, generated: Generated, target: Target, *, clock=lambda: datetime.now(CHINA)):
        self.generated, self.senders, self.clock = generated, Senders(target), clock
        self.pools = generated.pools()
        self.sent: set[tuple[str, str, int]] = set()
        self._plans: dict[tuple[str, int, int], list] = {}
        self.documents = 0
        self.refused = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="region-live", daemon=True)
        self._next = {member.code: 0.0 for member in senders(generated.region)}

    def due(self, member, now: datetime) -> list:
        """The member's events of ``now``'s month whose time has come and that were not sent yet."""
        key = (member.code, now.year, now.month)
        if key not in self._plans:  # a month is planned once (deterministic); a new month replaces the old
            self._plans = {k: v for k, v in self._plans.items() if k[1:] == key[1:]}
            self._plans[key] = plan(self.generated.region, self.pools, member, seed=self.generated.seed,
                                    year=now.year, month=now.month)
        events = self._plans[key]
        return [e for e in events if getattr(e, "time", None) is not None and e.time <= now
                and (e.kind, e.record_id, getattr(e, "version", 1)) not in self.sent]

    def round(self, member) -> int:
        """Send what is due for ``member`` now; the documents sent."""
        events = self.due(member, self.clock())
        if events:
            refused = self.senders.send(self.generated.seed, self.generated.region, member.code, events)
            self.refused += len(refused)
            self.sent.update((e.kind, e.record_id, getattr(e, "version", 1)) for e in events)
            self.documents += len(events)
        return len(events)

    def _run(self) -> None:
        members = senders(self.generated.region)
        while not self._stop.is_set():
            for member in members:
                if self._stop.is_set() or time.monotonic() < self._next[member.code]:
                    continue
                try:
                    self.round(member)
                except Exception:  # noqa: BLE001 - a hub restarting: the member tries again on its schedule
                    self.failures += 1
                every = HOSPITAL_EVERY if member.kind == "hospital" else CLINIC_EVERY
                self._next[member.code] = time.monotonic() + every
            self._stop.wait(1.0)

    def start(self) -> LiveTraffic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


__all__ = ["LiveTraffic", "HOSPITAL_EVERY", "CLINIC_EVERY"]
