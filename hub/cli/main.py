"""``hie``: the hub's command line (serve, pki, messages, send, demo)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ..settings import Settings
from .errors import HubGroup
from .pki import pki as pki_group
from .store import open_store


@click.group(cls=HubGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """区域卫生信息平台 — regional health information exchange hub.

    \b
    Quick start (embedded default: SQLite, no servers):
      hie pki init --dir data/pki                 # hub CA + hub certificates
      hie pki issue --dir data/pki --member CLINIC01 # a member organization's certificate
      hie serve --data-dir data --port 8080       # WSDL at http://127.0.0.1:8080/soap/exchange?wsdl
      hie send --hub http://127.0.0.1:8080/soap/exchange --member CLINIC01 \\
               --cert data/pki/members/CLINIC01/cert.pem --key data/pki/members/CLINIC01/key.pem doc.xml
      hie messages --data-dir data                # what the inbox holds
      hie etl status --data-dir data              # the analytics mart's ETL (hie serve runs it every 5 min)

    Clinics run the agent: hie-agent init / push-now / run (docs/agent.md). Try everything: make demo.
    """


main.add_command(pki_group, "pki")


def _add_commands() -> None:
    from .codes import codes
    from .drugs import drugs
    from .etl import etl, lineage
    from .mart import mart_owner
    from .regions import region
    from .registry import grants, registry
    from .users import users as users_group
    from .workflows import alerts, workflows

    main.add_command(etl, "etl")
    main.add_command(lineage, "lineage")
    main.add_command(grants, "grants")
    main.add_command(registry, "registry")
    main.add_command(mart_owner, "mart-owner")
    main.add_command(users_group, "users")
    main.add_command(region, "region")
    main.add_command(codes, "codes")
    main.add_command(workflows, "workflows")
    main.add_command(alerts, "alerts")
    main.add_command(drugs, "drugs")


_add_commands()


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Data directory (SQLite database, PKI in DATA/pki).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--workers", type=int, default=1, show_default=True, help="Worker processes (one per core).")
@click.option("--database-url", default=None, help="SQLAlchemy URL (PostgreSQL in production).")
@click.option("--tls/--no-tls", default=False, help="Serve HTTPS with the hub's TLS certificate.")
@click.option("--require-client-cert", is_flag=True, help="With --tls: require a client certificate from the hub CA.")
@click.option("--processor/--no-processor", default=True, show_default=True,
              help="Also run the background processor (as its own lower-priority process).")
@click.option("--etl-interval", type=float, default=300.0, show_default=True,
              help="Seconds between ETL runs into the analytics mart (0: no ETL, no analytics in this hub).")
@click.option("--exit-with-parent", is_flag=True, hidden=True,
              help="Stop when the process that started this one is gone (hie demo, hie region load).")
def serve(data_dir, host, port, workers, database_url, tls, require_client_cert, processor, etl_interval,
          exit_with_parent):
    """Serve the SOAP services (/soap/exchange, /soap/records, /soap/registry), the JSON API, /healthz and /metrics.

    Accepting messages comes first: the processor that normalizes them into the health-record
    store runs as a separate process at a lower CPU priority (nice 10), so a burst of submissions
    is acknowledged at full speed and normalized as soon as there is room. This command supervises
    it: a processor that dies is started again (after 1 s, 2 s, 4 s … up to 30 s), and /healthz
    answers 503 naming it while it is down (docs/operations.md).
    """
    import ssl

    import uvicorn

    from certs import PkiPaths, expiry_warnings

    from ..supervisor import Supervisor
    from . import serving
    from .mart import owner_argv

    settings = Settings.load(data_dir, database_url=database_url)
    # Everything that can stop the hub from serving is checked before it says it serves.
    serving.check_pki(settings)
    serving.check_address(host, port)
    serving.check_database(settings)
    serving.publish_crl(serving.open_hub(settings), settings)  # migrate, load the keys; share a newer CRL
    for warning in expiry_warnings(settings.pki):
        click.echo(f"warning: {warning}", err=True)
    os.environ["HIE_DATA_DIR"] = str(settings.data_dir)
    if database_url:
        os.environ["HIE_DATABASE_URL"] = database_url
    os.environ["HIE_START_PROCESSOR"] = "0"  # web workers only accept; the processor process normalizes
    os.environ["HIE_PROCESSOR_EXPECTED"] = "1" if processor else "0"  # what /healthz requires
    os.environ["HIE_ETL_INTERVAL"] = str(etl_interval)  # the mart's owner (or the process that opens it) runs the ETL
    mart_owner = owner_argv(settings, etl_interval=etl_interval)  # None: no embedded mart to own
    if mart_owner:
        os.environ["HIE_MART_OWNER"] = "1"  # workers ask the owner process; none of them opens chDB
    options = {}
    if tls:
        paths = PkiPaths.of(settings.pki)
        options = {"ssl_certfile": str(paths.tls_cert), "ssl_keyfile": str(paths.tls_key)}
        if require_client_cert:
            options.update(ssl_ca_certs=str(paths.ca_cert), ssl_cert_reqs=ssl.CERT_REQUIRED)
    elif host not in ("127.0.0.1", "localhost", "::1"):
        click.echo("warning: plain HTTP on a non-loopback address; use --tls outside development", err=True)
    click.echo(f"hub serving http{'s' if tls else ''}://{host}:{port}/soap/exchange?wsdl "
               f"(data {settings.data_dir}, {workers} worker(s))", err=True)
    # One spec per child process, each restarted with backoff when it dies.
    children = [serving.processor_spec(settings, os.environ.copy())] if processor else []
    if mart_owner:
        children.append(serving.mart_owner_spec(mart_owner, os.environ.copy()))
    serving.log_supervision()
    supervisor = Supervisor(children, backoff=serving.backoff(settings)).start()
    if exit_with_parent:  # a command's own hub: killed with it (even by SIGKILL), it must not hold the data dir
        serving.stop_when_orphaned()
    try:
        uvicorn.run("hub.web.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", access_log=False, timeout_graceful_shutdown=5, **options)
    finally:
        # uvicorn re-raises a SIGTERM it caught once it has shut down, so this may not run: the
        # children then notice they have been orphaned (--exit-with-parent) and stop by themselves.
        supervisor.stop()


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--database-url", default=None)
@click.option("--nice", "niceness", type=int, default=0, show_default=True, help="Lower this process's CPU priority.")
@click.option("--interval", type=float, default=0.5, show_default=True, envvar="HIE_PROCESSING_INTERVAL",
              help="Seconds between polls when idle (env HIE_PROCESSING_INTERVAL, which hie serve passes on).")
@click.option("--batch", type=int, default=None, envvar="HIE_PROCESSING_BATCH",
              help="Messages per transaction (default 500; env HIE_PROCESSING_BATCH).")
@click.option("--exit-with-parent", is_flag=True, hidden=True,
              help="Stop when the process that started this one is gone (used by hie serve).")
def process(data_dir, database_url, niceness, interval, batch, exit_with_parent):
    """Run the background processor: normalize accepted messages into the health-record store."""
    import signal
    import threading

    from ..supervisor import follow_parent

    parent = follow_parent() if exit_with_parent else None  # first: hie serve may be gone already
    if exit_with_parent and parent is None:
        raise click.ClickException("process.orphaned: the hub that started this processor is gone; not starting")

    from sqlalchemy.exc import SQLAlchemyError

    from ..pipeline import BATCH, Processor
    from ..runtime import after_processing, processing_stages

    if niceness:
        os.nice(niceness)
    settings = Settings.load(data_dir, database_url=database_url)
    try:
        sessions = open_store(data_dir, database_url)
    except SQLAlchemyError as error:  # hie serve restarts it with a backoff; one line each time
        raise click.ClickException(f"server.unavailable: database unreachable ({type(error).__name__})") from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # also picks up what a crash left pending
    worker = Processor(sessions, processing_stages(), interval=interval, batch=batch or BATCH,
                       heartbeat=settings.processor_heartbeat, tx_timeout_s=settings.processing_tx_timeout_s,
                       after_tick=after_processing(sessions, settings)).start()
    # uvicorn re-raises the SIGTERM it caught once it has shut down, so `hie serve` may die without
    # running its cleanup: the processor notices it has been orphaned and stops by itself.
    while not stop.wait(1.0):
        if exit_with_parent and os.getppid() != parent:
            break
    worker.stop()
    sessions.kw["bind"].dispose()


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--database-url", default=None)
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message.")
def messages(data_dir, database_url, limit, as_json):
    """List what the inbox holds (newest first)."""
    from sqlalchemy import select

    from ..exchange.models import Message

    with open_store(data_dir, database_url, create=False)() as session:
        rows = session.scalars(select(Message).order_by(Message.id.desc()).limit(limit)).all()
    for row in rows:
        record = {"id": row.message_id, "member": row.member, "type": row.document_type, "status": row.status,
                  "code": row.error_code or "", "received_at": row.received_at.isoformat()}
        if as_json:
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            click.echo(f"{record['received_at']}  {record['member']:<12} {record['status']:<9} "
                       f"{record['code'] or '-':<28} {record['type']:<24} {record['id']}")
    if not rows and not as_json:
        click.echo("inbox is empty", err=True)


@main.group()
def tokens():
    """Bearer tokens for the JSON endpoints (/api/records/...), one organization each."""


@tokens.command("issue")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--database-url", default=None)
@click.option("--member", required=True, help="The registered, active member the token acts for.")
@click.option("--label", default="api", show_default=True, help="What the token is for (no personal data).")
@click.option("--days", type=click.IntRange(min=1), default=365, show_default=True,
              help="Validity in days (at most HIE_TOKEN_MAX_DAYS, 365 unless set).")
def tokens_issue(data_dir, database_url, member, label, days):
    """Issue a token for MEMBER and print it once (only its SHA-256 is stored)."""
    from certs import MemberCertificates, PkiPaths, TrustStore
    from protocol.timestamps import utcnow

    from ..auth import issue, standing_refusal
    from ..store.db import transaction

    settings = Settings.load(data_dir, database_url=database_url)
    if days > settings.token_max_days:
        raise click.BadParameter(f"at most {settings.token_max_days} days (HIE_TOKEN_MAX_DAYS)", param_hint="--days")
    certificates = (MemberCertificates(settings.pki, TrustStore(settings.pki))
                    if PkiPaths.of(settings.pki).ca_cert.exists() else None)
    now = utcnow()
    with transaction(open_store(data_dir, database_url)) as session:
        # a token the hub would refuse on its first use is not issued
        refusal = standing_refusal(session, member=member, issued_at=now, certificates=certificates)
        if refusal in ("unregistered", "inactive"):
            raise click.ClickException("registry.not_found: no active registry entry for this member "
                                       "(register it first: hie registry add)")
        if refusal is not None:
            raise click.ClickException("access.denied: every certificate of this member is revoked "
                                       "(issue a new one first: hie pki issue --renew)")
        token = issue(session, member=member, label=label, now=now, valid_days=days)
    click.echo(token)


@tokens.command("revoke")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--database-url", default=None)
@click.option("--member", required=True)
def tokens_revoke(data_dir, database_url, member):
    """Revoke every live token of MEMBER."""
    from protocol.timestamps import utcnow

    from ..auth import revoke
    from ..store.db import transaction

    with transaction(open_store(data_dir, database_url)) as session:
        click.echo(f"revoked {revoke(session, member=member, now=utcnow())} token(s) of {member}")


@main.command()
@click.option("--hub", "hub_url", required=True, help="Exchange URL, e.g. http://127.0.0.1:8080/soap/exchange")
@click.option("--member", required=True, help="Your member code (must match your certificate).")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--hub-cert", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Hub encryption certificate [default: PKI/hub/enc-cert.pem next to --cert].")
@click.option("--ca", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Hub CA certificate [default: PKI/ca/cert.pem next to --cert].")
@click.option("--batch", is_flag=True, help="Send all files in one SubmitBatch call.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def send(hub_url, member, cert, key, hub_cert, ca, batch, files):
    """Sign, encrypt and submit XML documents; print each verified receipt."""
    from .send import send_files

    sys.exit(send_files(hub_url=hub_url, member=member, cert=cert, key=key, hub_cert=hub_cert, ca=ca, batch=batch,
                        files=files))


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path(".demo"), show_default=True)
@click.option("--port", type=int, default=0, help="Port for the demo hub (0: a free one).")
@click.option("--keep-serving", is_flag=True, help="Leave the demo's hub serving (the console) until Ctrl-C.")
@click.option("--region", "region_size", type=click.Choice(["small", "full", "month"]), default="small",
              show_default=True, help="The synthetic region to load: small (3 months, 3,000 residents), full (a "
                                      "year, 50,000) or month (the small one's residents, last month only).")
def demo(data_dir, port, keep_serving, region_size):
    """Set up a PKI, start a hub on SQLite, load the synthetic region and push the examples through the client."""
    from .demo import run_demo

    sys.exit(run_demo(data_dir=data_dir, port=port, keep_serving=keep_serving, region_size=region_size))


if __name__ == "__main__":  # pragma: no cover
    main()
