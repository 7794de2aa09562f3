"""End-to-end exchange benchmark: ``hie serve`` in a subprocess, a cheap thread load generator.

Everything expensive on the client side happens before the clock starts: documents are made and
requests sealed (signed + encrypted, each with its own MessageIDs) in a small process pool right
before each phase, so the load generator only writes pre-built bytes on keep-alive connections
(``http.client``) and counts receipts in the answers.

Phases (each run ``repeats`` times, interleaved so the machine's noise spreads over all of them):

``batch``  closed loop, SubmitBatch of ``batch_size`` documents per request
``single`` closed loop, one SubmitDocument per request
``open``   open loop at a fixed offered rate of single-document requests; latency is measured from
           the *scheduled* send time, so a stalled server (or client) cannot hide queueing
           (no coordinated omission)

After each phase the harness waits until the hub's background processor has drained what was
accepted (so one phase's leftovers do not eat the next phase's CPU) and records how long that took.
At the end it counts the inbox: stored messages must equal documents sent.
"""
from __future__ import annotations

import copy
import gc
import http.client
import itertools
import multiprocessing
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parent.parent
PATH = "/soap/exchange"
HEADERS = {"Content-Type": "text/xml; charset=utf-8"}
DOC_BYTES = 4096
MEMBERS = ("BENCH01", "BENCH02", "BENCH03", "BENCH04")
_ACCEPTED = b"<his:Status>accepted</his:Status>"
_FAULT_CODE = re.compile(rb"<hie:Code>([^<]{1,80})</hie:Code>")
_CLK_TCK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ configuration

@dataclass
class Config:
    quick: bool = False
    repeats: int = 2
    workers: int = 2
    batch_size: int = 100
    batch_requests: int = 200        # documents offered = batch_size * batch_requests
    batch_time_limit: float = 20.0   # a phase stops early when this many seconds have passed
    batch_concurrency: int = 4       # 2 per worker: one request being received while one is processed
    single_requests: int = 9000
    single_time_limit: float = 20.0
    single_concurrency: int = 16
    open_rate: float = 300.0         # offered documents/s
    open_seconds: float = 20.0
    open_pool: int = 32              # connections (threads) available to the open-loop schedule
    open_grace: float = 10.0         # requests not sent this long after the schedule's end are dropped
    open_low_fraction: float = 0.5   # "open-low": offered rate = this x the single phase's docs/s
    warmup_single: int = 200
    warmup_batches: int = 6
    drain_timeout: float = 240.0
    build_processes: int = 2
    balance: bool = True             # spread keep-alive connections evenly over the hub's workers
    phases: tuple = ("batch", "single", "open", "open-low")

    @classmethod
    def for_run(cls, *, quick: bool, **overrides) -> "Config":
        config = cls()
        if quick:
            config = cls(quick=True, repeats=1, batch_requests=15, batch_time_limit=3.0, single_requests=400,
                         single_time_limit=3.0, open_seconds=2.0, open_grace=1.0, warmup_single=32,
                         warmup_batches=2, drain_timeout=2.0, phases=("batch", "single", "open"))
        for key, value in overrides.items():
            if value is not None:
                setattr(config, key, value)
        return config


# ------------------------------------------------------------------ documents and sealed requests

_LAB_EXAMPLE = Path(__file__).resolve().parents[1] / "schemas" / "examples" / "LabReport.xml"
_DOC = "{urn:hie:doc:v1}"


def make_document(tag: str, serial: int, author: str = "CLINIC01", size: int = DOC_BYTES) -> bytes:
    """A canonical LabReport by ``author`` of about ``size`` bytes, distinct per serial.

    Its patient is synthetic (generated here: no real person) with a valid resident ID, so the
    hub's background processing normalizes it like any member's document.
    """
    from hub.mpi.resident_id import make_resident_id

    rng = random.Random(f"{tag}:{serial}")
    doc = etree.parse(str(_LAB_EXAMPLE)).getroot()
    header = doc.find(f"{_DOC}header")
    header.find(f"{_DOC}id").set("extension", f"BENCH-{tag}-{serial}")
    header.find(f"{_DOC}author/{_DOC}institution").set("code", author)
    born = f"{rng.randrange(1940, 2015)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
    patient = header.find(f"{_DOC}patient")
    for el in list(patient):
        patient.remove(el)
    etree.SubElement(patient, f"{_DOC}id", root="2.16.156.10011.1.3",
                     extension=make_resident_id(f"330106{born}{rng.randrange(1000):03d}"))
    etree.SubElement(patient, f"{_DOC}name").text = "合成" + "".join(rng.choice("甲乙丙丁戊己庚辛") for _ in range(2))
    etree.SubElement(patient, f"{_DOC}sex", code=rng.choice("12"))
    etree.SubElement(patient, f"{_DOC}birthDate", value=f"{born[:4]}-{born[4:6]}-{born[6:]}")
    body = doc.find(f"{_DOC}body")
    results = body.findall(f"{_DOC}result")
    while len(etree.tostring(doc, encoding="utf-8")) < size - 400:
        body.append(copy.deepcopy(rng.choice(results)))
    return etree.tostring(doc, encoding="utf-8")


_W: dict = {}


def _init_builder(pki_dir: str, members: tuple[str, ...], to: str) -> None:
    from certs import PkiPaths
    from protocol.credentials import Credentials, load_certificate

    paths = PkiPaths.of(pki_dir)
    _W["members"] = [Credentials.from_files(paths.members / m / "cert.pem", paths.members / m / "key.pem")
                     for m in members]
    _W["hub_cert"] = load_certificate(paths.hub_enc_cert)
    _W["to"] = to


def _build_chunk(task: tuple) -> list[bytes]:
    """Seal ``count`` requests (in a builder process); document serials start at ``first``."""
    from lxml import etree

    from hub.exchange.gate import action_for
    from protocol.ns import HIE, q
    from protocol.request import seal_request

    kind, tag, first, count, batch = task
    members, hub_cert, to = _W["members"], _W["hub_cert"], _W["to"]
    out = []
    for r in range(count):
        if kind == "single":
            serial = first + r
            content = etree.Element(q(HIE, "SubmitDocument"), nsmap={"hie": HIE})
            member = members[serial % len(members)]
            etree.SubElement(content, q(HIE, "Document")).append(
                etree.fromstring(make_document(tag, serial, member.member)))
            op = "SubmitDocument"
        else:
            base = first + r * batch
            member = members[(base // batch) % len(members)]
            content = batch_content([(f"urn:uuid:{uuid.uuid4()}", etree.fromstring(make_document(tag, serial, member.member)))
                                     for serial in range(base, base + batch)])
            op = "SubmitBatch"
        out.append(seal_request(content, credentials=member, hub_cert=hub_cert, action=action_for(op), to=to).data)
    return out


def batch_content(items: list[tuple[str, etree._Element]]) -> etree._Element:
    """The Body content of a SubmitBatch: one Item (MessageId, Document) per (message id, document)."""
    from protocol.ns import HIE, q

    content = etree.Element(q(HIE, "SubmitBatch"), nsmap={"hie": HIE})
    for message_id, document in items:
        item = etree.SubElement(content, q(HIE, "Item"))
        etree.SubElement(item, q(HIE, "MessageId")).text = message_id
        etree.SubElement(item, q(HIE, "Document")).append(document)
    return content


def seal_batch(items: list[tuple[str, etree._Element]], *, credentials, hub_cert, to: str) -> bytes:
    """A signed and encrypted SubmitBatch request of ``items``, as a member seals it (bytes to post)."""
    from hub.exchange.gate import action_for
    from protocol.request import seal_request

    return seal_request(batch_content(items), credentials=credentials, hub_cert=hub_cert,
                        action=action_for("SubmitBatch"), to=to).data


class Builder:
    """A pool of ``processes`` that seal requests between phases (idle while a phase is timed)."""

    def __init__(self, pki_dir: Path, to: str, processes: int = 2):
        ctx = multiprocessing.get_context("spawn")
        self.pool = ctx.Pool(processes, initializer=_init_builder, initargs=(str(pki_dir), MEMBERS, to))
        self.processes = processes
        self.tag = uuid.uuid4().hex[:8]
        self.serial = 0

    def _run(self, kind: str, requests: int, batch: int, chunk: int) -> tuple[list[bytes], float]:
        tasks = []
        for start in range(0, requests, chunk):
            count = min(chunk, requests - start)
            tasks.append((kind, self.tag, self.serial, count, batch))
            self.serial += count * batch
        t0 = time.perf_counter()
        bodies = [body for part in self.pool.map(_build_chunk, tasks) for body in part]
        return bodies, time.perf_counter() - t0

    def single(self, requests: int) -> tuple[list[bytes], float]:
        return self._run("single", requests, 1, 100)

    def batch(self, requests: int, size: int) -> tuple[list[bytes], float]:
        return self._run("batch", requests, size, 4)

    def close(self) -> None:
        self.pool.close()
        self.pool.join()


# ------------------------------------------------------------------ the hub under test

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of one process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_cpu() -> dict:
    """Machine-wide CPU seconds from /proc/stat (busy = everything but idle and iowait)."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    stat = dict(zip(names, values))
    total = sum(values[:8])
    return {"busy": (total - stat["idle"] - stat["iowait"]) / _CLK_TCK, "steal": stat.get("steal", 0) / _CLK_TCK,
            "iowait": stat["iowait"] / _CLK_TCK}


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                ppid = int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(entry))
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class HubServer:
    """``python -m hub.cli.main serve --data-dir D --port P --workers N`` as a subprocess."""

    def __init__(self, data_dir: Path, *, workers: int, log_path: Path):
        self.data_dir = data_dir
        self.workers = workers
        self.log_path = log_path
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.worker_pids: list[int] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def start(self, timeout: float = 90.0) -> None:
        self.port = _free_port()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli.main", "serve", "--data-dir", str(self.data_dir), "--port", str(self.port),
             "--workers", str(self.workers), "--etl-interval", "0"], cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hie serve exited with {self.proc.returncode}; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError(f"hub did not answer /healthz within {timeout:.0f} s; see {self.log_path}")
        # uvicorn's worker processes (multiprocessing spawn children, not its resource tracker)
        deadline = time.monotonic() + 30
        while self.workers > 1 and time.monotonic() < deadline:
            self.worker_pids = [p for p in _children(self.proc.pid) if "spawn_main" in _cmdline(p)]
            if len(self.worker_pids) >= self.workers:
                break
            time.sleep(0.2)
        if self.workers == 1:
            self.worker_pids = [self.proc.pid]  # uvicorn serves in its main process

    def pids(self) -> list[int]:
        return [self.proc.pid, *_children(self.proc.pid)] if self.proc else []

    def cpu(self) -> dict[int, float]:
        return {pid: proc_cpu_seconds(pid) for pid in self.pids()}

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        children = _children(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn shuts its workers down gracefully
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for pid in children:  # only the processes this harness started, by id
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()
        return self.proc.returncode


# ------------------------------------------------------------------ the load generator

class _Conn:
    """One keep-alive connection and what happened on it (merged after the phase, no locks)."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.latencies: list[float] = []
        self.lags: list[float] = []
        self.series: list[tuple[float, float]] = []  # (due, latency) of each answered request (open loop)
        self.requests_sent = 0
        self.docs_sent = 0
        self.requests_ok = 0
        self.docs_ok = 0
        self.faults: Counter = Counter()
        self.transport_errors: Counter = Counter()

    def connect(self) -> None:
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def post(self, body: bytes, docs: int) -> bool:
        """Send one request; True when it came back with ``docs`` accepted receipts."""
        self.requests_sent += 1
        self.docs_sent += docs
        try:
            self.conn.request("POST", PATH, body, HEADERS)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.transport_errors[type(exc).__name__] += 1
            self.conn.close()  # http.client reconnects on the next request
            return False
        if response.status == 200:
            accepted = data.count(_ACCEPTED)
            self.docs_ok += accepted
            if accepted == docs:
                self.requests_ok += 1
                return True
            self.faults["receipts-missing"] += 1
            return False
        match = _FAULT_CODE.search(data)
        self.faults[match.group(1).decode() if match else f"http-{response.status}"] += 1
        return False

    def close(self) -> None:
        self.conn.close()


def _percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def latency_summary(values: list[float]) -> dict:
    ordered = sorted(values)
    ms = lambda v: round(v * 1000, 2)  # noqa: E731
    return {"count": len(ordered), "p50_ms": ms(_percentile(ordered, 50)), "p95_ms": ms(_percentile(ordered, 95)),
            "p99_ms": ms(_percentile(ordered, 99)), "p999_ms": ms(_percentile(ordered, 99.9)),
            "max_ms": ms(ordered[-1]) if ordered else None,
            "mean_ms": ms(sum(ordered) / len(ordered)) if ordered else None}


class _CpuWindow:
    """CPU used by the hub (all its processes), this load generator and everything else, over a phase."""

    def __init__(self, server: HubServer):
        self.server = server

    def __enter__(self):
        self.hub0 = self.server.cpu()
        self.client0 = time.process_time()
        self.machine0 = machine_cpu()
        self.wall0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall0
        hub1 = self.server.cpu()
        self.client = time.process_time() - self.client0
        machine1 = machine_cpu()
        self.per_pid = {pid: hub1[pid] - self.hub0.get(pid, 0.0) for pid in hub1}
        self.hub = sum(self.per_pid.values())
        self.machine = machine1["busy"] - self.machine0["busy"]
        self.steal = machine1["steal"] - self.machine0["steal"]
        self.iowait = machine1["iowait"] - self.machine0["iowait"]
        return False

    def report(self) -> dict:
        wall = max(self.wall, 1e-9)
        workers = [round(self.per_pid.get(pid, 0.0) / wall, 2) for pid in self.server.worker_pids]
        return {"wall_s": round(self.wall, 3), "hub_cores": round(self.hub / wall, 2),
                "hub_worker_cores": workers, "loadgen_cores": round(self.client / wall, 2),
                "other_cores": round(max(0.0, self.machine - self.hub - self.client) / wall, 2),
                "machine_busy_cores": round(self.machine / wall, 2), "steal_cores": round(self.steal / wall, 2),
                "iowait_cores": round(self.iowait / wall, 2)}


def _merge(conns: list[_Conn]) -> dict:
    faults, errors = Counter(), Counter()
    for c in conns:
        faults.update(c.faults)
        errors.update(c.transport_errors)
    return {"requests_sent": sum(c.requests_sent for c in conns), "docs_sent": sum(c.docs_sent for c in conns),
            "requests_ok": sum(c.requests_ok for c in conns), "docs_ok": sum(c.docs_ok for c in conns),
            "faults": dict(faults), "transport_errors": dict(errors),
            "errors": sum(faults.values()) + sum(errors.values())}


def _open_connections(port: int, n: int) -> list[_Conn]:
    conns = [_Conn(port) for _ in range(n)]
    for c in conns:
        c.connect()
    return conns


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(int(link[8:-1]))
    except OSError:
        pass
    return inodes


def _owners(server: HubServer, conns: list[_Conn]) -> dict[int, int | None]:
    """Client port -> pid of the uvicorn worker that accepted it (None: still in the accept queue)."""
    ports = {c.conn.sock.getsockname()[1] for c in conns if c.conn.sock is not None}
    inode_of_port: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                next(handle)
                for line in handle:
                    fields = line.split()
                    local_port = int(fields[1].rsplit(":", 1)[1], 16)
                    remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                    if local_port == server.port and remote_port in ports:
                        inode_of_port[remote_port] = int(fields[9])
        except OSError:
            continue
    owners = {pid: _socket_inodes(pid) for pid in server.worker_pids}
    return {port: next((pid for pid, inodes in owners.items() if inode_of_port.get(port) in inodes), None)
            for port in ports}


def _spread(server: HubServer, owners: dict[int, int | None]) -> dict:
    counts = {str(pid): sum(1 for owner in owners.values() if owner == pid) for pid in server.worker_pids}
    counts["unaccepted"] = sum(1 for owner in owners.values() if owner is None)
    return counts


def spread_connections(server: HubServer, conns: list[_Conn], *, balance: bool, budget: float = 8.0) -> dict:
    """Record which worker accepted each connection; with ``balance``, reconnect until they are even.

    uvicorn's workers share one listening socket and asyncio accepts everything queued at once, so a
    burst of keep-alive connections tends to land on a single worker. Real members' connections are
    spread out in time; the benchmark spreads its own so that it measures both workers.
    """
    time.sleep(0.3)  # let the workers accept() what the kernel queued
    owners = _owners(server, conns)
    natural = _spread(server, owners)
    if not balance or len(server.worker_pids) < 2:
        return {"natural": natural, "balanced": natural, "reconnects": 0}
    reconnects = 0
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        if None in owners.values():  # not accepted yet: give the workers a moment
            time.sleep(0.05)
            owners = _owners(server, conns)
            continue
        counts = {pid: sum(1 for owner in owners.values() if owner == pid) for pid in server.worker_pids}
        if max(counts.values()) - min(counts.values()) <= 1:
            break
        busiest = max(counts, key=counts.get)
        victim = next(c for c in conns if owners.get(c.conn.sock.getsockname()[1]) == busiest)
        victim.conn.close()
        victim.connect()
        reconnects += 1
        time.sleep(0.02)
        owners = _owners(server, conns)
    return {"natural": natural, "balanced": _spread(server, owners), "reconnects": reconnects}


def closed_loop(server: HubServer, bodies: list[bytes], *, docs_per_request: int, concurrency: int,
                time_limit: float, balance: bool = True) -> dict:
    """Each connection sends its next request as soon as the previous answer arrived."""
    conns = _open_connections(server.port, concurrency)
    spread = spread_connections(server, conns, balance=balance)
    counter = itertools.count()
    go = threading.Event()
    state = {"deadline": float("inf")}
    n = len(bodies)

    def run(conn: _Conn) -> None:
        go.wait()
        latencies = conn.latencies
        while True:
            i = next(counter)
            if i >= n:
                return
            start = time.perf_counter()
            if start > state["deadline"]:
                return
            conn.post(bodies[i], docs_per_request)
            latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in conns]
    for t in threads:
        t.start()
    gc.disable()
    try:
        with _CpuWindow(server) as cpu:
            t0 = time.perf_counter()
            state["deadline"] = t0 + time_limit
            go.set()
            for t in threads:
                t.join()
            duration = time.perf_counter() - t0
    finally:
        gc.enable()
        for c in conns:
            c.close()
    result = _merge(conns)
    result.update({"duration_s": round(duration, 3), "concurrency": concurrency, "docs_per_request": docs_per_request,
                   "offered_requests": n, "stopped_by_time_limit": result["requests_sent"] < n,
                   "connections_per_worker": spread,
                   "docs_per_s": round(result["docs_ok"] / duration, 1),
                   "requests_per_s": round(result["requests_ok"] / duration, 1),
                   "latency": latency_summary([v for c in conns for v in c.latencies]), "cpu": cpu.report()})
    return result


def open_loop(server: HubServer, bodies: list[bytes], *, rate: float, pool: int, grace: float,
              balance: bool = True) -> dict:
    """Request i is due at t0 + i/rate; latency counts from that due time, whatever delayed the send.

    An overloaded hub would make the schedule run on for minutes: requests not sent within ``grace``
    seconds after the last one was due are not sent at all. They count as ``unsent``, and their
    latency enters the percentiles as a lower bound (``cutoff - due``), flagged ``censored``.
    """
    conns = _open_connections(server.port, pool)
    spread = spread_connections(server, conns, balance=balance)
    counter = itertools.count()
    go = threading.Event()
    state = {"t0": 0.0, "cutoff": float("inf")}
    n = len(bodies)
    unsent: list[int] = []

    def run(conn: _Conn) -> None:
        go.wait()
        t0, cutoff = state["t0"], state["cutoff"]
        latencies, lags = conn.latencies, conn.lags
        while True:
            i = next(counter)
            if i >= n:
                return
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            start = time.perf_counter()
            if start > cutoff:
                unsent.append(i)  # list.append is atomic under the GIL
                continue
            conn.post(bodies[i], 1)
            latencies.append(time.perf_counter() - due)
            lags.append(start - due)
            conn.series.append((due, latencies[-1]))

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in conns]
    for t in threads:
        t.start()
    gc.disable()
    try:
        with _CpuWindow(server) as cpu:
            state["t0"] = t0 = time.perf_counter() + 0.05
            state["cutoff"] = t0 + n / rate + grace
            go.set()
            for t in threads:
                t.join()
            duration = time.perf_counter() - t0
    finally:
        gc.enable()
        for c in conns:
            c.close()
    result = _merge(conns)
    # Each answered request's (due time, latency), time on the machine's monotonic clock (what
    # ``time.perf_counter`` reads in every process): to line the slow ones up with the hub's events.
    result["series"] = sorted((round(due, 6), round(latency * 1000, 3)) for c in conns for due, latency in c.series)
    lags = sorted(v for c in conns for v in c.lags)
    latencies = [v for c in conns for v in c.latencies]
    latencies += [state["cutoff"] - (t0 + i / rate) for i in unsent]
    latency = latency_summary(latencies)
    latency["censored"] = len(unsent)
    result.update({"duration_s": round(duration, 3), "offered_docs_per_s": rate, "pool": pool,
                   "scheduled_span_s": round(n / rate, 3), "docs_per_request": 1, "offered_requests": n,
                   "unsent": len(unsent), "stopped_by_time_limit": bool(unsent), "connections_per_worker": spread,
                   "docs_per_s": round(result["docs_ok"] / duration, 1),
                   "requests_per_s": round(result["requests_ok"] / duration, 1),
                   "latency": latency,
                   "send_lag_ms": {"p99": round(_percentile(lags, 99) * 1000, 2),
                                   "max": round(lags[-1] * 1000, 2) if lags else None},
                   "cpu": cpu.report()})
    return result


# ------------------------------------------------------------------ inbox checks

def _db(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{data_dir / 'hub.db'}?mode=ro", uri=True, timeout=30)


def pending_count(data_dir: Path) -> int:
    with _db(data_dir) as con:
        return con.execute("SELECT count(*) FROM inbox_message WHERE status IN ('received', 'accepted')").fetchone()[0]


def wait_drained(data_dir: Path, timeout: float) -> dict:
    """Wait until the hub's processor has finished every accepted message."""
    t0 = time.perf_counter()
    first = pending_count(data_dir)
    left = first
    while left and time.perf_counter() - t0 < timeout:
        time.sleep(0.25)
        left = pending_count(data_dir)
    waited = time.perf_counter() - t0
    return {"backlog_at_end": first, "left": left, "drain_s": round(waited, 2),
            "drain_docs_per_s": round(first / waited, 1) if first and waited > 0.3 and not left else None}


def inbox_check(data_dir: Path) -> dict:
    with _db(data_dir) as con:
        messages, distinct = con.execute(
            "SELECT count(*), count(DISTINCT member || ' ' || message_id) FROM inbox_message").fetchone()
        envelopes = con.execute("SELECT count(*) FROM inbox_envelope").fetchone()[0]
        by_status = dict(con.execute("SELECT status, count(*) FROM inbox_message GROUP BY status").fetchall())
        audit = con.execute("SELECT count(*) FROM audit_event WHERE event_type = 'message.accept'").fetchone()[0]
    return {"messages": messages, "distinct_messages": distinct, "envelopes": envelopes, "by_status": by_status,
            "audit_accept_events": audit}


# ------------------------------------------------------------------ the whole run

def run_exchange(config: Config, *, out_dir: Path, say=print, keep: bool = False) -> dict:
    """Set up a PKI and a hub, run the phases, check the inbox, stop the hub; return the results."""
    from certs import init_pki, issue_member

    tmp = Path(tempfile.mkdtemp(prefix="hie-bench-"))
    data_dir = tmp / "data"
    pki = data_dir / "pki"
    t0 = time.perf_counter()
    init_pki(pki, hub_name="基准测试区域平台")
    for code in MEMBERS:
        issue_member(pki, member=code, member_name=f"基准测试机构 {code}")
    server = HubServer(data_dir, workers=config.workers, log_path=out_dir / "exchange-server.log")
    builder = None
    results: dict = {"config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(config).items()},
                     "document_bytes": DOC_BYTES, "members": list(MEMBERS), "phases": {}, "warmup": None}
    sent = {"requests": 0, "docs": 0, "docs_ok": 0}

    def account(result: dict) -> None:
        sent["requests"] += result["requests_sent"]
        sent["docs"] += result["docs_sent"]
        sent["docs_ok"] += result["docs_ok"]

    try:
        server.start()
        say(f"hub up at {server.url} (workers {server.worker_pids}), setup {time.perf_counter() - t0:.1f} s")
        builder = Builder(pki, server.url, processes=config.build_processes)
        # Warm-up: every worker loads the trust profiles, xmlsec keys, SQLAlchemy and spyne caches.
        bodies, _ = builder.single(config.warmup_single)
        warm = closed_loop(server, bodies, docs_per_request=1, concurrency=config.single_concurrency, time_limit=60)
        account(warm)
        bodies, _ = builder.batch(config.warmup_batches, config.batch_size)
        warm_b = closed_loop(server, bodies, docs_per_request=config.batch_size,
                             concurrency=min(config.batch_concurrency, config.warmup_batches), time_limit=60)
        account(warm_b)
        results["warmup"] = {"single": {k: warm[k] for k in ("docs_ok", "errors", "faults")},
                             "batch": {k: warm_b[k] for k in ("docs_ok", "errors", "faults")},
                             "drain": wait_drained(data_dir, config.drain_timeout)}
        say(f"warm-up: {warm['docs_ok'] + warm_b['docs_ok']} documents, "
            f"{warm['errors'] + warm_b['errors']} errors")
        for round_ in range(1, config.repeats + 1):
            for phase in config.phases:
                if phase == "batch":
                    bodies, build_s = builder.batch(config.batch_requests, config.batch_size)
                    say(f"[{phase} #{round_}] built {len(bodies)} requests x {config.batch_size} docs "
                        f"({len(bodies[0]) // 1024} KiB each) in {build_s:.1f} s")
                    result = closed_loop(server, bodies, docs_per_request=config.batch_size,
                                         concurrency=config.batch_concurrency, time_limit=config.batch_time_limit,
                                         balance=config.balance)
                elif phase == "single":
                    bodies, build_s = builder.single(config.single_requests)
                    say(f"[{phase} #{round_}] built {len(bodies)} requests ({len(bodies[0]) // 1024} KiB each) "
                        f"in {build_s:.1f} s")
                    result = closed_loop(server, bodies, docs_per_request=1, concurrency=config.single_concurrency,
                                         time_limit=config.single_time_limit, balance=config.balance)
                elif phase == "open":
                    bodies, build_s = builder.single(int(config.open_rate * config.open_seconds))
                    say(f"[{phase} #{round_}] built {len(bodies)} requests in {build_s:.1f} s")
                    result = open_loop(server, bodies, rate=config.open_rate, pool=config.open_pool,
                                       grace=config.open_grace, balance=config.balance)
                elif phase == "open-low":
                    singles = results["phases"].get("single")
                    rate = max(5.0, round(config.open_low_fraction * singles[-1]["docs_per_s"])) if singles else 50.0
                    bodies, build_s = builder.single(int(rate * config.open_seconds))
                    say(f"[{phase} #{round_}] built {len(bodies)} requests in {build_s:.1f} s (offered {rate:g}/s)")
                    result = open_loop(server, bodies, rate=rate, pool=config.open_pool, grace=config.open_grace,
                                       balance=config.balance)
                else:
                    raise ValueError(f"unknown phase {phase}")
                account(result)
                result["build_s"] = round(build_s, 2)
                result["request_bytes"] = len(bodies[0])
                del bodies
                result["drain"] = wait_drained(data_dir, config.drain_timeout)
                series = result.pop("series", None)
                if series:
                    (out_dir / f"{phase}-{round_}-series.tsv").write_text(
                        "due_s\tlatency_ms\n" + "".join(f"{due}\t{ms}\n" for due, ms in series))
                results["phases"].setdefault(phase, []).append(result)
                lat = result["latency"]
                say(f"[{phase} #{round_}] {result['docs_per_s']:.0f} docs/s{f', unsent ' + str(result['unsent']) if result.get('unsent') else ''}, {result['requests_per_s']:.0f} req/s, "
                    f"p50 {lat['p50_ms']} ms p99 {lat['p99_ms']} ms, errors {result['errors']}"
                    f"{' ' + str(result['faults']) + ' ' + str(result['transport_errors']) if result['errors'] else ''}, "
                    f"hub {result['cpu']['hub_cores']} cores {result['cpu']['hub_worker_cores']} "
                    f"(connections {result['connections_per_worker']['natural']} -> {result['connections_per_worker']['balanced']}), iowait {result['cpu']['iowait_cores']}, "
                    f"loadgen {result['cpu']['loadgen_cores']}, other {result['cpu']['other_cores']}; "
                    f"processor drained {result['drain']['backlog_at_end']} in {result['drain']['drain_s']} s")
        inbox = inbox_check(data_dir)
        inbox.update({"requests_sent": sent["requests"], "docs_sent": sent["docs"], "docs_acknowledged": sent["docs_ok"],
                      "no_loss": inbox["messages"] == sent["docs"] == sent["docs_ok"] == inbox["distinct_messages"],
                      "envelopes_match_requests": inbox["envelopes"] == sent["requests"]})
        results["inbox"] = inbox
        say(f"inbox: {inbox['messages']} messages stored for {sent['docs']} documents sent "
            f"({sent['docs_ok']} acknowledged) -> {'no loss' if inbox['no_loss'] else 'MISMATCH'}")
    finally:
        if builder is not None:
            builder.close()
        results["server_exit_code"] = server.stop()
        if keep:
            results["data_dir"] = str(data_dir)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return results


__all__ = ["Config", "run_exchange", "make_document", "HubServer", "closed_loop", "open_loop", "latency_summary",
           "machine_cpu", "proc_cpu_seconds", "DOC_BYTES", "MEMBERS"]
