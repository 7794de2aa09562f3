"""``hie region load``'s stages: prepare a hub for the region, send every member's year, wait for processing.

    prepare(generated, data_dir)          PKI (hub CA, one certificate per member), the registry import
    send(generated, ledger, target, ...)  every sending member's member-months through the real exchange,
                                          signed and encrypted as that member, members in parallel processes
    wait_processed(data_dir)              until the hub's processor has moved every accepted message on

The hub itself is started (and the ETL run) by the command (hub/cli/region_load.py), which also
prints throughput per stage. A member-month goes out in the order its events were planned, in
SubmitBatch requests of at most ``BATCH`` documents; an event with ``send_delay`` = d months (a late
message) goes out with the batch of the month d later (the last month's late ones at its end). Each
document's MessageID is derived from the region's seed and the document (id, version, kind), so a
resumed load resends exactly the same MessageIDs and the hub answers them with their original
receipts: nothing is stored twice (ledger.py says what is marked when).
"""
from __future__ import annotations

import json
import multiprocessing
import queue as queue_module
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import RegionError
from .events import plan, senders
from .generate import GENERATOR_VERSION, Generated
from .ledger import Ledger

BATCH = 200                    # protocol.limits.MAX_BATCH_DOCUMENTS
HUB_NAME = "合成市区域卫生信息平台"
KEY_TYPES = {"hospital": "ec-p256", "distributor": "ec-p256"}  # the others: rsa-2048 (both kinds are in use)
RETRIES = 5
_NAMESPACE = uuid.UUID("6f1d3c2a-8a57-4f0e-9d7c-2a1f5e0b7c11")


@dataclass(frozen=True)
class Target:
    """Where the members send and with which PKI: the hub's base URL (``http://127.0.0.1:PORT``)."""

    base_url: str
    pki: Path
    sites: Path | None = None   # where the clinics' systems and agents live (None: clinics send SOAP too)


@dataclass
class SendResult:
    documents: int = 0
    refused: dict[str, int] = field(default_factory=dict)     # code → documents refused at the door
    member_months: int = 0
    skipped: int = 0                                          # member-months already in the ledger
    seconds: float = 0.0


def message_id(seed: int, event) -> str:
    version = getattr(event, "version", 1)
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{seed}/{event.kind}/{event.record_id}/{version}')}"


def prepare(generated: Generated, data_dir: Path, *, database_url: str | None = None) -> dict:
    """Create the data directory's PKI and member certificates if missing, and import the registry."""
    from certs import PkiPaths, init_pki, issue_member
    from certs.layout import MemberPaths
    from hub.registry.actor import HUB_OPERATOR
    from hub.registry.importing import import_entries, read_entries
    from hub.registry.population import import_population
    from hub.settings import Settings
    from hub.store.db import make_engine, migrate, session_factory, transaction

    from protocol.timestamps import utcnow

    from .model import registry_document
    from .truth import POPULATION_COLUMNS, population_rows

    pki = data_dir / "pki"
    if not PkiPaths.of(pki).ca_cert.exists():
        init_pki(pki, hub_name=HUB_NAME)
    issued = 0
    for member in generated.region.institutions:
        if not MemberPaths.of(pki, member.code).cert.exists():
            issue_member(pki, member=member.code, member_name=member.name,
                         key_type=KEY_TYPES.get(member.kind, "rsa-2048"))
            issued += 1
    entries = read_entries(json.dumps(registry_document(generated.region), ensure_ascii=False).encode(),
                           suffix=".json")
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(Settings.load(data_dir, database_url=database_url).db_url)
    try:
        migrate(engine)
        with transaction(session_factory(engine)) as session:
            counts = import_entries(session, actor=HUB_OPERATOR, entries=entries).counts
            # the region's residents are the denominators of its rates (the bureau's declared population)
            rows = [dict(zip(POPULATION_COLUMNS, row))
                    for row in population_rows(generated.people, year=generated.year, seed=generated.seed)]
            import_population(session, actor=HUB_OPERATOR, rows=rows, now=utcnow())
    finally:
        engine.dispose()
    return {"certificates issued": issued, "registry entries": len(entries), "population rows": len(rows),
            "created": sum(c.get("created", 0) for c in counts.values())}


# --- the sending processes --------------------------------------------------------------------------------

_worker: dict = {}


def _init_worker(region_dir: str, target: Target, ledger: str, progress) -> None:
    _worker.update(generated=Generated.open(Path(region_dir)), senders=Senders(target), ledger=Ledger(Path(ledger)),
                   progress=progress)
    _worker["pools"] = _worker["generated"].pools()


class Senders:
    """One signed, encrypting client per member (created when first used), and SubmitBatch with retries
    of what may pass later (transport errors, the hub's Server faults)."""

    def __init__(self, target: Target):
        self.target = target
        self.clients: dict = {}

    def client(self, member: str):
        from adapters.client import HubClient
        from certs import PkiPaths
        from certs.layout import MemberPaths
        from protocol.credentials import Credentials

        if member not in self.clients:
            paths, mine = PkiPaths.of(self.target.pki), MemberPaths.of(self.target.pki, member)
            self.clients[member] = HubClient(f"{self.target.base_url}/soap/exchange", timeout=120,
                                             credentials=Credentials.from_files(mine.cert, mine.key),
                                             hub_cert=paths.hub_enc_cert, ca_cert=paths.ca_cert)
        return self.clients[member]

    def submit(self, member: str, items: list[tuple[str, object]]):
        import requests

        from adapters.errors import HubFault, TransportError

        for attempt in range(RETRIES):
            try:
                return self.client(member).submit_batch(items)
            except (requests.RequestException, TransportError, HubFault) as error:
                if isinstance(error, HubFault) and not error.retryable or attempt == RETRIES - 1:
                    raise
                time.sleep(0.5 * 2 ** attempt)
        raise AssertionError("unreachable")

    def send(self, seed: int, region, member: str, events: list) -> list[tuple[str, int, str]]:
        """Send ``events`` as ``member`` in batches; (record id, version, code) of each one refused."""
        refused = []
        for start in range(0, len(events), BATCH):
            chunk = events[start:start + BATCH]
            items = [(message_id(seed, event), event.render(region)) for event in chunk]
            for event, receipt in zip(chunk, self.submit(member, items)):
                if not receipt.accepted:
                    refused.append((event.record_id, getattr(event, "version", 1), receipt.code))
        return refused


def _planned(member, index: int) -> list:
    """The events of ``member`` in month ``index``, planned once for the few months a late event reaches
    back (a worker sends one member's months in order)."""
    generated: Generated = _worker["generated"]
    cache: dict = _worker.setdefault("planned", {})
    key = (member.code, index)
    if key not in cache:
        for old in [k for k in cache if k[0] != member.code or k[1] < index - 4]:
            del cache[old]
        year, month = generated.periods[index]
        cache[key] = plan(generated.region, _worker["pools"], member, seed=generated.seed, year=year, month=month)
    return cache[key]


def _outgoing(member, index: int) -> list:
    """The events member sends with month ``index``'s batch: the month's own (not late) events, the
    late events of earlier months now due, and on the last month every late event still held."""
    last = len(_worker["generated"].periods) - 1
    out = []
    for back in range(0, index + 1):
        for event in _planned(member, index - back):
            delay = getattr(event, "send_delay", 0)
            if delay == back or (index == last and delay > back):
                out.append(event)
        if back >= 3:  # late messages are at most a few months late
            break
    return out


def _channels() -> dict:
    from .channels import CHANNELS  # in the workers only: the agent's imports stay out of `import region`

    return CHANNELS


def _through_agent(member, events: list) -> dict[str, int]:
    """Write a clinic-month into the clinic's own systems and run its agent (region/channels.py)."""
    from .channels import ClinicSite
    from .channels import send as agent_send

    generated: Generated = _worker["generated"]
    target: Target = _worker["senders"].target
    site = ClinicSite(target.sites / member.code, member, generated.region)
    site.write(events, region=generated.region)
    result = agent_send(site, hub_url=f"{target.base_url}/soap/exchange", pki_dir=target.pki,
                        progress=_worker["progress"].put)
    if result.halted or result.errors:
        raise RegionError("region.load.agent", "a clinic's agent stopped with a backlog left: run the load again",
                          member=member.code, halted=result.halted, errors=";".join(result.errors)[:300])
    return result.quarantined


def _send_member(work: tuple[str, list[int]]) -> tuple[str, int, dict[str, int], str]:
    """Send the given months of one member; (member, documents, refused codes, why it stopped or "")."""
    import requests

    from adapters.errors import AdapterError, TransportError

    try:
        return (*_send_months(*work), "")
    except (requests.RequestException, TransportError) as error:  # the hub is not there (retried first)
        return work[0], 0, {}, f"region.load.unreachable: the hub does not answer ({type(error).__name__})"
    except (AdapterError, RegionError) as error:  # the hub refused the member itself, or its agent stopped
        return work[0], 0, {}, str(error).splitlines()[0][:300]


def _send_months(member_code: str, indexes: list[int]) -> tuple[str, int, dict[str, int]]:
    generated: Generated = _worker["generated"]
    member = generated.region.institution(member_code)
    documents, refused_codes = 0, {}
    for index in indexes:
        started = time.perf_counter()
        year, month = generated.periods[index]
        events = _outgoing(member, index)
        refused = []
        if _worker["senders"].target.sites is not None and member_code in _channels():
            # a clinic: its systems write the month, its agent collects and pushes (quarantines by code)
            for code, n in _through_agent(member, events).items():
                refused_codes[f"agent:{code}"] = refused_codes.get(f"agent:{code}", 0) + n
        else:
            for start in range(0, len(events), BATCH):  # batch by batch, for the progress bar
                chunk = events[start:start + BATCH]
                refused += _worker["senders"].send(generated.seed, generated.region, member_code, chunk)
                _worker["progress"].put(len(chunk))
        for _, _, code in refused:
            refused_codes[code] = refused_codes.get(code, 0) + 1
        _worker["ledger"].mark(member=member_code, month=f"{year}-{month:02d}", documents=len(events),
                               refused=refused, seconds=time.perf_counter() - started)
        documents += len(events)
    return member_code, documents, refused_codes


def send(generated: Generated, region_dir: Path, *, ledger: Ledger, target: Target, workers: int = 2,
         on_progress: Callable[[int], None] = lambda n: None, total: Callable[[int], None] = lambda n: None
         ) -> SendResult:
    """Send every member-month not yet in the ledger; ``total(n)`` once with the documents still to go
    (an estimate from the manifest), ``on_progress(n)`` as batches are answered."""
    ledger.claim(seed=generated.seed, size=generated.size, generator_version=GENERATOR_VERSION)
    done = ledger.done()
    months = [f"{y}-{m:02d}" for y, m in generated.periods]
    work, result = [], SendResult(skipped=len(done))
    for member in senders(generated.region):
        todo = [i for i, month in enumerate(months) if (member.code, month) not in done]
        if todo:
            work.append((member.code, todo))
            result.member_months += len(todo)
    # the biggest senders first, so two processes finish together
    work.sort(key=lambda item: (not item[0].startswith("RH"), item[0]))
    total(_estimate(region_dir, done))
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")  # no fork of a process holding sockets or threads
    progress = context.Queue()
    stop = threading.Event()

    def relay() -> None:
        while not stop.is_set():
            try:
                on_progress(progress.get(timeout=0.2))
            except queue_module.Empty:
                continue

    relay_thread = threading.Thread(target=relay, daemon=True)
    relay_thread.start()
    try:
        with context.Pool(max(1, min(workers, len(work) or 1)), initializer=_init_worker,
                          initargs=(str(region_dir), target, str(ledger.path), progress)) as pool:
            for member, documents, refused, stopped in pool.imap_unordered(_send_member, work):
                if stopped:  # what was sent stays sent (the ledger); a rerun continues after the cause is fixed
                    pool.terminate()
                    code, _, detail = stopped.partition(": ")
                    raise RegionError(code if code.startswith("region.") else "region.load.refused",
                                      f"{member}: {detail or stopped}", member=member)
                result.documents += documents
                for code, n in refused.items():
                    result.refused[code] = result.refused.get(code, 0) + n
    finally:
        stop.set()
        relay_thread.join()
        while True:  # what the relay had not shown yet
            try:
                on_progress(progress.get_nowait())
            except queue_module.Empty:
                break
    result.seconds = time.perf_counter() - started
    return result


def _estimate(region_dir: Path, done: dict) -> int:
    manifest = json.loads((region_dir / "manifest.json").read_text(encoding="utf-8"))
    return max(0, int(manifest["counts"].get("records", 0)) - sum(done.values()))


def pending(data_dir: Path, *, database_url: str | None = None) -> int:
    """Messages the hub has accepted and its processor has not yet moved on."""
    from sqlalchemy import func, select

    from hub.exchange.models import Message
    from hub.settings import Settings
    from hub.store.db import make_engine
    from protocol.status import MessageStatus

    engine = make_engine(Settings.load(data_dir, database_url=database_url).db_url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(Message).where(
                Message.status.in_([s.value for s in MessageStatus.pending()]))).scalar_one()
    finally:
        engine.dispose()


def outcomes(data_dir: Path, *, database_url: str | None = None) -> tuple[dict[str, int], dict[tuple[str, str], str]]:
    """What the processor made of the messages: counts by status (``rejected:<code>`` per code), and
    (sender, document id) → code of every document it rejected."""
    from sqlalchemy import func, select

    from hub.exchange.models import Message
    from hub.settings import Settings
    from hub.store.db import make_engine
    from protocol.status import MessageStatus
    from protocol.xmlparse import parse_untrusted

    engine = make_engine(Settings.load(data_dir, database_url=database_url).db_url)
    try:
        with engine.connect() as connection:
            counts = {(f"{status}:{code}" if code else status): n for status, code, n in connection.execute(
                select(Message.status, Message.error_code, func.count()).group_by(Message.status, Message.error_code))}
            rejected = {}
            for member, document, code in connection.execute(select(Message.member, Message.document, Message.error_code)
                                                             .where(Message.status == MessageStatus.REJECTED.value)):
                header_id = parse_untrusted(document).find("{urn:hie:doc:v1}header/{urn:hie:doc:v1}id")
                rejected[(member, header_id.get("extension") if header_id is not None else "")] = code
    finally:
        engine.dispose()
    return counts, rejected


def wait_processed(data_dir: Path, *, database_url: str | None = None, timeout: float = 3600.0, on_progress: Callable[[int], None] = lambda n: None
                   ) -> int:
    """Wait until nothing accepted is left unprocessed; ``on_progress(left)`` as it drains. The count
    the processor had left when this began."""
    first = left = pending(data_dir, database_url=database_url)
    deadline = time.monotonic() + timeout
    while left:
        if time.monotonic() > deadline:
            raise RegionError("region.load.processing", "the hub's processor did not finish in time", left=left)
        time.sleep(0.5)
        left = pending(data_dir, database_url=database_url)
        on_progress(left)
    return first


__all__ = ["BATCH", "Target", "SendResult", "Senders", "message_id", "prepare", "send", "pending", "outcomes",
           "wait_processed"]
