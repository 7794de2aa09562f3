"""``pki`` command group (mounted by the hub as ``hie pki``): init, issue, revoke, crl, list.

``hie pki issue --register`` also enters the member in the hub's registry (kind, division) in the
same step: the certificate says who a member is, the registry what it may read.
"""
from __future__ import annotations

import functools
import json
import sys

from pathlib import Path

import click

from certs.crl import CRL_DAYS, REASONS
from certs.errors import CertsError
from certs.expiry import expiry_warnings
from certs.keys import KEY_TYPES, RSA_KEY_TYPES
from certs.layout import PkiPaths
from certs.pki import DEFAULT_HUB_NAME, HUB_DAYS, init_pki, issue_member, refresh_crl, revoke_member
from certs.registry import iso_utc, list_certificates

ERROR_EXIT_CODE = 2
MAX_DAYS = 36_500  # a century: longer is a typo (and beyond what a date can hold, an overflow)

_dir_option = click.option(
    "--dir", "directory", required=True, type=click.Path(file_okay=False), help="PKI directory."
)


def _reporting_errors(command):
    """Turn a CertsError into ``error: <code>: <message>`` on stderr and exit code 2."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except CertsError as error:
            click.echo(f"error: {error.code}: {error.message}", err=True)
            sys.exit(ERROR_EXIT_CODE)
    return wrapper


@click.group(name="pki")
def pki() -> None:
    """Manage the hub's CA, the hub certificates and member certificates."""


@pki.command("init")
@_dir_option
@click.option("--hub-name", default=DEFAULT_HUB_NAME, show_default=True, help="Hub organization name.")
@click.option("--ca-key-type", type=click.Choice(KEY_TYPES), default="ec-p256", show_default=True)
@click.option("--sign-key-type", type=click.Choice(KEY_TYPES), default="ec-p256", show_default=True)
@click.option("--enc-key-type", type=click.Choice(RSA_KEY_TYPES), default="rsa-2048", show_default=True)
@click.option("--hostname", "hostnames", multiple=True, help="Extra TLS hostname or IP (repeatable).")
@click.option("--days", type=click.IntRange(1, MAX_DAYS), default=HUB_DAYS, show_default=True,
              help="Validity of the hub certificates.")
@click.option("--force", is_flag=True,
              help="Replace an existing PKI: new CA, and all member certificates are discarded.")
@_reporting_errors
def init_command(directory, hub_name, ca_key_type, sign_key_type, enc_key_type, hostnames, days, force):
    """Create the CA, the hub signing/encryption/TLS certificates, an empty CRL and registry."""
    paths = init_pki(directory, hub_name=hub_name, ca_key_type=ca_key_type, sign_key_type=sign_key_type,
                     enc_key_type=enc_key_type, hostnames=hostnames, days=days, force=force)
    click.echo(f"CA certificate:        {paths.ca_cert}")
    click.echo(f"hub signing cert:      {paths.hub_sign_cert}")
    click.echo(f"hub encryption cert:   {paths.hub_enc_cert}")
    click.echo(f"hub TLS cert:          {paths.tls_cert}")
    click.echo(f"CRL:                   {paths.crl}")


@pki.command("issue")
@_dir_option
@click.option("--member", "member", required=True, help="Member code.")
@click.option("--name", "member_name", default=None,
              help="The member's name in its certificate (defaults to the code) and, with --register, in the registry.")
@click.option("--key-type", type=click.Choice(KEY_TYPES), default="rsa-2048", show_default=True)
@click.option("--days", type=click.IntRange(1, MAX_DAYS), default=365, show_default=True)
@click.option("--renew", is_flag=True, help="Replace the member's current certificate and key.")
@click.option("--register", is_flag=True,
              help="Also register the member in the hub's registry (needs --data-dir, --name, --kind, --division).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="With --register: the hub's data directory (its database).")
@click.option("--database-url", default=None, help="With --register: the hub's database URL instead.")
@click.option("--kind", default=None, help="With --register: hospital, community_center, clinic, bureau, cdc, "
                                           "pharmacy, supplier or distributor.")
@click.option("--division", "division_code", default=None, help="With --register: GB/T 2260 division, e.g. 330102.")
@click.option("--level", default=None, help="With --register: hospital grade 3, 2, 1 or 9.")
@click.option("--parent", "parent_code", default=None, help="With --register: the member it belongs to.")
@_reporting_errors
def issue_command(directory, member, member_name, key_type, days, renew, register, data_dir, database_url, kind,
                  division_code, level, parent_code):
    """Issue a member certificate and key; prints their paths. With --register, also its registry entry."""
    def issue():
        return issue_member(directory, member=member, member_name=member_name, key_type=key_type, days=days,
                            renew=renew)

    if register:
        missing = [option for option, value in (("--data-dir or --database-url", data_dir or database_url),
                                                ("--name", member_name), ("--kind", kind),
                                                ("--division", division_code)) if not value]
        if missing:
            raise click.UsageError(f"--register needs {', '.join(missing)}")
        issued = _register_and_issue(data_dir, database_url, issue, code=member, name=member_name, kind=kind,
                                     division_code=division_code, level=level, parent_code=parent_code)
    else:
        issued = issue()
    click.echo(f"certificate: {issued.cert}")
    click.echo(f"private key: {issued.key}")
    if register:
        click.echo(f"registry:    {member}: {kind}, {division_code}, active")


def _register_and_issue(data_dir, database_url, issue, **entry):
    """Register (or update) the entry, then issue; one transaction: a refused certificate registers nothing."""
    from protocol.errors import HubError

    from ..registry.actor import HUB_OPERATOR
    from ..registry.service import register_institution
    from ..store.db import transaction
    from .store import open_store

    if database_url is None:
        data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with transaction(open_store(data_dir, database_url)) as session:
            register_institution(session, actor=HUB_OPERATOR, status="active", **entry)
            return issue()
    except HubError as error:
        field = error.fields.get("field")
        click.echo(f"error: {error.code}: {error.message}" + (f" ({field.lstrip('/')})" if field else ""), err=True)
        sys.exit(ERROR_EXIT_CODE)


_publish_options = (
    click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                 help="The hub's data directory: also publish the CRL in its database for every node."),
    click.option("--database-url", default=None,
                 help="The hub's database URL (or HIE_DATABASE_URL): also publish the CRL there for every node."),
)


def _publishing(command):
    for option in reversed(_publish_options):
        command = option(command)
    return command


@pki.command("revoke")
@_dir_option
@click.option("--member", "member", required=True, help="Member code.")
@click.option("--reason", type=click.Choice(REASONS), default="unspecified", show_default=True)
@_publishing
@_reporting_errors
def revoke_command(directory, member, reason, data_dir, database_url):
    """Revoke a member's certificates and rewrite the CRL; prints the CRL path. With the hub's database,
    also publishes the CRL there: every node takes it up within HIE_CRL_POLL_S."""
    click.echo(revoke_member(directory, member=member, reason=reason))
    _publish(directory, data_dir, database_url)


@pki.command("crl")
@_dir_option
@click.option("--days", type=click.IntRange(1, MAX_DAYS), default=CRL_DAYS, show_default=True,
              help="Days until the CRL's nextUpdate.")
@_publishing
@_reporting_errors
def crl_command(directory, days, data_dir, database_url):
    """Re-sign the CRL with a fresh nextUpdate (schedule it well inside the CRL lifetime); with the hub's
    database, also publishes it there."""
    click.echo(refresh_crl(directory, days=days))
    _publish(directory, data_dir, database_url)


def _publish(directory, data_dir, database_url) -> None:
    """Publish the directory's CRL in the hub's database, when the command knows it (hub.pki_sync)."""
    import os

    if data_dir is None and not (database_url or os.environ.get("HIE_DATABASE_URL")):
        return
    from ..pki_sync import publish
    from .store import open_store

    from sqlalchemy.exc import SQLAlchemyError

    from .errors import database_line

    try:
        number = publish(open_store(data_dir, database_url, create=False), directory)
    except SQLAlchemyError as error:  # the CRL is written here; the other nodes have not got it yet
        raise click.ClickException(f"{database_line(error)}: the CRL is written in {directory} but not published "
                                   "for the other nodes; run `hie pki crl` with the database again") from None
    click.echo(f"published: CRL {number}" if number is not None else "published: a CRL as new is there already")


@pki.command("list")
@_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_reporting_errors
def list_command(directory, as_json):
    """List issued certificates with status and expiry; warnings go to stderr."""
    if not PkiPaths.of(directory).ca_cert.is_file():
        raise CertsError("pki.missing", detail=str(directory))  # not an empty list: a mistyped --dir
    records = list_certificates(directory)
    if as_json:
        click.echo(json.dumps([_as_json(record) for record in records], ensure_ascii=False, indent=2))
    else:
        rows = [("ROLE", "MEMBER", "SERIAL", "KEY", "STATUS", "NOT AFTER", "DAYS")]
        rows += [(r.role, r.member, r.serial_hex[:16], r.key_type, r.status,
                  r.not_after.strftime("%Y-%m-%d"), str(r.expires_in_days)) for r in records]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    for line in expiry_warnings(directory):
        click.echo(f"warning: {line}", err=True)


def _as_json(record) -> dict:
    return {
        "serial": record.serial_hex,
        "member": record.member,
        "role": record.role,
        "key_type": record.key_type,
        "not_before": iso_utc(record.not_before),
        "not_after": iso_utc(record.not_after),
        "revoked_at": iso_utc(record.revoked_at) if record.revoked_at else None,
        "revocation_reason": record.revocation_reason,
        "cert": str(record.cert_path),
        "expires_in_days": record.expires_in_days,
        "status": record.status,
    }
