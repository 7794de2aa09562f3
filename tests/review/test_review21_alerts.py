"""Review of issue 21's alerts API (an outsider's failing tests): the institution an alert is about
closes the bureau's alert against it."""
from __future__ import annotations

from types import SimpleNamespace

from fastapi import FastAPI
from fastapi.testclient import TestClient

from hub.auth import issue
from hub.store.db import transaction
from hub.web.alerts import router
from hub.workflows import alerts
from protocol.timestamps import utcnow


def test_an_institution_cannot_close_the_bureaus_drug_anomaly_alert_against_it(store):
    """Loss: CLINIC02 dispensed more than it received; it closes the bureau-owned drug.dispense.excess alert itself."""
    now = utcnow()
    with transaction(store.sessions) as session:
        raised = alerts.raise_alert(session, kind="drug.dispense.excess", key="YP0001:AMX1:CLINIC02", now=now,
                                    facts={"drug": "YP0001", "batch": "AMX1"}, owner="bureau", district="330105",
                                    institution="CLINIC02")
        alert_id = raised.alert.id
        token = issue(session, member="CLINIC02", label="test", now=now)
    app = FastAPI()
    app.state.hub = SimpleNamespace(sessions=store.sessions, certificates=None)
    app.include_router(router)
    answer = TestClient(app).post(f"/api/alerts/{alert_id}/close", json={"note": "已处理"},
                                  headers={"Authorization": f"Bearer {token}"})
    with store.sessions() as session:
        state = session.get(alerts.Alert, alert_id).state
    assert answer.status_code >= 400 and state == "open"
