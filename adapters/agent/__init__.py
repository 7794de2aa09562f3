"""``hie-agent``: the clinic's client agent — collect, durable outbox, push, replies written back."""
from .config import AgentConfig, ConfigError, load
from .findings import FindingLine, ReportedFinding
from .outbox import ItemState, Outbox, QuarantinedBy
from .runtime import Agent, JobBusy

__all__ = ["Agent", "AgentConfig", "ConfigError", "FindingLine", "ItemState", "JobBusy", "Outbox", "QuarantinedBy",
           "ReportedFinding", "load"]
