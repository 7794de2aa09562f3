"""The ASGI SOAP front: submissions on the event loop, everything else in worker threads.

The attack corpus and the inbox tests already run through both fronts (the ``post`` fixture);
these tests cover what only the front does: answers byte-equal to spyne's, audited refusal of an
oversize body, the thread path for large bodies, and a loop that keeps gating while requests
wait for the group commit.
"""
from __future__ import annotations

import asyncio
import gzip
import threading
import uuid

import pytest
from lxml import etree
from spyne import AnyXml, ServiceBase, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication
from sqlalchemy import select

from hub.errors import ExchangeError
from hub.exchange import writer
from hub.exchange.inbox import Intake, ItemOutcome
from hub.exchange.models import Message
from hub.exchange.soap import TNS, BatchItem
from hub.runtime import Hub
from hub.settings import Settings
from hub.soap import submit
from hub.soap.application import HubApplication, as_fault
from hub.soap.asgi import SoapFront
from hub.soap.faults import fault_envelope
from hub.soap.wsgi import GateMiddleware
from tests.support import asgi
from tests.support.migrated import copy_migrated

from .builders import fault_code, sample_document, sealed, submit_batch, submit_document
from .conftest import _asgi_poster, _wsgi_poster, counts

_ANSWER: list = []  # what the spyne twin below returns or raises


class _SpyneTwin(ServiceBase):
    """The exchange's two submit operations as spyne itself would answer them."""

    @rpc(AnyXml(min_occurs=1), _returns=AnyXml, _out_variable_name="Result")
    def SubmitDocument(ctx, Document):
        outcome = _ANSWER[0]
        if outcome.status is Intake.REJECTED:
            raise as_fault(ExchangeError(outcome.code), outcome.receipt)
        return etree.fromstring(outcome.receipt)

    @rpc(BatchItem.customize(max_occurs="unbounded", min_occurs=1),
         _returns=AnyXml.customize(max_occurs="unbounded"), _out_variable_name="Result")
    def SubmitBatch(ctx, Item):
        return [etree.fromstring(outcome.receipt) for outcome in _ANSWER]


def _spyne_answer(operation: str, outcomes: list[ItemOutcome]) -> tuple[int, bytes]:
    _ANSWER[:] = outcomes
    app = WsgiApplication(HubApplication([_SpyneTwin], tns=TNS, name="Exchange", in_protocol=Soap11(validator=None),
                                         out_protocol=Soap11()))
    content = submit_document() if operation == "SubmitDocument" else submit_batch([("m1", sample_document())])
    env = etree.Element("{http://schemas.xmlsoap.org/soap/envelope/}Envelope")
    etree.SubElement(env, "{http://schemas.xmlsoap.org/soap/envelope/}Body").append(content)
    return _wsgi_poster(app)(etree.tostring(env))


def _receipts(hub, members, hub_enc_cert, count: int) -> list[bytes]:
    """Receipts as the inbox stores them, in lxml's serialization (``<his:Code/>``).

    The front sends the stored bytes verbatim; spyne re-serializes what it is given, so the
    comparison gives it receipts that re-serialize to themselves and compares everything around.
    """
    ids = [f"urn:uuid:{uuid.uuid4()}" for _ in range(count)]
    answer = _wsgi_poster(GateMiddleware(hub))(sealed(members["CLINIC01"], hub_enc_cert, submit_batch(
        [(message_id, sample_document(message_id)) for message_id in ids]), op="SubmitBatch"))
    assert answer.status == 200
    with hub.sessions() as session:
        stored = dict(session.execute(select(Message.message_id, Message.receipt).where(Message.message_id.in_(ids))).all())
    return [etree.tostring(etree.fromstring(bytes(stored[message_id]))) for message_id in ids]


def test_submit_answers_are_spynes_bytes(hub, members, hub_enc_cert):
    receipts = _receipts(hub, members, hub_enc_cert, 3)
    accepted = [ItemOutcome(f"m{i}", receipt, Intake.ACCEPTED) for i, receipt in enumerate(receipts)]
    refused = ItemOutcome("m0", receipts[0], Intake.REJECTED, "exchange.message_id.reused")
    for operation, outcomes in (("SubmitDocument", accepted[:1]), ("SubmitBatch", accepted),
                                ("SubmitBatch", [accepted[0], refused, accepted[2]]),
                                ("SubmitDocument", [refused])):
        status, mine = submit.render(operation, outcomes)
        theirs = _spyne_answer(operation, outcomes)
        assert (status, mine) == (theirs.status, theirs.body), operation


@pytest.mark.parametrize("code", ["exchange.batch.invalid", "security.signature.invalid", "server.unavailable"])
def test_faults_are_spynes_bytes(hub, members, hub_enc_cert, code):
    receipt = _receipts(hub, members, hub_enc_cert, 1)[0]
    for with_receipt in (None, receipt):
        theirs = _spyne_answer("SubmitDocument", [ItemOutcome("m0", with_receipt, Intake.REJECTED, code)])
        assert fault_envelope(code, with_receipt) == theirs.body


@pytest.fixture
def small_hub(request, tmp_path, db_url, pki_dir):
    copy_migrated(request, db_url)  # a copy of the session's migrated database
    hub = Hub.open(Settings(data_dir=tmp_path, database_url=db_url, pki_dir=pki_dir, start_processor=False,
                            max_message_bytes=64 * 1024), run_migrations=False)
    yield hub
    hub.sessions.kw["bind"].dispose()


def test_oversize_body_is_refused_and_audited(small_hub, members, hub_enc_cert):
    """A body past the limit is drained, not kept, and refused with an audit row like any refusal."""
    front = SoapFront(small_hub, {"exchange": GateMiddleware(small_hub)}, max_body=64 * 1024)
    before = counts(small_hub)
    answer = _asgi_poster(front)(b"<x>" + b" " * (300 * 1024) + b"</x>")
    assert (answer.status, fault_code(answer.body)) == (500, "transport.too_large")
    after = counts(small_hub)
    assert after["audit_event"] == before["audit_event"] + 1
    assert {k: v for k, v in after.items() if k != "audit_event"} == {k: v for k, v in before.items() if k != "audit_event"}
    front.executor.shutdown()


def _thread_spied_front(hub, **options) -> tuple[SoapFront, list[str]]:
    """A SOAP front whose thread path records the name of the thread that serves each request."""
    front = SoapFront(hub, {"exchange": GateMiddleware(hub)}, max_body=hub.settings.max_message_bytes, **options)
    threads = []
    serve = front.exchange.__call__

    def spy(environ, start_response):
        threads.append(threading.current_thread().name)
        return serve(environ, start_response)

    front.services = {"exchange": spy}
    return front, threads


def test_large_bodies_take_the_thread_path(hub, members, hub_enc_cert):
    """Bodies over ``inline_bytes`` are served by the WSGI stack in a worker thread, with the same answer."""
    front, threads = _thread_spied_front(hub, inline_bytes=1024)
    post = _asgi_poster(front)
    answer = post(sealed(members["CLINIC01"], hub_enc_cert))
    assert answer.status == 200 and fault_code(answer.body) is None
    assert threads and threads[0].startswith("hie-wsgi")
    front.executor.shutdown()


def test_compressed_bodies_take_the_thread_path(hub, members, hub_enc_cert):
    """A few KB of gzip may inflate to the size limit: inflated and gated in a worker thread, off the loop."""
    front, threads = _thread_spied_front(hub)
    post = _asgi_poster(front)
    answer = post(gzip.compress(sealed(members["CLINIC01"], hub_enc_cert)), headers={"HTTP_CONTENT_ENCODING": "gzip"})
    assert answer.status == 200 and fault_code(answer.body) is None
    assert len(threads) == 1 and threads[0].startswith("hie-wsgi")
    assert post(sealed(members["CLINIC01"], hub_enc_cert), headers={"HTTP_CONTENT_ENCODING": "identity"}).status == 200
    assert len(threads) == 1  # an identity body is served on the loop
    front.executor.shutdown()


def _bodies(members, hub_enc_cert, n: int) -> list[bytes]:
    return [sealed(members["CLINIC01"], hub_enc_cert, message_id=f"urn:uuid:{uuid.uuid4()}") for _ in range(n)]


def _recording(monkeypatch) -> list[tuple[int, str]]:
    """Record (group size, thread name) of every inbox commit."""
    groups, real_commit = [], writer._commit

    def recorded(engine, jobs, **kwargs):
        groups.append((len(jobs), threading.current_thread().name))
        return real_commit(engine, jobs, **kwargs)

    monkeypatch.setattr(writer, "_commit", recorded)
    return groups


def test_one_turn_of_the_loop_is_one_commit(hub, members, hub_enc_cert, monkeypatch):
    """Requests gated in the same turn of the loop are committed together: on SQLite by the loop itself."""
    groups = _recording(monkeypatch)
    front = SoapFront(hub, {"exchange": GateMiddleware(hub)}, max_body=hub.settings.max_message_bytes)
    answers = asgi.post_all(front, _bodies(members, hub_enc_cert, 4), timeout=20)
    assert [status for status, _ in answers] == [200] * 4
    if hub.sessions.kw["bind"].hie_write_lock is not None:  # SQLite
        assert groups == [(4, threading.current_thread().name)]
    else:  # PostgreSQL: one hand-over of the group to the writer thread
        assert sum(size for size, _ in groups) == 4 and {thread for _, thread in groups} == {"hie-inbox-writer"}
    assert counts(hub)["inbox_message"] == 4
    front.executor.shutdown()


def test_loop_keeps_gating_while_the_write_lock_is_held(hub, members, hub_enc_cert, monkeypatch):
    """While another writer (the processor, the other worker) holds SQLite's write lock, the loop
    does not wait for it: it goes on gating, and the writer thread commits when the lock frees."""
    lock = hub.sessions.kw["bind"].hie_write_lock
    if lock is None:
        pytest.skip("PostgreSQL has no hub write lock: its commits always go to the writer thread")
    groups = _recording(monkeypatch)
    prepared, real_prepare = [], submit.prepare

    def counting(*args, **kwargs):
        prepared.append(1)
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(submit, "prepare", counting)
    front = SoapFront(hub, {"exchange": GateMiddleware(hub)}, max_body=hub.settings.max_message_bytes)
    held, release = threading.Event(), threading.Event()

    def holder():
        with lock:
            held.set()
            release.wait(15)

    threading.Thread(target=holder, daemon=True).start()
    assert held.wait(5)
    bodies = _bodies(members, hub_enc_cert, 4)

    async def release_when_all_gated():
        while len(prepared) < len(bodies) or front._group._jobs:  # the loop would be stuck here if it
            await asyncio.sleep(0.01)                              # waited for the lock; then the flush ran
        assert groups == []  # nothing could commit yet
        release.set()

    answers = asgi.post_all(front, bodies, until=release_when_all_gated, timeout=20)
    assert [status for status, _ in answers] == [200] * 4
    assert sum(size for size, _ in groups) == 4
    assert {thread for _, thread in groups} == {"hie-inbox-writer"}
    front.executor.shutdown()
