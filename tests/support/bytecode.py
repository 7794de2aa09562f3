"""Compiled modules cached for the test session and every process it starts, when the environment says
``PYTHONDONTWRITEBYTECODE``.

With that variable set, nothing is cached: the session compiled its ~300 test modules (pytest's assertion
rewriting among them), and each process a test starts (``hie serve``, its workers, processor and mart
owner; ``hie`` commands; the agent) compiled the project's modules again, about 0.4 s of a core per
process start here. The cache lives outside the source tree (``PYTHONPYCACHEPREFIX``, a folder in the
temporary directory), so the tree stays as the environment wants it; what any test runs is unchanged.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def share_bytecode() -> Path | None:
    """Cache bytecode under one prefix for this process and its children; the prefix, or None if the
    environment already lets Python cache it."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return None
    prefix = Path(os.environ.get("PYTHONPYCACHEPREFIX")
                  or Path(tempfile.gettempdir()) / f"hie-test-bytecode-{os.getuid()}")
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    sys.pycache_prefix = str(prefix)
    sys.dont_write_bytecode = False
    return prefix


__all__ = ["share_bytecode"]
