"""``hie demo``: a whole exchange on the embedded default, end to end, in one command.

Creates the PKI (hub CA, hub certificates, two member organizations: one RSA, one EC), starts
``hie serve`` on SQLite as a separate process, submits the example documents through the real
client (one by one, then as a batch), prints the verified receipts, shows a resend getting its
original receipt, fetches the acknowledgement replies and stops the hub.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import click
import requests

from adapters.client import HubClient
from certs import PkiPaths, init_pki, issue_member
from certs.layout import MemberPaths

from .wssec.credentials import Credentials
from .wssec.xmlparse import parse_untrusted

EXAMPLES = Path(__file__).resolve().parent.parent / "schemas" / "examples"
MEMBERS = (("CLINIC01", "示例社区卫生服务中心", "rsa-2048"), ("HOSP01", "示例区人民医院", "ec-p256"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _prepare_pki(pki: Path) -> dict[str, MemberPaths]:
    if not PkiPaths.of(pki).ca_cert.exists():
        init_pki(pki, hub_name="示例市区域卫生信息平台")
        click.echo(f"PKI created in {pki}")
    members = {}
    for code, name, key_type in MEMBERS:
        paths = MemberPaths.of(pki, code)
        if not paths.cert.exists():
            issue_member(pki, org_code=code, org_name=name, key_type=key_type)
        members[code] = paths
    return members


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException("the hub exited during start-up")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise click.ClickException("the hub did not become healthy")


def run_demo(*, data_dir: Path, port: int = 0) -> int:
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pki = data_dir / "pki"
    members = _prepare_pki(pki)
    port = port or _free_port()
    base = f"http://127.0.0.1:{port}"
    hub = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--data-dir", str(data_dir),
                            "--port", str(port)], env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        _wait_healthy(base + "/healthz", hub)
        click.echo(f"hub up at {base}/soap/exchange?wsdl (SQLite: {data_dir / 'hub.db'})\n")
        documents = sorted(EXAMPLES.glob("*.xml"))
        clients = {code: HubClient(base + "/soap/exchange", credentials=Credentials.from_files(p.cert, p.key),
                                   hub_cert=PkiPaths.of(pki).hub_enc_cert, ca_cert=PkiPaths.of(pki).ca_cert)
                   for code, p in members.items()}
        clinic, hospital = clients["CLINIC01"], clients["HOSP01"]
        click.echo("SubmitDocument, one request per document (CLINIC01, RSA key):")
        first = None
        for path in documents:
            message_id = f"urn:uuid:{uuid.uuid4()}"
            receipt = clinic.submit(parse_untrusted(path.read_bytes()), message_id=message_id)
            first = first or (path, message_id, receipt)
            click.echo(f"  {path.name:<28} {receipt.status:<9} {receipt.message_id}  sha256 {receipt.message_sha256[:16]}…")
        path, message_id, receipt = first
        again = clinic.submit(parse_untrusted(path.read_bytes()), message_id=message_id)
        click.echo(f"\nresend of {path.name} (re-signed, same MessageID): "
                   f"{'same receipt' if again == receipt else 'DIFFERENT receipt'}")
        click.echo("\nSubmitBatch, all documents in one request (HOSP01, EC P-256 key):")
        batch = [(f"urn:uuid:{uuid.uuid4()}", parse_untrusted(p.read_bytes())) for p in documents]
        for (p, receipt) in zip(documents, hospital.submit_batch(batch)):
            click.echo(f"  {p.name:<28} {receipt.status:<9} {receipt.message_id}")
        time.sleep(1.5)  # let the processor finish and queue acknowledgements
        for code, client in clients.items():
            replies = client.fetch_replies()
            acked = client.ack_replies([r.reply_id for r in replies])
            kinds = sorted({r.kind for r in replies})
            click.echo(f"\n{code}: fetched {len(replies)} signed+encrypted replies ({', '.join(kinds)}), acknowledged {acked}")
        click.echo(f"\ninbox: hie messages --data-dir {data_dir}")
        return 0
    finally:
        hub.terminate()
        try:
            hub.wait(timeout=10)
        except subprocess.TimeoutExpired:
            hub.kill()


__all__ = ["run_demo"]
