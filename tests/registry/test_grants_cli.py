"""``hie grants``: the operator gives, lists and ends identified-access grants; only bureaus get one."""
from __future__ import annotations

from click.testing import CliRunner

from hub.cli.main import main
from hub.registry import seed_demo
from hub.registry.access import has_identified_grant
from hub.store.db import session_factory, transaction
from protocol.timestamps import utcnow
from tests.support.migrated import migrated_engine


def test_grants_lifecycle(request, tmp_path):
    engine = migrated_engine(request, f"sqlite:///{tmp_path / 'hub.db'}")
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        seed_demo(session)
    runner = CliRunner()

    def hie(*arguments):
        return runner.invoke(main, [*arguments, "--data-dir", str(tmp_path)])

    issued = hie("grants", "issue", "--member", "BUREAU", "--days", "30")
    assert issued.exit_code == 0 and issued.output.startswith("grant 1: BUREAU may read identified records until")
    with sessions() as session:
        assert has_identified_grant(session, "BUREAU", utcnow())
    refused = hie("grants", "issue", "--member", "CLINIC01")
    assert refused.exit_code == 1 and "registry.invalid" in refused.output and "/member" in refused.output
    assert "BUREAU" in hie("grants", "list", "--active").output
    assert hie("grants", "revoke", "1").output == "grant 1 of BUREAU revoked\n"
    assert hie("grants", "list", "--active").output == "no grants\n"
    assert "revoked" in hie("grants", "list").output
    with sessions() as session:
        assert not has_identified_grant(session, "BUREAU", utcnow())
    assert "registry.not_found" in hie("grants", "revoke", "99").output
    engine.dispose()
