"""``hie-agent run``: the three jobs on an apscheduler 3 ``BlockingScheduler``.

Each job runs at most once at a time (``max_instances=1``); runs missed while a job was busy or
the computer slept are merged into one (``coalesce``); all three start right away. A job's
failure is logged (code only, never document content) and kept for ``status``; the scheduler
keeps going: the next tick tries again.
"""
from __future__ import annotations

import logging
import signal
from datetime import datetime, timezone

from apscheduler.schedulers.blocking import BlockingScheduler

from ..errors import AdapterError
from .runtime import Agent, JobBusy
from .status import certificate_warnings, skew_warning

log = logging.getLogger(__name__)


def _guarded(agent: Agent, name: str, job):
    def run() -> None:
        try:
            outcome = job()
        except JobBusy:
            log.info("%s: already running elsewhere, skipped", name)
            return
        except Exception as error:  # noqa: BLE001 - hub down, clinic database down, folder gone, a bug
            # only the code or the type: an exception's text may quote a document or a row
            code = error.code if isinstance(error, AdapterError) else type(error).__name__
            log.warning("%s failed: %s", name, code)
            with agent.outbox() as outbox:
                outbox.set_meta(last_error=f"{name}: {code}",
                                last_error_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
            return
        log.info("%s: %s", name, _summary(outcome))

    run.__name__ = f"hie-agent-{name}"
    return run


def _summary(outcome) -> str:
    if isinstance(outcome, list):  # collect results
        return ", ".join(f"{r.source} +{r.added}" + (f" ({r.waiting} file(s) waiting for settle_seconds)"
                                                       if r.waiting else "") for r in outcome) or "no sources"
    fields = {k: v for k, v in vars(outcome).items() if isinstance(v, int) and v}
    halted = getattr(outcome, "halted", None)
    return (" ".join(f"{k}={v}" for k, v in fields.items()) or "nothing to do") + (
        f" (halted: {halted.code})" if halted else "")


def _warn(agent: Agent) -> None:
    config = agent.config
    certs = {"this clinic's": config.certificates.cert, "the hub's encryption": config.certificates.hub_cert}
    with agent.outbox() as outbox:
        skew = outbox.get_meta("clock_skew")
    for line in (certificate_warnings(certs, within_days=config.warnings.certificate_days)
                 + skew_warning(float(skew) if skew else None, threshold=config.warnings.clock_skew_seconds)):
        log.warning("%s", line)


def build_scheduler(agent: Agent) -> BlockingScheduler:
    schedule = agent.config.schedule
    scheduler = BlockingScheduler(timezone=timezone.utc,
                                  job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None})
    now = datetime.now(timezone.utc)
    for name, seconds, job in (("collect", schedule.collect, agent.collect), ("push", schedule.push, agent.push),
                               ("replies", schedule.replies, agent.replies)):
        scheduler.add_job(_guarded(agent, name, job), "interval", seconds=seconds, id=name, next_run_time=now)
    scheduler.add_job(lambda: _warn(agent), "interval", hours=6, id="warnings", next_run_time=now)
    return scheduler


def run_forever(agent: Agent) -> None:
    """Run until SIGTERM or Ctrl-C; a job in progress finishes (its work is committed item by item)."""
    scheduler = build_scheduler(agent)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


__all__ = ["build_scheduler", "run_forever"]
