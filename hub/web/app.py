"""The hub's web application: FastAPI, with the SOAP front (``hub.soap.asgi``) answering ``/soap/``."""
from __future__ import annotations

import gc
import sys
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ..pipeline import Processor
from ..pki_sync import CrlPoller
from ..runtime import Hub, after_processing
from ..settings import Settings
from ..soap.application import application
from ..soap.asgi import SoapFront, local_path
from ..soap.wsgi import GateMiddleware, HubWsgiApplication
from .apidocs import install_api_docs
from .console import install as install_console
from .errors import install as install_error_handlers
from .health import health_router
from .mart import start_mart
from .metrics import metrics_router


class HubApp(FastAPI):
    """FastAPI, with ``/soap/…`` answered by the SOAP front before FastAPI's middleware and router.

    The exchange is the hub's hot path: its requests skip the routing, exception and telemetry
    layers that the JSON API uses (the SOAP front renders its own Faults).
    """

    soap: SoapFront | None = None

    async def __call__(self, scope, receive, send):
        if self.soap is not None and scope["type"] == "http" and (local_path(scope) + "/").startswith("/soap/"):
            await self.soap({**scope, "root_path": scope.get("root_path", "") + "/soap"}, receive, send)
            return
        await super().__call__(scope, receive, send)


def soap_services(hub: Hub) -> dict[str, GateMiddleware]:
    """Every SOAP service, each behind the security gate bound to its namespace."""
    from ..records.soap import SERVICE as RECORDS
    from ..records.soap import RecordService
    from ..registry.soap import SERVICE as REGISTRY
    from ..registry.soap import RegistryService
    from ..workflows.soap import SERVICE as WORKFLOW
    from ..workflows.soap import WorkflowService

    def behind_gate(service_class, spec, name):
        return GateMiddleware(hub, HubWsgiApplication(application(service_class, namespace=spec.namespace, name=name)),
                              service=spec)

    return {"exchange": GateMiddleware(hub),
            "records": behind_gate(RecordService, RECORDS, "Records"),
            "registry": behind_gate(RegistryService, REGISTRY, "Registry"),
            "workflow": behind_gate(WorkflowService, WORKFLOW, "Workflow")}


def create_app(settings: Settings, *, hub: Hub | None = None) -> FastAPI:
    """Build the ASGI app for one hub process."""
    hub = hub or Hub.open(settings)
    processor = Processor(hub.sessions, hub.stages, interval=settings.processing_interval_s,
                          heartbeat=settings.processor_heartbeat, tx_timeout_s=settings.processing_tx_timeout_s,
                          after_tick=after_processing(hub.sessions, settings)) if settings.start_processor else None

    @asynccontextmanager
    async def lifespan(_app):
        # Everything built so far (schemas, spyne's interface, keys) lives as long as the process:
        # keep it out of the collector's generations so full collections stay short.
        gc.collect()
        gc.freeze()
        # The inbox writer holds the database's write lock across its fsync; after the fsync it
        # must get the GIL back from request threads busy with XML and crypto. With the default
        # 5 ms switch interval that wait stalls the other worker process on the lock.
        sys.setswitchinterval(0.0005)
        if processor:
            processor.start()  # also picks up messages a crash left pending
        crl_poller = CrlPoller(hub.sessions, settings.pki, poll_s=settings.crl_poll_s).start()  # hub.pki_sync
        analytics = start_mart(settings, hub.sessions)
        if analytics.mart is not None or not hasattr(_app.state, "mart"):
            _app.state.mart = analytics.mart  # tests may have put a mart there already
        yield
        analytics.stop()
        crl_poller.stop()
        if processor:
            processor.stop()

    app = HubApp(title="区域卫生信息平台 · exchange hub", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.hub = hub
    install_api_docs(app)  # /docs and /redoc from the hub's own copies, no CDN
    install_error_handlers(app)  # every JSON error a code and one line (hub/web/errors.py)

    app.include_router(health_router(hub))  # /healthz: each part, 503 naming the one down
    app.include_router(metrics_router(hub))  # /metrics: Prometheus text, read from the store

    from .alerts import router as workflows_api
    from .drugs import router as drugs_api
    from .cubes import router as cubes_api
    from .lineage import router as lineage_api
    from .monitor import router as monitor_api
    from .records import router as records_api
    from .referrals import router as referrals_api
    from .registry import router as registry_api

    app.include_router(records_api)
    app.include_router(registry_api)
    app.include_router(lineage_api)
    app.include_router(cubes_api)
    app.include_router(monitor_api)  # /api/monitor: the exchange monitor (hub.monitor)
    app.include_router(workflows_api)  # /api/alerts, /api/subscriptions (hub.workflows)
    app.include_router(referrals_api)  # /api/referrals (hub.workflows.referral)
    app.include_router(drugs_api)  # /api/drugs: batch trace, patients, recalls (hub.workflows.drugs)
    install_console(app)  # /console/: the bureau's pages over the cube API (docs/console.md)
    app.soap = SoapFront(hub, soap_services(hub), max_body=settings.max_message_bytes)
    return app




def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` worker processes (settings from ``HIE_*``)."""
    settings = Settings.load()
    return create_app(settings, hub=Hub.open(settings, run_migrations=False))


__all__ = ["HubApp", "create_app", "app_from_environment"]
