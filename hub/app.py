"""The hub's web application: FastAPI, with the spyne exchange mounted under ``/soap/``."""
from __future__ import annotations

import gc
import sys
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from .analytics_runtime import start_mart
from .exchange.processing import Processor
from .runtime import Hub
from .settings import Settings
from .soap.asgi import BufferedWsgi
from .soap.wsgi import GateMiddleware


class _SoapServices:
    """Route ``/soap/<service>`` (and its ``?wsdl``) to that service's gate; ``/soap/`` is the exchange."""

    def __init__(self, services: dict[str, object]):
        self.services = services

    def __call__(self, environ, start_response):
        name = environ.get("PATH_INFO", "").strip("/") or "exchange"
        app = self.services.get(name)
        if app is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        return app(environ, start_response)


def soap_services(hub: Hub) -> dict[str, object]:
    """Every SOAP service, each behind the security gate bound to its namespace."""
    from spyne.protocol.soap import Soap11
    from spyne.server.wsgi import WsgiApplication

    from .records.soap import SERVICE as RECORDS
    from .records.soap import RecordService
    from .registry.soap import SERVICE as REGISTRY
    from .registry.soap import RegistryService
    from .soap.service import HubApplication

    def behind_gate(service_class, spec, name):
        application = HubApplication([service_class], tns=spec.namespace, name=name,
                                     in_protocol=Soap11(validator=None), out_protocol=Soap11())
        return GateMiddleware(hub, WsgiApplication(application), service=spec)

    return {"exchange": GateMiddleware(hub),
            "records": behind_gate(RecordService, RECORDS, "Records"),
            "registry": behind_gate(RegistryService, REGISTRY, "Registry")}


def create_app(settings: Settings, *, hub: Hub | None = None) -> FastAPI:
    """Build the ASGI app for one hub process."""
    hub = hub or Hub.open(settings)
    processor = Processor(hub.sessions, interval=settings.processing_interval_s) if settings.start_processor else None

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
        analytics = start_mart(settings, hub.sessions)
        if analytics.mart is not None or not hasattr(_app.state, "mart"):
            _app.state.mart = analytics.mart  # tests may have put a mart there already
        yield
        analytics.stop()
        if processor:
            processor.stop()

    app = FastAPI(title="区域卫生信息平台 · exchange hub", lifespan=lifespan)
    app.state.hub = hub

    @app.get("/healthz")
    def healthz():
        with hub.sessions() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok", "crl_next_update": str(hub.trust.crl_next_update or "")}

    from .analytics.api import router as cubes_api
    from .lineage_api import router as lineage_api
    from .records.api import router as records_api
    from .registry.api import router as registry_api

    app.include_router(records_api)
    app.include_router(registry_api)
    app.include_router(lineage_api)
    app.include_router(cubes_api)
    app.mount("/soap", BufferedWsgi(_SoapServices(soap_services(hub)), max_body=settings.max_message_bytes))
    return app




def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` worker processes (settings from ``HIE_*``)."""
    settings = Settings.load()
    return create_app(settings, hub=Hub.open(settings, run_migrations=False))


__all__ = ["create_app", "app_from_environment"]
