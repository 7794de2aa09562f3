"""Every table of the OLTP store on one MetaData: the exchange core's and each domain package's."""
from __future__ import annotations

import importlib

from .models import Base

# Domain packages that define tables on ``Base`` (imported for their side effect).
MODEL_MODULES = ("hub.store.models", "hub.mpi.models", "hub.registry.models", "hub.auth.models",
                 "hub.records.models", "etl.models")


def metadata():
    """``Base.metadata`` with every domain's tables registered."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata


__all__ = ["metadata", "MODEL_MODULES"]
