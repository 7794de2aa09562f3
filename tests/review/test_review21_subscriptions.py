"""Review of issue 21's subscriptions on a live hub (an outsider's failing tests): over SOAP a member
subscribes to the disease alerts of a district that is not its own, which /api/alerts never shows it."""
from __future__ import annotations

import pytest

from adapters.errors import HubFault
from tests.workflows.test_end_to_end import hub_api  # noqa: F401 - the live hub's SOAP and JSON clients


def test_a_clinic_cannot_subscribe_to_another_districts_disease_alerts(hub_api):  # noqa: F811
    """Leak: CLINIC02 (330105) subscribes over SOAP to 330102's disease alerts; its own /api/alerts scope is itself."""
    workflow, _api = hub_api
    with pytest.raises(HubFault) as refused:
        workflow("CLINIC02").subscribe("alert.disease", "330102")
    assert refused.value.code.startswith(("workflow.subscription.", "access."))
