"""``hie workflows run`` and ``hie alerts list | ack | close`` on a data directory's hub database."""
from __future__ import annotations

import json

from click.testing import CliRunner

from hub.cli.main import main
from hub.registry import seed_demo
from hub.settings import Settings
from hub.store.db import session_factory, transaction
from tests.support.inbox import Store

from .reports import CHOLERA, disease_report
from tests.support.migrated import migrated_engine


def _hie(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_run_list_acknowledge_close(request, tmp_path):
    engine = migrated_engine(request, Settings.load(tmp_path).db_url)
    store = Store(session_factory(engine))
    with transaction(store.sessions) as session:
        seed_demo(session)
    store.deliver(disease_report("R-1", disease=CHOLERA, division="330105"))
    store.process()
    engine.dispose()
    data = ("--data-dir", str(tmp_path))

    ran = _hie("workflows", "run", *data)
    assert ran.exit_code == 0 and "disease.surveillance: 1 change(s)" in ran.output
    assert "disease.surveillance: 0 change(s)" in _hie("workflows", "run", *data).output

    listed = _hie("alerts", "list", *data, "--json")
    (alert,) = [json.loads(line) for line in listed.output.splitlines()]
    assert (alert["key"], alert["state"], alert["count"]) == ("102:330105", "open", 1)
    assert _hie("alerts", "list", *data, "--district", "330102").output.strip() == "no alerts"

    acked = _hie("alerts", "ack", *data, str(alert["id"]), "--note", "已核实")
    assert acked.exit_code == 0 and acked.output.strip() == f"alert {alert['id']}: acknowledged"
    refused = _hie("alerts", "ack", *data, str(alert["id"]))
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines()[-1] == (
        "error: workflow.alert.transition: the alert cannot make this move from its current state")
    assert _hie("alerts", "close", *data, str(alert["id"])).exit_code == 0
    missing = _hie("alerts", "close", *data, "999")
    assert missing.exit_code == 1 and "workflow.alert.not_found" in missing.output
    assert _hie("alerts", "list", *data, "--state", "closed").output.startswith(f"{alert['id']}  closed")
