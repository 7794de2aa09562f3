"""The demo's console logins: four users of the bureau console, each with a password made for this run.

A city analyst, a district analyst (上城区), an operator and HOSP01's administrator, as
``hie users add`` would create them. Passwords are generated here (``secrets``), never written in
the code or on disk in clear, and printed once at the end of the demo. A second demo run gives the
same users new passwords (the old ones stop working).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import click
from argon2 import PasswordHasher


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    region: str | None
    institution: str | None
    name: str


LOGINS = (
    DemoLogin("demo.city", "analyst", "330100", None, "演示·市卫健委分析员"),
    DemoLogin("demo.district", "analyst", "330102", None, "演示·上城区分析员"),
    DemoLogin("demo.operator", "operator", "330100", None, "演示·平台运维"),
    DemoLogin("demo.hosp01", "institution_admin", None, "HOSP01", "演示·示例区人民医院管理员"),
)


def create_logins(data_dir: Path) -> dict[str, str]:
    """Create (or re-key) the demo's console users; their passwords, to be printed once."""
    from protocol.timestamps import utcnow

    from ..settings import Settings
    from ..store.db import make_engine, session_factory, transaction
    from ..web.console.users import create, get_by_name

    passwords = {login.username: secrets.token_urlsafe(12) for login in LOGINS}
    engine = make_engine(Settings.load(data_dir).db_url)
    try:
        with transaction(session_factory(engine)) as session:
            for login in LOGINS:
                user = get_by_name(session, username=login.username)
                if user is None:
                    create(session, username=login.username, password=passwords[login.username], role=login.role,
                           now=utcnow(), region_code=login.region, institution_code=login.institution,
                           display_name=login.name)
                else:  # a second run: a new password (argon2-cffi's defaults, as the console's own hasher)
                    user.password_hash = PasswordHasher().hash(passwords[login.username])
                    user.disabled_at = None
    finally:
        engine.dispose()
    return passwords


def print_logins(base_url: str, passwords: dict[str, str]) -> None:
    click.echo(f"\nbureau console: {base_url}/console/")
    click.echo("demo logins (DEMO ONLY: generated for this run, printed once; synthetic data):")
    for login in LOGINS:
        scope = f"region {login.region}" if login.region else f"institution {login.institution}"
        click.echo(f"  {login.username:<14} {passwords[login.username]:<18} {login.role:<17} {scope}")


__all__ = ["LOGINS", "DemoLogin", "create_logins", "print_logins"]
