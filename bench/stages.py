"""Per-stage costs of the exchange, measured in-process (no HTTP), plus the raw crypto floor.

Each stage runs on pre-built, signed and encrypted requests (the same ones the HTTP benchmark
sends) against a real ``Hub`` on SQLite (WAL, synchronous=FULL) in a temp directory, one thread:

parse            hardened parse of the envelope (``parse_untrusted``)
open_request     structure + SignedInfo checks + signature verify + certificate/CRL check
decrypt          RSA-OAEP key unwrap + AES-256-GCM (``encryption.decrypt``)
parse_plaintext  hardened parse of the decrypted Body content
inbox.accept     one durable SQLite commit per request incl. one ECDSA-signed receipt per document
answer           the SOAP answer around the receipts (``hub.soap.submit.render``; spyne is not used)
wsgi total       the whole in-process WSGI path (``GateMiddleware``, the writer thread's commits)
asgi total       what ``hie serve`` runs: the SOAP front on an event loop, 16 requests in flight, the
                 submissions of a loop turn committed together by the loop; CPU time per document
                 (all threads) beside the wall time
processor        the background processor's cost per accepted document (``process_pending``)

Stateless stages are repeated (``passes``) over the same requests; the median pass is reported
(and the best). Stages that write run once on fresh requests. All figures are microseconds per
*document* (a batch request's cost is divided by its batch size), wall clock, one thread.
"""
from __future__ import annotations

import cProfile
import gc
import io
import multiprocessing
import os
import pstats
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from hub.runtime import processing_stages

from . import exchange as ex

# ------------------------------------------------------------------ crypto floor

def _rsa_loop(seconds: float) -> float:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    wrapped = key.public_key().encrypt(os.urandom(32), oaep)  # what a member sends: a wrapped AES key
    n, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        for _ in range(20):
            key.decrypt(wrapped, oaep)
        n += 20
    return n / elapsed


def _ecdsa_loop(seconds: float) -> float:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    data, algorithm = os.urandom(64), ec.ECDSA(hashes.SHA256())
    n, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        for _ in range(50):
            key.sign(data, algorithm)
        n += 50
    return n / elapsed


def crypto_floor(seconds: float = 1.0, parallel: int = 2) -> dict:
    """RSA-2048 private-key ops/s (OAEP unwrap, as the hub does per request) and ECDSA P-256 signs/s
    (one per receipt) from ``cryptography``: one core, and ``parallel`` processes at once."""
    result = {"rsa2048_private_ops_per_s": round(_rsa_loop(seconds)),
              "ecdsa_p256_signs_per_s": round(_ecdsa_loop(seconds))}
    if parallel > 1:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(parallel) as pool:
            result[f"rsa2048_private_ops_per_s_{parallel}proc"] = round(sum(pool.map(_rsa_loop, [seconds] * parallel)))
            result[f"ecdsa_p256_signs_per_s_{parallel}proc"] = round(sum(pool.map(_ecdsa_loop, [seconds] * parallel)))
    return result


def floor_docs_per_s(floor: dict, *, docs_per_request: int, cores: int) -> float:
    """Documents/s the two RSA/ECDSA private-key operations alone would allow on ``cores`` cores."""
    per_doc = 1 / (floor["rsa2048_private_ops_per_s"] * docs_per_request) + 1 / floor["ecdsa_p256_signs_per_s"]
    return cores / per_doc


# ------------------------------------------------------------------ helpers

def _environ(data: bytes) -> dict:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/exchange", "SCRIPT_NAME": "/soap", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(data),
            "wsgi.errors": io.StringIO(), "CONTENT_LENGTH": str(len(data)),
            "CONTENT_TYPE": "text/xml; charset=utf-8"}


def _call(app, environ) -> tuple[str, bytes]:
    status = []
    body = b"".join(app(environ, lambda s, h, exc=None: status.append(s)))
    return status[0], body


def _per_item(fn, items, passes: int) -> tuple[float, float]:
    """(median, best) over passes of the mean seconds per item."""
    means = []
    for _ in range(passes):
        t0 = time.perf_counter()
        for item in items:
            fn(item)
        means.append((time.perf_counter() - t0) / len(items))
    return statistics.median(means), min(means)


def _once(fn, items) -> float:
    t0 = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - t0) / len(items)


def _us(seconds: float, docs: int = 1) -> float:
    return round(seconds * 1e6 / docs, 1)


_AREAS = (("gc.collect", "gc.collect (spyne MethodContext.close)"), ("xmlsec", "xmlsec (C)"),
          ("cryptography", "cryptography (RSA/AES/X.509)"), ("sqlite3", "sqlite3 (execute/commit/fsync)"),
          ("sqlalchemy", "SQLAlchemy ORM (Python)"), ("spyne", "spyne (Python)"), ("lxml", "lxml (C)"),
          ("/hub/", "hub code (Python)"), ("/certs/", "certs code (Python)"))


def _area(filename: str, func: str) -> str:
    text = f"{filename} {func}"
    for needle, label in _AREAS:
        if needle in text:
            return label
    if filename == "~":
        return "other builtins"
    return "other Python (stdlib, uuid, ...)"


# Blocking calls: their cProfile "time" is waiting (for another thread or a lock), not CPU.
_WAITS = ("'acquire' of '_thread", "'get' of '_queue", "'wait' of", "built-in method time.sleep", "'join' of")


class ThreadProfiles:
    """Profile every thread started inside the ``with`` block (e.g. the hub's inbox writer) from its
    first instruction, so work a request hands to another thread is not missing from the profile."""

    def __init__(self):
        self.profiles: list[cProfile.Profile] = []

    def _hook(self, frame, event, arg):
        profile = cProfile.Profile()
        self.profiles.append(profile)
        profile.enable()  # replaces this hook for the rest of the thread's life

    def __enter__(self) -> "ThreadProfiles":
        threading.setprofile(self._hook)
        return self

    def __exit__(self, *exc) -> None:
        threading.setprofile(None)


def _profile(fn, items, docs: int, *, threads: ThreadProfiles | None = None, top: int = 15) -> dict:
    profiler = cProfile.Profile()
    profiler.enable()
    for item in items:
        fn(item)
    profiler.disable()
    stats = pstats.Stats(profiler)
    for extra in (threads.profiles if threads else []):
        try:
            stats.add(extra)
        except (TypeError, ValueError):  # an empty profile
            pass
    areas: dict[str, float] = {}
    rows = []
    waiting = total = 0.0
    for (filename, line, func), (cc, nc, tt, ct, _callers) in stats.stats.items():
        if filename == "~" and any(w in func for w in _WAITS):
            waiting += tt
            continue
        total += tt
        areas[_area(filename, func)] = areas.get(_area(filename, func), 0.0) + tt
        short = filename.split("site-packages/")[-1].replace(str(ex.REPO) + "/", "")
        rows.append({"function": f"{short}:{line}({func})" if filename != "~" else func, "calls": nc,
                     "tottime_us_per_doc": _us(tt, docs), "cumtime_us_per_doc": _us(ct, docs)})
    rows.sort(key=lambda r: -r["tottime_us_per_doc"])
    return {"profiled_total_us_per_doc": _us(total, docs), "waiting_us_per_doc_excluded": _us(waiting, docs),
            "threads_profiled": 1 + len(threads.profiles if threads else []),
            "areas_us_per_doc": {k: _us(v, docs) for k, v in sorted(areas.items(), key=lambda kv: -kv[1])},
            "top_by_tottime": rows[:top]}


def _acceptor(hub):
    """``accept(verified, items)`` through the hub's inbox writer (its thread's group commit)."""
    from hub.exchange import inbox

    def accept(verified, items):
        job = inbox.prepare(verified=verified, items=items, signer=hub.signer, client_address="127.0.0.1")
        hub.inbox.enqueue([job])
        job.done.wait()
        return inbox.outcomes(job, hub.signer)

    return accept


def _asgi_total(front, raws: list[bytes], in_flight: int = 16) -> tuple[float, float]:
    """(wall, CPU) seconds per request to push ``raws`` through the ASGI SOAP front, ``in_flight`` at a time."""
    from tests.support.asgi import post_all

    wall0, cpu0 = time.perf_counter(), time.process_time()
    statuses = {status for status, _ in post_all(front, raws, in_flight=in_flight)}
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if statuses != {200}:
        raise RuntimeError(f"in-process ASGI requests failed: {statuses}")
    return wall / len(raws), cpu / len(raws)


# ------------------------------------------------------------------ the stage run

def run_stages(*, quick: bool = False, batch_size: int = 100, say=print) -> dict:
    from cryptography import x509
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from certs import init_pki, issue_member
    from hub import pipeline
    from hub.runtime import Hub
    from hub.settings import Settings
    from hub.soap import submit
    from hub.soap.asgi import SoapFront
    from hub.soap.wsgi import GateMiddleware
    from protocol import encryption, signature
    from protocol.receipts import build_receipt
    from protocol.request import open_request
    from protocol.status import ReceiptStatus
    from protocol.timestamps import utcnow
    from protocol.xmlparse import parse_untrusted

    n_single = 20 if quick else 300
    n_batch = 1 if quick else 8
    passes = 2 if quick else 3
    tmp = Path(tempfile.mkdtemp(prefix="hie-stages-"))
    try:
        init_pki(tmp / "pki", hub_name="基准测试区域平台")
        for code in ex.MEMBERS:
            issue_member(tmp / "pki", member=code)
        ex._init_builder(str(tmp / "pki"), ex.MEMBERS, "http://127.0.0.1/soap/exchange")
        tag = os.urandom(4).hex()

        def singles(first: int, n: int) -> list[bytes]:
            return ex._build_chunk(("single", tag, first, n, 1))

        def batches(first: int, n: int) -> list[bytes]:
            return ex._build_chunk(("batch", tag, first, n, batch_size))

        t0 = time.perf_counter()
        sets = {"single": [singles(k * n_single, n_single) for k in range(4)],
                "batch": [batches(10**6 + k * n_batch * batch_size, n_batch) for k in range(4)]}
        results_build_s = time.perf_counter() - t0
        settings = Settings(data_dir=tmp, start_processor=False)
        hub = Hub.open(settings)
        app = GateMiddleware(hub)
        gate = hub.gate
        results: dict = {"build_s": round(results_build_s, 2), "passes": passes, "requests": {"single": n_single, "batch": n_batch},
                         "batch_size": batch_size}

        # client side, for reference: what sealing one request costs (the load generator never does it timed)
        t0 = time.perf_counter()
        singles(5 * 10**6, 20)
        seal_single = (time.perf_counter() - t0) / 20
        t0 = time.perf_counter()
        batches(6 * 10**6, 1)
        seal_batch = time.perf_counter() - t0
        results["client_seal_us_per_request"] = {"single": _us(seal_single), "batch": _us(seal_batch)}

        # warm every cache (SQLAlchemy statement cache, spyne, trust profiles, xmlsec keys) outside the timing
        for raw in singles(7 * 10**6, 2) + batches(8 * 10**6, 1):
            status, _ = _call(app, _environ(raw))
            if not status.startswith("200"):
                raise RuntimeError(f"warm-up request failed: {status}")
        pipeline.process_pending(hub.sessions, processing_stages(), limit=10**6)

        for kind, docs in (("single", 1), ("batch", batch_size)):
            raw_a, raw_b, raw_c, raw_d = sets[kind]
            stage: dict = {}
            now = utcnow()
            # parse
            med, best = _per_item(parse_untrusted, raw_a, passes)
            stage["parse"] = (med, best)
            roots = [parse_untrusted(raw) for raw in raw_a]
            # open_request and its parts
            med, best = _per_item(lambda root: open_request(root, trust=hub.trust, now=now), roots, passes)
            stage["open_request"] = (med, best)
            requests = [open_request(root, trust=hub.trust, now=now) for root in roots]

            def sig_parts(root):
                from protocol.ns import WSSE, q

                security = root[0].find(q(WSSE, "Security"))
                sig = security.find(q(signature.DS, "Signature"))
                return sig, signature.check_signed_info(sig, signature.id_map(root))

            parts = [sig_parts(root) for root in roots]
            ders = [req.cert_der for req in requests]
            stage["  id_map + SignedInfo checks"] = _per_item(
                lambda root: signature.check_signed_info(sig_parts(root)[0], signature.id_map(root)), roots, passes)
            stage["  signature verify (digests + public key)"] = _per_item(
                lambda i: signature.verify(parts[i][0], parts[i][1], cert_der=ders[i]), range(len(roots)), passes)
            stage["  certificate + CRL check"] = _per_item(
                lambda der: hub.trust.check_member(x509.load_der_x509_certificate(der), at=now), ders, passes)
            # decrypt and its parts
            decryptor = hub.decryptor
            med, best = _per_item(lambda req: encryption.decrypt(req.encrypted_data, req.encrypted_key,
                                                                 private_key=decryptor.private_key,
                                                                 recipient=decryptor.certificate), requests, passes)
            stage["decrypt"] = (med, best)
            oaep = encryption.check_key_transport(requests[0].encrypted_key)
            wrapped = [encryption._cipher_value(req.encrypted_key) for req in requests]
            keys = [decryptor.private_key.decrypt(w, oaep) for w in wrapped]
            blobs = [encryption._cipher_value(req.encrypted_data) for req in requests]
            stage["  RSA-OAEP unwrap"] = _per_item(lambda w: decryptor.private_key.decrypt(w, oaep), wrapped, passes)
            stage["  AES-256-GCM + base64"] = _per_item(
                lambda i: AESGCM(keys[i]).decrypt(blobs[i][:12], blobs[i][12:], None), range(len(blobs)), passes)
            plaintexts = [encryption.decrypt(req.encrypted_data, req.encrypted_key, private_key=decryptor.private_key,
                                             recipient=decryptor.certificate) for req in requests]
            stage["parse_plaintext"] = _per_item(parse_untrusted, plaintexts, passes)
            stage["gate open + finish (all of the above)"] = _per_item(lambda raw: gate.finish(gate.open(raw, now=now)), raw_a,
                                                                   passes)
            # inbox.accept on fresh verified messages (writes: once)
            verified = [gate.finish(gate.open(raw)) for raw in raw_a]
            item_lists = [submit.items_of(v, max_batch=hub.settings.max_batch_documents) for v in verified]
            stage["  receipt signing (ECDSA)"] = _per_item(
                lambda v: build_receipt(signer=hub.signer, message_id=v.request.message_id, member=v.member,
                                        message_sha256=v.envelope_sha256, document_sha256="0" * 64,
                                        received_at=v.received_at, status=ReceiptStatus.ACCEPTED),
                verified[:50], passes)
            pairs = list(zip(verified, item_lists))
            outcomes = {}
            accept = _acceptor(hub)

            def do_accept(pair):
                v, items = pair
                outcomes[id(v)] = accept(v, items)

            accept_s = _once(do_accept, pairs)
            stage["inbox.accept (commit + receipts)"] = (accept_s, accept_s)
            # the SOAP answer around the receipts just produced (what spyne used to serialize)
            stage["answer"] = _per_item(lambda v: submit.render(v.operation, outcomes[id(v)]), verified, passes)
            # the processor's share per document
            t0 = time.perf_counter()
            processed = pipeline.process_pending(hub.sessions, processing_stages(), limit=10**6)
            process_s = (time.perf_counter() - t0) / max(processed, 1)
            # the whole WSGI path on fresh requests
            statuses = []

            def full(raw):
                status, answer = _call(app, _environ(raw))
                statuses.append(status)

            full_s = _once(full, raw_b)
            if not all(s.startswith("200") for s in statuses):
                raise RuntimeError(f"in-process requests failed: {set(statuses)}")
            stage["wsgi total (GateMiddleware + accept)"] = (full_s, full_s)
            pipeline.process_pending(hub.sessions, processing_stages(), limit=10**6)
            front = SoapFront(hub, {"exchange": app}, max_body=hub.settings.max_message_bytes)
            asgi_wall, asgi_cpu = _asgi_total(front, raw_d)
            front.executor.shutdown()
            stage["asgi total, 16 in flight: wall"] = (asgi_wall, asgi_wall)
            stage["asgi total, 16 in flight: CPU"] = (asgi_cpu, asgi_cpu)
            pipeline.process_pending(hub.sessions, processing_stages(), limit=10**6)
            stage_us = {name: {"us_per_doc": _us(med, docs), "best_us_per_doc": _us(best, docs)}
                        for name, (med, best) in stage.items()}
            stage_us["processor (background, per document)"] = {"us_per_doc": _us(process_s),
                                                                 "best_us_per_doc": _us(process_s)}
            top = ["parse", "open_request", "decrypt", "parse_plaintext", "inbox.accept (commit + receipts)", "answer"]
            stage_us["sum of stages"] = {"us_per_doc": round(sum(stage_us[k]["us_per_doc"] for k in top), 1)}
            results[kind] = stage_us
            # cProfile of the whole WSGI path (+ processor) on the third set of fresh requests, with a hub
            # whose own threads (inbox writer, if any) are profiled too
            with ThreadProfiles() as threads:
                prof_hub = Hub.open(settings, run_migrations=False)
            prof_app = GateMiddleware(prof_hub)

            def full_profiled(raw):
                status, answer = _call(prof_app, _environ(raw))
                if not status.startswith("200"):
                    raise RuntimeError(f"in-process request failed: {status}")

            results[f"profile_{kind}"] = _profile(full_profiled, raw_c, len(raw_c) * docs, threads=threads)
            processor_profile = _profile(lambda _: pipeline.process_pending(hub.sessions, processing_stages(), limit=10**6), [None],
                                         len(raw_c) * docs, top=8)
            results[f"profile_processor_{kind}"] = processor_profile
            say(f"stages [{kind}]: wsgi total {stage_us['wsgi total (GateMiddleware + accept)']['us_per_doc']}"
                f" us/doc, sum of stages {stage_us['sum of stages']['us_per_doc']} us/doc, processor "
                f"{stage_us['processor (background, per document)']['us_per_doc']} us/doc")

        # spyne runs gc.collect() in MethodContext.close() at most once a second per process
        gc_times = []
        for _ in range(5):
            t0 = time.perf_counter()
            gc.collect()
            gc_times.append(time.perf_counter() - t0)
        import spyne.const

        results["spyne_gc_collect"] = {"ms": round(statistics.median(gc_times) * 1000, 2),
                                       "min_interval_s": spyne.const.MIN_GC_INTERVAL,
                                       "tracked_objects": len(gc.get_objects())}
        hub.sessions.kw["bind"].dispose()
        return results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ scaling: processes x processor

def _scaling_worker(args: tuple) -> tuple[int, float, float]:
    """One hub process on the shared database: push ``raws`` through the WSGI stack, time it."""
    data_dir, raws, with_processor = args
    from hub.pipeline import Processor
    from hub.runtime import Hub
    from hub.settings import Settings
    from hub.soap.wsgi import GateMiddleware

    hub = Hub.open(Settings(data_dir=Path(data_dir), start_processor=False), run_migrations=False)
    app = GateMiddleware(hub)
    _call(app, _environ(raws[0]))  # warm caches outside the timing
    processor = Processor(hub.sessions, processing_stages(), interval=0.5).start() if with_processor else None
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for raw in raws[1:]:
        status, body = _call(app, _environ(raw))
        if not status.startswith("200"):
            raise RuntimeError(f"request failed: {status}")
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if processor:
        processor.stop()
    hub.sessions.kw["bind"].dispose()
    return len(raws) - 1, wall, cpu


def run_scaling(*, requests: int = 150, say=print) -> dict:
    """SubmitDocument through the in-process WSGI stack (no HTTP) in 1 and 2 processes sharing one SQLite
    database, with and without a background processor *thread* in each process. ``hie serve`` runs the
    processor as a separate process at nice 10 instead (since `1af0bf7`), so the "processor on" rows show
    what a processor sharing the workers' GIL would cost, not what ``hie serve`` pays. Shows how much
    the second core buys and what the write lock takes."""
    import sqlite3

    from certs import init_pki, issue_member
    from hub.pipeline import process_pending
    from hub.runtime import Hub
    from hub.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="hie-scaling-"))
    try:
        init_pki(tmp / "pki", hub_name="基准测试区域平台")
        for code in ex.MEMBERS:
            issue_member(tmp / "pki", member=code)
        hub = Hub.open(Settings(data_dir=tmp, start_processor=False))
        ex._init_builder(str(tmp / "pki"), ex.MEMBERS, "http://127.0.0.1/soap/exchange")
        tag, serial = os.urandom(4).hex(), 0
        ctx = multiprocessing.get_context("spawn")
        rows = []
        with ctx.Pool(2) as pool:
            for procs in (1, 2):
                for with_processor in (False, True):
                    sets = []
                    for _ in range(procs):
                        sets.append(ex._build_chunk(("single", tag, serial, requests + 1, 1)))
                        serial += requests + 1
                    while process_pending(hub.sessions, processing_stages(), limit=10**6):
                        pass  # start from an empty backlog
                    results = pool.map(_scaling_worker, [(str(tmp), raws, with_processor) for raws in sets])
                    with sqlite3.connect(tmp / "hub.db") as con:
                        left = con.execute("SELECT count(*) FROM inbox_message WHERE status = 'accepted'").fetchone()[0]
                    docs = sum(r[0] for r in results)
                    wall = max(r[1] for r in results)
                    cpu = sum(r[2] for r in results)
                    row = {"processes": procs, "processor": with_processor, "docs_per_s": round(docs / wall, 1),
                           "cores_used": round(cpu / wall, 2), "cpu_ms_per_doc": round(cpu / docs * 1000, 2),
                           "left_unprocessed": left if with_processor else None}
                    rows.append(row)
                    say(f"scaling: {procs} process(es), processor {'on ' if with_processor else 'off'}: "
                        f"{row['docs_per_s']} docs/s, {row['cores_used']} cores busy, {row['cpu_ms_per_doc']} ms CPU/doc")
        hub.sessions.kw["bind"].dispose()
        return {"requests_per_process": requests, "rows": rows}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["run_stages", "run_scaling", "crypto_floor", "floor_docs_per_s"]
