"""Fixtures of the schema tests."""
from __future__ import annotations

import pytest

from schemas.terminology import use_additions


@pytest.fixture
def shipped_lists_after():
    """Back to the shipped code lists after the test: a command or hub it opens makes this process follow
    its store's imported codes (``hub.codes.watch``), which later tests must not see."""
    yield
    use_additions(None)
