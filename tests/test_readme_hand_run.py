"""The README's "Running a hub by hand" section, run as written on a fresh directory.

The commands between ``<!-- hand-run:begin -->`` and ``<!-- hand-run:end -->`` are taken from
README.md and run by bash in a temporary directory (``schemas`` linked to the checkout's, port 8080
replaced by a free one). The few things a person does between the lines are spelled out here, in
``PREAMBLE``, and nowhere else: ``hie`` is this checkout's CLI; ``hie serve`` goes to "the second
terminal" (the background) and the next line waits until it answers ``/healthz``; ``hie messages``
is looked at once the processor has had its moment (nothing left ``accepted``). The activation
line is skipped: this test runs in the environment already.

Everything else is the README's text: every example accepted and processed (none rejected later),
the registry imported, the ETL run by hand on the fresh hub, and the exchange cube answering with
the 14 messages per member.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- hand-run:begin -->", "<!-- hand-run:end -->"

PREAMBLE = r"""
set -euo pipefail
HUB_PID=""
_hie() { "$HIE_PYTHON" -m hub.cli.main "$@"; }
_hub_stop() {
    if [ -n "$HUB_PID" ]; then
        kill -TERM "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; HUB_PID=""
    fi
}
trap _hub_stop EXIT
_wait_healthy() {
    for _ in $(seq 1 150); do
        curl -sf "http://127.0.0.1:$HIE_PORT/healthz" >/dev/null && return 0
        kill -0 "$HUB_PID" 2>/dev/null || { echo "the hub exited" >&2; return 1; }
        sleep 0.2
    done
    echo "the hub did not answer" >&2; return 1
}
_wait_processed() {
    for _ in $(seq 1 150); do
        _hie messages --data-dir data --json | grep -q '"status": "accepted"' || return 0
        sleep 0.2
    done
    echo "messages left unprocessed" >&2; return 1
}
hie() {
    case "$1" in
        serve) _hub_stop; "$HIE_PYTHON" -m hub.cli.main "$@" >>hub.log 2>&1 & HUB_PID=$!; _wait_healthy ;;
        messages) _wait_processed; _hie "$@" ;;
        *) _hie "$@" ;;
    esac
}
"""


def hand_run_section() -> str:
    """The shell block between the markers, as README.md has it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "the hand-run section holds one ```sh block"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_section_is_what_a_newcomer_types():
    commands = hand_run_section()
    assert commands.startswith(". .venv/bin/activate\n")
    assert "hie registry import" in commands and "--register" in commands and "hie etl run" in commands
    senders = re.findall(r"--member (\w+) \\\n\s+--cert data/pki/members/(\w+)/", commands)
    assert senders and all(member == cert for member, cert in senders)  # each sends with its own certificate


@pytest.mark.slow
def test_the_readme_hand_run_section_goes_through(tmp_path):
    port = _free_port()
    script = hand_run_section().replace(". .venv/bin/activate\n", "").replace("8080", str(port))
    (tmp_path / "schemas").symlink_to(ROOT / "schemas")
    (tmp_path / "hand-run.sh").write_text(PREAMBLE + script, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HIE_PYTHON": sys.executable, "HIE_PORT": str(port)}
    walk = subprocess.Popen(["bash", "hand-run.sh"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = walk.communicate(timeout=400)
    finally:
        if walk.poll() is None:  # timed out: the hub started in the background goes with the script
            os.killpg(walk.pid, signal.SIGKILL)
            walk.communicate()
    run = subprocess.CompletedProcess(walk.args, walk.returncode, stdout, stderr)
    log = (tmp_path / "hub.log").read_text(encoding="utf-8") if (tmp_path / "hub.log").exists() else ""
    assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}\n{log[-2000:]}"
    out = run.stdout

    assert "institutions      5 created" in out  # the registry import
    assert re.search(r"CLINIC04\s+community_center\s+330106\s+active", out)  # pki issue --register
    receipts = re.findall(r"^schemas/examples/(\w+)\.xml: (\w+)", out, re.M)
    examples = sorted(p.stem for p in (ROOT / "schemas" / "examples").glob("*.xml"))
    assert sorted(name for name, _ in receipts) == examples
    assert {status for _, status in receipts} == {"accepted"}
    inbox = [line.split() for line in out.splitlines() if re.match(r"^\d{4}-\d\d-\d\dT", line)]
    assert len(inbox) == len(examples) == 14
    assert {row[2] for row in inbox} == {"processed"}, inbox  # none rejected later
    assert re.search(r"^run \d+: read \d+", out, re.M)  # the ETL by hand, on the fresh hub
    assert re.search(r"fact_exchange_message\s+read\s+14\s+written\s+14", out)
    answer = json.loads(next(line for line in out.splitlines() if line.startswith('{"cube":"exchange"')))
    cells = {cell["institution.institution"]: cell for cell in answer["cells"]}
    assert {code: cell["messages"] for code, cell in cells.items()} == {
        "CLINIC01": 10, "CLINIC02": 1, "CLINIC03": 2, "HOSP01": 1}
    assert sum(cell["rejected"] for cell in cells.values()) == 0
