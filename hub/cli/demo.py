"""``hie demo``: the exchange and the health-record store, end to end, in one command.

Creates the PKI (hub CA, hub certificates, member organizations with RSA and EC keys), starts
``hie serve`` on SQLite as a separate process, registers the demo region's institutions, submits
every example document through the real client as its author institution, shows a resend
getting its original receipt and a batch of corrected versions, fetches the signed, encrypted
acknowledgements (processed, or rejected with a code and field), then reads a resident's
longitudinal record through the records service — as the patient's own clinic, as a hospital
that must state a purpose, and refused without one; sends synthetic visits so that the analytics
have cells above the small-cell threshold, asks the cube API, creates the console's demo logins and
prints them with the console's URL — and stops the hub (``keep_serving``: serves until Ctrl-C).
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import click

from adapters.client import HubClient
from certs import PkiPaths, init_pki, issue_member
from certs.layout import MemberPaths
from protocol.credentials import Credentials
from protocol.xmlparse import parse_untrusted
from schemas import EXAMPLES_DIR as EXAMPLES

MEMBERS = (("CLINIC01", "示例社区卫生服务中心", "rsa-2048"),
           ("CLINIC02", "示例第二社区卫生服务中心", "rsa-2048"),
           ("CLINIC03", "示例第三社区卫生服务站", "ec-p256"), ("HOSP01", "示例区人民医院", "ec-p256"),
           ("HOSP02", "示例区中医院", "ec-p256"), ("BUREAU", "示例市卫生健康委员会", "rsa-2048"))
DOC = "{urn:hie:doc:v1}"


def _prepare_pki(pki: Path) -> dict[str, MemberPaths]:
    if not PkiPaths.of(pki).ca_cert.exists():
        init_pki(pki, hub_name="示例市区域卫生信息平台")
        click.echo(f"PKI created in {pki}")
    members = {}
    for code, name, key_type in MEMBERS:
        paths = MemberPaths.of(pki, code)
        if not paths.cert.exists():
            issue_member(pki, member=code, member_name=name, key_type=key_type)
        members[code] = paths
    return members


def _author(document) -> str:
    return document.find(f"{DOC}header/{DOC}author/{DOC}institution").get("code")


def _with_version(document, version: int):
    document.find(f"{DOC}header/{DOC}version").text = str(version)
    return document


def _seed_registry(data_dir: Path) -> None:
    """Register the demo region's institutions (what the bureau does once, through RegisterInstitution)."""
    from ..registry import seed_demo
    from ..settings import Settings
    from ..store.db import make_engine, session_factory, transaction

    engine = make_engine(Settings.load(data_dir).db_url)
    try:
        with transaction(session_factory(engine)) as session:
            seed_demo(session)
    finally:
        engine.dispose()


def run_demo(*, data_dir: Path, port: int = 0, keep_serving: bool = False, region_size: str = "small") -> int:
    from adapters.client import RecordsClient
    from adapters.errors import HubFault

    from .demo_agent import run_agent_demo
    from .demo_analytics import run_analytics_demo
    from .demo_console import create_logins, print_logins
    from .demo_map import import_demo_map
    from .demo_region import ensure_region, start_live
    from .demo_visits import send_visits
    from .local_hub import LocalHub
    from .region_load import load_region

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pki = data_dir / "pki"
    members = _prepare_pki(pki)
    region_dir = ensure_region(data_dir, region_size)
    # The bulk load runs as `hie region load` does: a hub of its own whose ETL waits, then one ETL run.
    # (An ETL every 10 s competing with the senders for the 2 cores cost the full year a tenth of its time.)
    click.echo("\nthe synthetic region through the exchange (hie region load):")
    load_region(region_dir, data_dir)
    live = None
    with LocalHub(data_dir, port=port, etl_interval=10) as hub:
        base = hub.base
        click.echo(f"\nhub up at {base}/soap/exchange?wsdl (SQLite: {data_dir / 'hub.db'}; its ETL loads the mart "
                   "every 10 s)")
        _seed_registry(data_dir)
        click.echo("registry: demo region, institutions, departments and (synthetic) practitioners registered")
        import_demo_map(data_dir)
        click.echo()
        paths = PkiPaths.of(pki)

        def client(kind, code):
            return kind(f"{base}/soap/{'records' if kind is RecordsClient else 'exchange'}",
                        credentials=Credentials.from_files(members[code].cert, members[code].key),
                        hub_cert=paths.hub_enc_cert, ca_cert=paths.ca_cert)

        clients = {code: client(HubClient, code) for code in members}
        examples = sorted(EXAMPLES.glob("*.xml"), key=lambda p: (p.stem == "Cancellation", p.name))
        click.echo("SubmitDocument, one request per example, each sent by its author institution:")
        first = None
        for path in examples:
            document = parse_untrusted(path.read_bytes())
            code = _author(document)
            message_id = f"urn:uuid:{uuid.uuid4()}"
            receipt = clients[code].submit(document, message_id=message_id)
            first = first or (path, code, message_id, receipt)
            click.echo(f"  {path.name:<30} {code:<9} {receipt.status:<9} sha256 {receipt.message_sha256[:16]}…")
        path, code, message_id, receipt = first
        again = clients[code].submit(parse_untrusted(path.read_bytes()), message_id=message_id)
        click.echo(f"\nresend of {path.name} (re-signed, same MessageID): "
                   f"{'same receipt' if again == receipt else 'DIFFERENT receipt'}")
        corrections = [p for p in examples if p.stem in ("OutpatientVisit", "Prescription", "Referral")]
        click.echo("\nSubmitBatch, corrected versions (version 2) in one request (CLINIC01):")
        batch = [(f"urn:uuid:{uuid.uuid4()}", _with_version(parse_untrusted(p.read_bytes()), 2)) for p in corrections]
        for p, batch_receipt in zip(corrections, clients["CLINIC01"].submit_batch(batch)):
            click.echo(f"  {p.name:<30} {batch_receipt.status}")
        bad = parse_untrusted((EXAMPLES / "OutpatientVisit.xml").read_bytes())
        bad.find(f"{DOC}header/{DOC}id").set("extension", "CLINIC01-OV-2026-BAD")
        bad.find(f"{DOC}body/{DOC}department").set("code", "99.99")
        click.echo(f"\na document with an unknown department code: {clients['CLINIC01'].submit(bad).status} "
                   "(the receipt only says it is stored; normalization judges it next)")
        time.sleep(2.0)  # let the processor normalize and queue acknowledgements
        click.echo("\nacknowledgements (fetched signed + encrypted, then acknowledged):")
        for code, exchange in clients.items():
            replies = exchange.fetch_replies()
            exchange.ack_replies([r.reply_id for r in replies])
            outcomes: dict[str, int] = {}
            for reply in replies:
                ack = parse_untrusted(reply.content)
                outcome = " ".join(filter(None, (ack.findtext("{urn:hie:exchange:v1}Status"),
                                                 ack.findtext("{urn:hie:exchange:v1}Code"),
                                                 ack.findtext("{urn:hie:exchange:v1}Field"))))
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if outcomes:
                click.echo(f"  {code:<9} " + "; ".join(f"{n} {outcome}" for outcome, n in outcomes.items()))
        _read_records(client(RecordsClient, "CLINIC01"), client(RecordsClient, "HOSP01"), HubFault)
        run_agent_demo(data_dir=data_dir, hub_url=f"{base}/soap/exchange", member="CLINIC02")
        send_visits(clients, now=datetime.now(timezone.utc))
        live = start_live(region_dir, base, pki)
        run_analytics_demo(data_dir=data_dir, base_url=base, since=datetime.now(timezone.utc))
        click.echo(f"\ninbox: hie messages --data-dir {data_dir}")
        print_logins(base, create_logins(data_dir))
        try:
            if keep_serving:
                click.echo("\nthe demo's hub keeps serving and the region's members keep sending: open the console "
                           "above; Ctrl-C stops everything")
                hub.serve_until_interrupted()
            else:
                click.echo(f"\nthe demo's hub stops now; to open the console, serve the demo's data again:\n"
                           f"  hie serve --data-dir {data_dir} --port {hub.port} --etl-interval 10")
        finally:
            live.stop()
        click.echo(f"stopped: live traffic sent {live.documents} documents")
    return 0


def _read_records(clinic, hospital, fault_type) -> None:
    """The longitudinal record of the examples' main (synthetic) patient, as three readers."""
    patient = parse_untrusted((EXAMPLES / "OutpatientVisit.xml").read_bytes())
    resident = next(el for el in patient.iter(f"{DOC}id") if el.get("root") == "2.16.156.10011.1.3")
    found = clinic.find_residents(identifier_root=resident.get("root"), identifier=resident.get("extension"))
    person_id = found[0]["person_id"]
    click.echo(f"\nresident query (CLINIC01, by resident ID): person {person_id}")
    record = clinic.longitudinal_record(person_id)
    summary = ", ".join(f"{name} {len(rows)}" for name, rows in record.items() if rows)
    click.echo(f"longitudinal record, read by CLINIC01 (own patient): {summary}")
    try:
        hospital.longitudinal_record(person_id)
    except fault_type as refused:
        click.echo(f"HOSP01 without a purpose of use: refused, {refused.code}")
    record = hospital.longitudinal_record(person_id, purpose="referral")
    click.echo(f"HOSP01 with purpose 'referral': {sum(len(rows) for rows in record.values())} entries (audited)")


__all__ = ["run_demo"]
