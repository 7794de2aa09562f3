"""The workflows' refusals: a ``HubError`` with a ``workflow.*`` code of the fault table."""
from __future__ import annotations

from protocol.errors import HubError


class WorkflowError(HubError):
    """A workflow operation refused (an illegal move, an unknown alert or topic)."""


__all__ = ["WorkflowError"]
