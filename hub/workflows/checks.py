"""Workflow checks that depend on the clock, not on a document (an overdue referral step): registered with
``@periodic(name, probe=...)``, run by the runner (``hub.workflows.runner``) after the handlers of a full
pass, and by its ticker at least every ``CHECK_INTERVAL_S`` even without changes."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from protocol.timestamps import utcnow

from ..errors import failure_summary
from ..store.db import transaction
from .concurrency import LeaseBusy, PassTurn

log = logging.getLogger("hub.workflows.runner")  # the runner's log, as before the checks moved here

# Checks that depend on the clock, not on a document (an overdue referral step): name → check(session, now) →
# how many things it found; run in their own transaction after the handlers of a full pass, and by the
# ticker at least every CHECK_INTERVAL_S even without changes. A check's probe(session, now) → whether it has
# work, read first without a write transaction: most passes find nothing, and write nothing.
CHECKS: dict[str, Callable[[Session, datetime], int]] = {}
PROBES: dict[str, Callable[[Session, datetime], bool]] = {}
CHECK_INTERVAL_S = 60.0


def periodic(name: str, *, probe: Callable[[Session, datetime], bool] | None = None) -> Callable:
    """Register the decorated ``check(session, now) -> int`` to run on every full pass when ``probe`` (a
    read) says it has work (always, without a probe)."""
    def register(function):
        CHECKS[name] = function
        if probe is not None:
            PROBES[name] = probe
        return function

    return register


def run_checks(sessions: sessionmaker[Session], *, changes: dict[str, int], failed: list[str],
               turn: PassTurn | None = None) -> None:
    """Every registered check, each in its own transaction (after its probe, when it has one): what each
    found in ``changes``; a failing one is logged and noted in ``failed`` (a pass's ``PassResult``)."""
    for name, check in sorted(CHECKS.items()):
        try:
            now = utcnow()
            probe = PROBES.get(name)
            if probe is not None:
                with sessions() as session:
                    if not probe(session, now):
                        changes[name] = 0
                        continue
            if turn is not None:
                turn()  # LeaseBusy: another runner's
            with transaction(sessions) as session:
                if turn is not None:
                    turn(session)
                changes[name] = check(session, now)
        except LeaseBusy:
            raise
        except Exception as error:  # rolled back: tried again on the next pass
            log.error("workflow check %s failed: %s", name, failure_summary(error))
            failed.append(name)


__all__ = ["CHECKS", "PROBES", "CHECK_INTERVAL_S", "periodic", "run_checks"]
