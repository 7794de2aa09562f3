"""The session's small regions (``region_dir``: seed ``SEED``; ``other_region_dir``: seed 12) come from
tests/support/regions.py, which the suite's conftest loads."""
from __future__ import annotations

from tests.support.regions import SEED

__all__ = ["SEED"]
