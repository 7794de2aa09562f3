"""``hie serve --workers 2`` on the embedded (chDB) mart: one owner process opens it and runs the
ETL, and every worker answers cube queries through it — with the numbers a direct query gives.
Its owner killed, every worker answers ``olap.unavailable`` at once; ``hie serve`` starts a new owner
(after its restart delay), and they answer again. ``hie etl run`` beside the running hub goes through the owner.

The hub's store is a copy of the cube tests' region (tests/cubes/conftest.py), served from its own
data directory; the direct answers come from a separate process (chDB: one directory per process).
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from etl import jobs
from hub.auth import issue
from hub.cli.main import main
from hub.store.db import make_engine, session_factory, transaction
from protocol.timestamps import utcnow
from tests.exchange.conftest import pki_dir  # noqa: F401  (fixture: the hub's PKI)

from .checks import WHOLE

ROOT = Path(__file__).resolve().parents[2]
QUERIES = [
    ("B01", "visits", {"measures": ["visits", "persons", "total_fen"], "indicators": ["charge_per_visit"],
                       "group_by": ["institution.institution", "date.month"], "period": WHOLE}),
    ("B02", "visits", {"measures": ["visits"], "group_by": ["institution.institution"], "period": WHOLE}),
    ("H01", "visits", {"measures": ["visits"], "group_by": ["institution.institution"], "period": WHOLE}),
    ("B01", "prescriptions", {"measures": ["amount_fen", "lines"], "group_by": ["drug.drug"], "period": WHOLE,
                              "sort": [{"by": "amount_fen", "desc": True}], "top": 5}),
    ("B01", "admissions", {"measures": ["admissions"], "group_by": ["institution.institution", "date.quarter"],
                           "period": WHOLE}),
    ("B01", "visits", {"measures": ["visits"], "group_by": ["institution.district", "sex.sex"], "period": WHOLE,
                       "labels": True}),
]
DIRECT = """
import json, sys
from fastapi.encoders import jsonable_encoder
from etl.mart import open_mart
from hub.cli.store import open_store
from hub.web.scope import scope_for
from olap.cubes import execute, parse_query
from datetime import date
data_dir, today = sys.argv[1], date.fromisoformat(sys.argv[2])
sessions, mart = open_store(data_dir, None), open_mart(f"chdb://{data_dir}/mart")
answers = []
for member, cube, body in json.load(sys.stdin):
    with sessions() as session:
        scope = scope_for(session, member)
    answers.append(jsonable_encoder(execute(mart, parse_query(cube, body, today=today), scope=scope)))
print(json.dumps(answers))
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kill(hub: subprocess.Popen) -> None:
    try:
        os.killpg(hub.pid, signal.SIGKILL)  # the hub, its workers and its owner
    except ProcessLookupError:
        pass
    hub.wait(timeout=10)


def _children(pid: int, word: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid \
                    and word in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


@pytest.fixture
def served(tmp_path, region, pki_dir):  # noqa: F811
    data_dir = tmp_path / "hub"
    data_dir.mkdir()
    source = sqlite3.connect(region.engine.url.database)
    with sqlite3.connect(data_dir / "hub.db") as copy:
        source.backup(copy)
        # a fresh hub: other tests may have loaded their marts from the region's store already
        copy.execute("DELETE FROM etl_watermark")
        copy.execute("DELETE FROM etl_run")
    source.close()
    engine = make_engine(f"sqlite:///{data_dir / 'hub.db'}")
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        tokens = {member: issue(session, member=member, label="workers", now=utcnow())
                  for member in ("B01", "B02", "H01")}
    port = _free_port()
    # a restart delay long enough to see the workers answer while the owner is gone
    env = {**os.environ, "HIE_PKI_DIR": str(pki_dir), "PYTHONPATH": str(ROOT), "HIE_RESTART_BACKOFF_S": "4"}
    hub = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "serve", "--data-dir", str(data_dir),
                            "--port", str(port), "--workers", "2", "--no-processor", "--etl-interval", "2"],
                           env=env, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert hub.poll() is None, hub.stderr.read().decode(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "hub did not start"
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        yield {"url": f"http://127.0.0.1:{port}", "hub": hub, "tokens": tokens, "data_dir": data_dir,
               "sessions": sessions, "env": env, "today": region.today}
    finally:
        _kill(hub)
        engine.dispose()


def _ask(served, member: str, cube: str, body: dict) -> requests.Response:
    return requests.post(f"{served['url']}/api/cubes/{cube}/query", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {served['tokens'][member]}"})


def _ask_all(served, rounds: int) -> list[requests.Response]:
    with ThreadPoolExecutor(8) as pool:  # concurrent requests: both workers answer some
        return list(pool.map(lambda query: _ask(served, *query), QUERIES * rounds))


def _wait_for_loaded_mart(sessions, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(run["status"] == "finished" and run["rows_written"] for run in jobs.status(sessions)["runs"]):
            return
        time.sleep(0.3)
    raise AssertionError("the owner ran no ETL")


@pytest.mark.slow
def test_two_workers_answer_every_cube_query_through_the_marts_owner(served):
    _wait_for_loaded_mart(served["sessions"])
    answers = _ask_all(served, rounds=8)
    assert [response.status_code for response in answers] == [200] * len(answers), \
        {response.text[:200] for response in answers if response.status_code != 200}
    first = [response.json() for response in answers[:len(QUERIES)]]
    assert all(response.json() == first[index % len(QUERIES)] for index, response in enumerate(answers))
    assert any(cell["visits"] for cell in first[0]["cells"])

    etl_run = CliRunner().invoke(main, ["etl", "run", "--wait", "--data-dir", str(served["data_dir"])])
    assert etl_run.exit_code == 0, etl_run.output
    assert "working through it" in etl_run.output and "run " in etl_run.output

    [owner] = _children(served["hub"].pid, "mart-owner")
    os.kill(owner, signal.SIGKILL)
    started = time.monotonic()
    down = _ask_all(served, rounds=2)
    assert time.monotonic() - started < 10
    assert {(response.status_code, response.json()["code"]) for response in down} == {(503, "olap.unavailable")}

    # hie serve supervises the owner: a new one starts by itself (after HIE_RESTART_BACKOFF_S)
    deadline = time.monotonic() + 60
    while _ask(served, *QUERIES[0]).status_code != 200:
        assert time.monotonic() < deadline, "the workers did not reach a new owner"
        time.sleep(0.2)
    [restarted] = _children(served["hub"].pid, "mart-owner")
    assert restarted != owner
    back = _ask_all(served, rounds=2)
    assert [response.json() for response in back] == first * 2
    _kill(served["hub"])

    direct = subprocess.run([sys.executable, "-c", DIRECT, str(served["data_dir"]), served["today"].isoformat()],
                            input=json.dumps(QUERIES), capture_output=True, text=True, env=served["env"], cwd=ROOT,
                            timeout=120)
    assert direct.returncode == 0, direct.stderr[-2000:]
    assert json.loads(direct.stdout) == first
