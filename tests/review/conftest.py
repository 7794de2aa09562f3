"""Fixtures of the second outside review of issue 23 (data quality): the agent tests' real hub process and
the exchange tests' PKI, reused as they are."""
from tests.agent.conftest import hub_process, running_hub  # noqa: F401 - shared fixtures
from tests.exchange.conftest import foreign_pki, hub_paths, members, pki_dir  # noqa: F401 - shared fixtures
from tests.console.conftest import (browser, console_hub, console_settings, page,  # noqa: F401 - shared fixtures
                                    shared_console_hub)
from tests.cubes.conftest import region  # noqa: F401 - shared fixture
