"""``/metrics`` in the Prometheus text format, computed from the database at scrape time.

``hie serve`` runs several worker processes; counters kept in each would each tell a part of the
story. So every value here is read from the shared store when scraped (a custom collector), and
any worker gives the same answer: the inbox by status, the processing lag (age of the oldest
message awaiting processing), refusals by event and code (from the audit table), the ETL's lag
(from its watermarks and runs in the OLTP store), and the processor's heartbeat.

Refusals are a counter: each worker tallies the audit table once, then only the rows added since
(by id, a primary-key range). On PostgreSQL a row id can become visible after a higher one, so
the tally stops ``settle_s`` seconds short of now; SQLite commits one writer at a time, in id order.
"""
from __future__ import annotations

import shutil
import threading
from datetime import datetime, timedelta, timezone

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from protocol.status import MessageStatus

from ..audit import FAILURE, AuditEvent
from ..exchange.models import Message
from ..heartbeat import read_beat, why_down
from ..monitor import last_finished_at, read_backlog, seconds_since, watermark_lags
from ..runtime import Hub

_AUDIT = AuditEvent.__table__
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the classic text format every scraper reads


class RefusalTally:
    """Failed audit events by (event type, code), kept up to date incrementally."""

    def __init__(self, *, settle_s: float):
        self.settle_s = settle_s
        self.counts: dict[tuple[str, str], int] = {}
        self.last_id = 0
        self._lock = threading.Lock()

    def _upper(self, session) -> int:
        if self.settle_s <= 0:
            return session.scalar(select(func.max(_AUDIT.c.id))) or 0
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=self.settle_s)
        return session.scalar(select(_AUDIT.c.id).where(_AUDIT.c.at <= cutoff)
                              .order_by(_AUDIT.c.at.desc(), _AUDIT.c.id.desc()).limit(1)) or 0

    def update(self, session) -> dict[tuple[str, str], int]:
        with self._lock:
            upper = self._upper(session)
            if upper > self.last_id:
                rows = session.execute(select(_AUDIT.c.event_type, _AUDIT.c.code, func.count())
                                       .where(_AUDIT.c.id > self.last_id, _AUDIT.c.id <= upper,
                                              _AUDIT.c.outcome == FAILURE)
                                       .group_by(_AUDIT.c.event_type, _AUDIT.c.code))
                for event_type, code, count in rows:
                    key = (event_type, code or "")
                    self.counts[key] = self.counts.get(key, 0) + int(count)
                self.last_id = upper
            return dict(self.counts)


class HubCollector(Collector):
    """The hub's metrics, read from the store on every scrape."""

    def __init__(self, hub: Hub):
        self.hub = hub
        dialect = hub.sessions.kw["bind"].dialect.name
        self.refusals = RefusalTally(settle_s=0.0 if dialect == "sqlite" else 5.0)

    def collect(self):
        now = datetime.now(timezone.utc)
        settings = self.hub.settings
        beat = read_beat(settings.processor_heartbeat)
        up = GaugeMetricFamily("hie_processor_up", "1 when the processor's heartbeat is fresh and its process runs")
        up.add_metric([], 0.0 if why_down(beat, stale_s=settings.processor_stale_s, now=now.timestamp()) else 1.0)
        yield up
        if beat is not None:
            yield GaugeMetricFamily("hie_processor_heartbeat_age_seconds", "Seconds since the processor's last heartbeat",
                                    value=max(0.0, now.timestamp() - beat.at))
        try:
            free = shutil.disk_usage(settings.data_dir).free
            yield GaugeMetricFamily("hie_data_dir_free_bytes", "Free space where the data directory is", value=free)
        except OSError:
            pass
        try:
            with self.hub.sessions() as session:
                families = list(self._from_store(session, now))
        except SQLAlchemyError:
            families = []
        yield GaugeMetricFamily("hie_database_up", "1 when the database answered this scrape",
                                value=1.0 if families else 0.0)
        yield from families

    def _from_store(self, session, now: datetime):
        counts = {status.value: 0 for status in MessageStatus}
        counts.update({status: int(n) for status, n in
                       session.execute(select(Message.status, func.count()).group_by(Message.status))})
        inbox = GaugeMetricFamily("hie_inbox_messages", "Messages in the inbox by status", labels=["status"])
        for status, count in sorted(counts.items()):
            inbox.add_metric([status], count)
        yield inbox
        backlog = read_backlog(session)
        yield GaugeMetricFamily("hie_processing_lag_seconds",
                                "Age of the oldest message awaiting processing (0: none waits)", value=backlog.age_s(now))
        refusals = CounterMetricFamily("hie_refusals", "Refused requests, messages and reads (audit failures)",
                                       labels=["event", "code"])
        for (event_type, code), count in sorted(self.refusals.update(session).items()):
            refusals.add_metric([event_type, code], count)
        yield refusals
        lag = GaugeMetricFamily("hie_etl_lag_seconds", "Age of the newest change the mart has loaded, by feed",
                                labels=["feed"])
        for feed, seconds in sorted(watermark_lags(session, now=now).items()):
            lag.add_metric([feed], seconds)
        yield lag
        finished = last_finished_at(session)
        if finished is not None:
            yield GaugeMetricFamily("hie_etl_last_run_age_seconds", "Seconds since the last ETL run finished",
                                    value=seconds_since(finished, now))


def metrics_router(hub: Hub) -> APIRouter:
    """The ``/metrics`` route of one hub process (its own registry: nothing per process is exported)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(hub))
    router = APIRouter()

    @router.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE)

    return router


__all__ = ["HubCollector", "RefusalTally", "metrics_router"]
