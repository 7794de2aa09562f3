"""The review's failing tests use the workflow tests' store, PKI and live hub fixtures, and the ETL's."""
from __future__ import annotations

from tests.etl.conftest import etl  # noqa: F401
from tests.workflows.conftest import client_for, hub_paths, live_hub, members, pki_dir, store  # noqa: F401
