"""Referral deadlines as a hub setting (``HIE_REFERRAL_DEADLINES``): a shorter deadline makes a case
overdue sooner, an override of one step keeps the other steps' defaults, ``hie workflows run`` uses the
setting, and a value the hub cannot work with is refused when the hub (or a command) starts, in one line."""
from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hub.cli.main import main
from hub.registry import seed_demo
from hub.settings import Settings, SettingsError
from hub.store.db import session_factory, transaction
from hub.workflows import run_pass
from hub.workflows.models import Alert
from hub.workflows.referral import overdue, service
from hub.workflows.referral.models import ReferralCase, ReferralState
from protocol.timestamps import utcnow
from tests.support.inbox import Store

from .referral_documents import referral
from tests.support.migrated import migrated_engine

VARIABLE = "HIE_REFERRAL_DEADLINES"


def _configured(store, tmp_path, **deadlines: timedelta) -> Store:
    """The store's database through a session factory of a hub with these deadlines (as ``Hub.open`` makes it)."""
    settings = Settings(data_dir=tmp_path, referral_deadlines=deadlines)
    return Store(session_factory(store.sessions.kw["bind"], settings=settings))


def _open_case(store) -> ReferralCase:
    store.deliver(referral("REF-DL-1"))
    store.process()
    run_pass(store.sessions)
    with store.sessions() as session:
        return session.scalars(select(ReferralCase).order_by(ReferralCase.id.desc()).limit(1)).one()


def test_the_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(VARIABLE, " requested=24h, accepted = 7d ")
    settings = Settings.load(tmp_path)
    assert settings.referral_deadlines == {"requested": timedelta(hours=24), "accepted": timedelta(days=7)}
    assert overdue.deadlines(settings.referral_deadlines) == {
        ReferralState.REQUESTED: timedelta(hours=24), ReferralState.ACCEPTED: timedelta(days=7),
        ReferralState.DISCHARGED: timedelta(days=14)}  # not named: its default
    monkeypatch.delenv(VARIABLE)
    assert overdue.deadlines(Settings.load(tmp_path).referral_deadlines) == dict(overdue.DEFAULT_DEADLINES)


def test_a_shorter_deadline_makes_a_case_overdue(store, tmp_path):
    short = _configured(store, tmp_path, requested=timedelta(hours=2))
    case = _open_case(short)
    assert case.due_at == case.requested_at + timedelta(hours=2)
    with transaction(short.sessions) as session:  # the default, 48 hours, would wait two days more
        assert overdue.check(session, utcnow() + timedelta(hours=1)) == 0
        assert overdue.check(session, utcnow() + timedelta(hours=3)) == 1
        assert session.scalar(select(Alert.owner).where(Alert.kind == overdue.KIND)) == "HOSP01"


def test_an_override_of_one_step_keeps_the_others_defaults(store, tmp_path):
    configured = _configured(store, tmp_path, accepted=timedelta(days=7))
    case = _open_case(configured)
    assert case.due_at == case.requested_at + timedelta(hours=48)  # requested: its default
    with transaction(configured.sessions) as session:
        assert overdue.check(session, utcnow() + timedelta(hours=47)) == 0
        assert overdue.check(session, utcnow() + timedelta(hours=49)) == 1
        accepted = service.act(session, case_id=case.id, action="accept", actor="HOSP01", now=utcnow(),
                               appointment=utcnow() + timedelta(days=1))
        assert accepted.due_at == accepted.updated_at + timedelta(days=7)  # no deadline by default
    with transaction(configured.sessions) as session:
        assert overdue.check(session, utcnow() + timedelta(days=6)) == 0
        assert overdue.check(session, utcnow() + timedelta(days=8)) == 1  # the hospital's: the stay runs late
        keys = session.scalars(select(Alert.key).where(Alert.kind == overdue.KIND).order_by(Alert.id)).all()
    assert keys == [f"{case.id}:requested", f"{case.id}:accepted"]


def test_hie_workflows_run_uses_the_setting(request, tmp_path, monkeypatch):
    engine = migrated_engine(request, Settings.load(tmp_path).db_url)
    store = Store(session_factory(engine))
    with transaction(store.sessions) as session:
        seed_demo(session)
    store.deliver(referral("REF-DL-CLI"))
    store.process()
    monkeypatch.setenv(VARIABLE, "requested=6h")
    ran = CliRunner().invoke(main, ["workflows", "run", "--data-dir", str(tmp_path)], catch_exceptions=False)
    assert ran.exit_code == 0 and "referral.cases: 1 change(s)" in ran.output
    with store.sessions() as session:
        case = session.scalars(select(ReferralCase)).one()
    engine.dispose()
    assert case.due_at == case.requested_at + timedelta(hours=6)


@pytest.mark.parametrize("value, why", [
    ("referred=48h", "unknown referral state 'referred'"),
    ("requested=2w", "the deadline of 'requested' is not a whole number of hours (h) or days (d)"),
    ("requested=1.5d", "the deadline of 'requested' is not a whole number of hours (h) or days (d)"),
    ("requested=48", "the deadline of 'requested' is not a whole number of hours (h) or days (d)"),
    ("requested=0h", "the deadline of 'requested' must be longer than zero"),
    ("discharged=-3d", "the deadline of 'discharged' must be longer than zero"),
    ("rejected=1d", "the state 'rejected' waits for no party: it has no deadline"),
    ("requested=1h,requested=2h", "the state 'requested' is named twice"),
    ("requested=48h,", "expected state=duration items separated by commas (e.g. requested=48h,discharged=14d)"),
])
def test_a_bad_value_is_refused_when_the_hub_starts(tmp_path, monkeypatch, value, why):
    monkeypatch.setenv(VARIABLE, value)
    with pytest.raises(SettingsError) as refused:
        Settings.load(tmp_path)
    assert (refused.value.code, refused.value.detail) == ("settings.invalid", f"{VARIABLE}: {why}")
    # hie serve, hie processor, hie workflows run … all load the settings first: one line, no traceback
    for command in (["serve", "--data-dir", str(tmp_path)], ["workflows", "run", "--data-dir", str(tmp_path)]):
        ran = CliRunner().invoke(main, command)
        assert ran.exit_code == 1
        assert ran.output.strip().splitlines() == [f"error: settings.invalid: {VARIABLE}: {why}"]
