"""Every table of the OLTP store on one MetaData: each domain's ``models`` (and the audit trail's)."""
from __future__ import annotations

import importlib

from .models import Base

# Domain packages that define tables on ``Base`` (imported for their side effect).
MODEL_MODULES = ("hub.exchange.models", "hub.audit", "hub.mpi.models", "hub.registry.models", "hub.auth.models",
                 "hub.records.models", "etl.models", "hub.web.console.models", "hub.monitor.models",
                 "hub.codes.models", "hub.workflows.models", "hub.workflows.referral.models",
                 "hub.workflows.drugs.models", "hub.workflows.surveillance.models", "hub.store.lease",
                 "hub.pki_sync")


def metadata():
    """``Base.metadata`` with every domain's tables registered."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata


__all__ = ["metadata", "MODEL_MODULES"]
