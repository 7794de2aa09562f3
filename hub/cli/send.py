"""``hie send``: submit files with the client library and print the verified receipts."""
from __future__ import annotations

import uuid
from pathlib import Path

import click

from adapters.client import HubClient
from adapters.errors import AdapterError, HubFault
from protocol.credentials import Credentials
from protocol.errors import HubError
from protocol.xmlparse import parse_untrusted


def _default(path: Path | None, cert: Path, relative: str) -> Path:
    if path is not None:
        return path
    guess = cert.resolve().parent.parent.parent / relative  # PKI/members/CODE/cert.pem → PKI/relative
    if not guess.exists():
        raise click.UsageError(f"cannot find {relative} next to the certificate; pass it explicitly")
    return guess


def send_files(*, hub_url: str, member: str, cert: Path, key: Path, hub_cert: Path | None, ca: Path | None,
               batch: bool, files) -> int:
    """Send ``files``; returns the process exit code (0 all accepted, 1 some refused)."""
    credentials = Credentials.from_files(cert, key)
    if credentials.member != member:
        raise click.UsageError(f"--member {member} does not match the certificate's member")
    client = HubClient(hub_url, credentials=credentials, hub_cert=_default(hub_cert, cert, "hub/enc-cert.pem"),
                       ca_cert=_default(ca, cert, "ca/cert.pem"))
    documents = []
    for path in files:
        try:
            documents.append((path, f"urn:uuid:{uuid.uuid4()}", parse_untrusted(path.read_bytes())))
        except HubError as exc:
            click.echo(f"{path}: not sent: {exc.code}: {exc.message}", err=True)
            return 1
    failures = 0
    try:
        if batch:
            receipts = client.submit_batch([(mid, doc) for _, mid, doc in documents])
            for (path, _, _), receipt in zip(documents, receipts):
                failures += not receipt.accepted
                click.echo(_line(path, receipt))
        else:
            for path, mid, doc in documents:
                try:
                    click.echo(_line(path, client.submit(doc, message_id=mid)))
                except HubFault as fault:
                    failures += 1
                    click.echo(f"{path}: rejected {fault.code}: {fault.message}", err=True)
    except AdapterError as exc:
        click.echo(f"error: {exc.code}: {exc}", err=True)
        return 2
    return 1 if failures else 0


def _line(path: Path, receipt) -> str:
    return (f"{path}: {receipt.status} {receipt.code or ''} message={receipt.message_id} "
            f"sha256={receipt.message_sha256[:16]}… at={receipt.received_at:%Y-%m-%d %H:%M:%S}Z").replace("  ", " ")


__all__ = ["send_files"]
