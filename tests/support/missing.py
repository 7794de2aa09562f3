"""A part the tests need is not installed: skipped on a developer's machine, a failure in CI.

CI (``CI=true``, set by ``.ci/run``) installs every part (scripts/install-system-packages.sh,
``pip install -e '.[test]'``); a test skipped there would hide that the part was never exercised.
"""
from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def missing(reason: str):
    """Skip the test for ``reason`` — or fail it, in CI."""
    if in_ci():
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)
