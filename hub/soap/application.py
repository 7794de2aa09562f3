"""The hub's spyne applications: every SOAP service behind the security gate, Faults from codes.

Each domain declares its operations (``hub.exchange.soap``, ``hub.records.soap``,
``hub.registry.soap``); this module puts each in an application bound to its namespace, behind
the gate middleware for that service, and turns every error an operation raises into a Fault
rendered from its machine code alone.
"""
from __future__ import annotations

import logging
import sys

import spyne.const
from spyne import Application
from spyne.model.fault import Fault
from spyne.protocol.soap import Soap11

from protocol.errors import HubError

from ..errors import failure_summary
from .faults import fault_detail

# spyne runs a full gc.collect() after a request at most once a second (MethodContext.close):
# 50-70 ms with the GIL held, paid by every request in flight. Python's own generational
# collector is enough; the app freezes its startup objects so full collections stay short.
spyne.const.MIN_GC_INTERVAL = float("inf")
log = logging.getLogger(__name__)


def as_fault(exc: HubError, receipt: bytes | None = None) -> Fault:
    """A spyne Fault for ``exc``: party, fixed message and code (and a signed receipt, if any)."""
    return Fault(faultcode=exc.spec.party, faultstring=exc.message, detail=fault_detail(exc.code, receipt))


class HubApplication(Application):
    """spyne Application whose errors become Faults rendered from a machine code.

    A ``HubError`` keeps its code; anything else becomes ``server.unavailable``. spyne would
    otherwise put the exception's text (which may quote SQL parameters, i.e. patient data) into
    the Fault; here only the machine code leaves the process.
    """

    def call_wrapper(self, ctx):
        try:
            return super().call_wrapper(ctx)
        except Fault:
            raise
        except HubError as exc:
            raise as_fault(exc) from None
        except Exception:
            log.error("operation failed: %s", failure_summary(sys.exc_info()[1]))  # where, never the message
            raise as_fault(HubError("server.unavailable")) from None


def application(service_class, *, namespace: str, name: str) -> HubApplication:
    """One SOAP 1.1 service as a spyne application (no spyne validation: the gate has checked it)."""
    return HubApplication([service_class], tns=namespace, name=name, in_protocol=Soap11(validator=None),
                          out_protocol=Soap11())


def exchange_application() -> HubApplication:
    from ..exchange.soap import TNS, ExchangeService

    return application(ExchangeService, namespace=TNS, name="Exchange")


__all__ = ["as_fault", "application", "exchange_application", "HubApplication"]
