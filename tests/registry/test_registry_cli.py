"""``hie registry add | list`` and ``hie tokens issue``: a hand-run hub registers its members, and a
token is issued only for a registered, active member (one line and a non-zero exit otherwise)."""
from __future__ import annotations

from click.testing import CliRunner

from hub.auth.models import ApiToken
from hub.cli.main import main
from hub.store.db import make_engine, session_factory


def test_register_list_and_tokens_only_for_active_members(tmp_path):
    runner = CliRunner()

    def hie(*arguments):
        return runner.invoke(main, [*arguments, "--data-dir", str(tmp_path)])

    refused = hie("tokens", "issue", "--member", "CLINIC01")
    assert refused.exit_code == 1 and refused.output.count("\n") == 1 and "registry.not_found" in refused.output
    clinic = ("--code", "CLINIC01", "--name", "示例社区卫生服务中心", "--kind", "community_center", "--division", "330102")
    added = hie("registry", "add", *clinic)
    assert (added.exit_code, added.output) == (0, "CLINIC01: community_center, active\n")
    bad = hie("registry", "add", "--code", "X1", "--name", "x", "--kind", "castle", "--division", "330102")
    assert bad.exit_code == 1 and bad.output.count("\n") == 1 and "registry.invalid" in bad.output
    assert "CLINIC01" in hie("registry", "list").output and "X1" not in hie("registry", "list").output
    issued = hie("tokens", "issue", "--member", "CLINIC01")
    assert issued.exit_code == 0 and len(issued.output.strip()) >= 32
    assert hie("registry", "add", *clinic, "--inactive").exit_code == 0
    assert "inactive" in hie("registry", "list").output
    again = hie("tokens", "issue", "--member", "CLINIC01")
    assert again.exit_code == 1 and "registry.not_found" in again.output
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with session_factory(engine)() as session:
        assert session.query(ApiToken).filter_by(member="CLINIC01").count() == 1  # the refused ones stored nothing
    engine.dispose()


def test_tokens_always_expire_within_the_configured_lifetime(tmp_path, monkeypatch):
    runner = CliRunner()

    def hie(*arguments):
        return runner.invoke(main, [*arguments, "--data-dir", str(tmp_path)])

    assert hie("registry", "add", "--code", "BUREAU", "--name", "示例市卫生健康委员会", "--kind", "bureau",
               "--division", "330100").exit_code == 0
    for days in ("0", "-5", "366"):  # --days 0 once meant "never"
        refused = hie("tokens", "issue", "--member", "BUREAU", "--days", days)
        assert refused.exit_code == 2 and "--days" in refused.output, days
    monkeypatch.setenv("HIE_TOKEN_MAX_DAYS", "30")
    assert hie("tokens", "issue", "--member", "BUREAU", "--days", "31").exit_code == 2
    assert hie("tokens", "issue", "--member", "BUREAU", "--days", "30").exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with session_factory(engine)() as session:
        [token] = session.query(ApiToken).filter_by(member="BUREAU").all()
        assert token.expires_at is not None and (token.expires_at - token.created_at).days == 30
    engine.dispose()


def test_no_token_for_a_member_whose_certificates_are_all_revoked(tmp_path):
    runner = CliRunner()
    pki = str(tmp_path / "pki")

    def hie(*arguments):
        return runner.invoke(main, list(arguments))

    assert hie("pki", "init", "--dir", pki).exit_code == 0
    assert hie("pki", "issue", "--dir", pki, "--member", "CLINIC01").exit_code == 0
    assert hie("registry", "add", "--data-dir", str(tmp_path), "--code", "CLINIC01", "--name", "示例卫生服务站",
               "--kind", "clinic", "--division", "330102").exit_code == 0
    assert hie("tokens", "issue", "--data-dir", str(tmp_path), "--member", "CLINIC01").exit_code == 0
    assert hie("pki", "revoke", "--dir", pki, "--member", "CLINIC01").exit_code == 0
    refused = hie("tokens", "issue", "--data-dir", str(tmp_path), "--member", "CLINIC01")
    assert refused.exit_code == 1 and refused.output.count("\n") == 1 and "--renew" in refused.output
    assert hie("pki", "issue", "--dir", pki, "--member", "CLINIC01", "--renew").exit_code == 0
    assert hie("tokens", "issue", "--data-dir", str(tmp_path), "--member", "CLINIC01").exit_code == 0


def test_a_token_is_shown_once_and_only_its_hash_is_stored(tmp_path):
    import hashlib

    runner = CliRunner()
    assert runner.invoke(main, ["registry", "add", "--data-dir", str(tmp_path), "--code", "CLINIC01", "--name", "站",
                                "--kind", "clinic", "--division", "330102"]).exit_code == 0
    token = runner.invoke(main, ["tokens", "issue", "--data-dir", str(tmp_path), "--member", "CLINIC01"]).output.strip()
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with session_factory(engine)() as session:
        [stored] = session.query(ApiToken).filter_by(member="CLINIC01").all()
        assert stored.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    engine.dispose()
    raw = b"".join(path.read_bytes() for path in tmp_path.glob("hub.db*"))  # the database, its WAL and journal
    assert token.encode() not in raw and token[4:].encode() not in raw
