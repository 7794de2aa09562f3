"""The issue's robustness guarantees, against a real hub process (``hie serve``, SQLite).

* the hub goes down (kill -9) while records accumulate, comes back: everything arrives exactly once;
* the agent is killed with SIGKILL in the middle of a batch (before the request, and after the hub
  stored it but before the agent recorded the receipts), restarted: no loss, no duplicate;
* the hub refuses one document of a batch, at the gate (a rejected receipt inside the batch) or at
  normalization (an acknowledgement with status rejected): the rest are accepted and processed,
  the bad one is quarantined with the hub's code (and field).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from adapters.agent import Agent, load
from adapters.agent.outbox import message_id_for
from adapters.client import HubClient
from tests.support.documents import document, document_bytes
from tests.support.proxy import STAGES, StallingProxy

from .conftest import ROOT, wait_until, write_config, write_documents

pytestmark = pytest.mark.slow


def _drain(agent: Agent):
    return agent.push(drain_for=30)


def _settle_replies(agent: Agent, expected: int) -> None:
    """Fetch replies until every item the hub accepted has its processing acknowledgement."""
    def settled():
        agent.replies()
        counts = agent.status().counts
        return counts["processed"] + counts["quarantined"] >= expected and counts["accepted"] == 0
    wait_until(settled, timeout=60, interval=0.2, message="acknowledgements")


def test_hub_down_while_records_accumulate_then_back(tmp_path, hub_process, pki_dir):
    hub_process.start()
    config = write_config(tmp_path / "clinic", hub_url=hub_process.url, pki=pki_dir)
    agent = Agent(load(config))
    write_documents(config.parent, 30, start=0)
    agent.collect()
    assert _drain(agent).accepted == 30

    hub_process.kill()  # hard outage: the hub's process dies
    for round_start in (30, 50, 70):  # records keep coming while it is down
        write_documents(config.parent, 20, start=round_start)
        agent.collect()
        result = agent.push()
        assert result.accepted == 0 and result.halted is not None
    status = agent.status()
    assert status.backlog == 60 and status.last_error == "transport.unavailable"

    hub_process.start()
    result = _drain(agent)
    assert result.accepted == 60 and result.halted is None
    assert hub_process.inbox() == (90, 90, 90)  # every record exactly once
    assert agent.status().counts["accepted"] == 90
    assert _drain(agent).requests == 0  # nothing left, nothing resent
    _settle_replies(agent, 90)
    assert agent.status().counts["processed"] == 90
    assert hub_process.unacknowledged_replies() == 0


def _added(hub, before: tuple[int, int, int]) -> tuple[int, ...]:
    """What the hub's inbox counts (messages, MessageIDs, documents) grew by since ``before``."""
    return tuple(now - then for now, then in zip(hub.inbox(), before))


def _agent_process(config, env_extra: dict) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_extra}
    return subprocess.Popen([sys.executable, "-m", "adapters.agent.cli", "push-now", "-c", str(config),
                             "--give-up-after", "30"], env=env, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("point", STAGES)
def test_agent_killed_mid_batch_then_restarted(tmp_path, module_hub, pki_dir, point):
    # The agent talks to the hub through a proxy that stalls its 3rd request: before the hub sees it,
    # or after the hub stored it and answered (the answer held back). Then kill -9, mid-batch.
    # Both kill points (and the gate's test) share the module's hub: each counts what it added, with
    # documents of its own.
    before = module_hub.inbox()
    proxy = StallingProxy(module_hub.url, stall_at=3, stage=point)
    config = write_config(tmp_path / "clinic", hub_url=proxy.url, pki=pki_dir, batch_size=25)
    write_documents(config.parent, 100, tag=point.upper())
    agent = _agent_process(config, {})
    try:
        wait_until(lambda: proxy.stalled.is_set() or agent.poll() is not None, timeout=120,
                   message="the agent to reach the 3rd request")
        assert proxy.stalled.is_set(), agent.stderr.read().decode(errors="replace")[-2000:]
        os.killpg(agent.pid, signal.SIGKILL)  # kill -9, mid-batch
        agent.wait(timeout=10)
    finally:
        if agent.poll() is None:
            os.killpg(agent.pid, signal.SIGKILL)
        proxy.close()
    assert agent.returncode == -signal.SIGKILL
    in_flight = 25 if point == "after-submit" else 0  # stored at the hub, receipts never recorded
    assert _added(module_hub, before) == (50 + in_flight,) * 3
    status = Agent(load(config)).status()
    assert (status.counts["accepted"], status.counts["sent"], status.counts["pending"]) == (50, 25, 25)

    write_config(tmp_path / "clinic", hub_url=module_hub.url, pki=pki_dir, batch_size=25)  # straight to the hub
    restarted = _agent_process(config, {})
    out, err = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, err.decode(errors="replace")[-2000:]
    assert _added(module_hub, before) == (100, 100, 100)  # no loss, no duplicate
    assert Agent(load(config)).status().counts["accepted"] == 100


def test_gate_rejection_inside_a_batch_quarantines_only_that_document(tmp_path, module_hub, pki_dir, members,
                                                                       hub_paths):
    before = module_hub.inbox()
    config = write_config(tmp_path / "clinic", hub_url=module_hub.url, pki=pki_dir, batch_size=10)
    paths = write_documents(config.parent, 10, tag="GATE")
    agent = Agent(load(config))
    agent.collect()
    victim = agent.outbox().backlog(10)[4]
    # Another copy of this clinic's outbox (reinstalled, say) already sent a *different* document
    # under the MessageID this record was given: the hub refuses the reuse for this item only.
    other = HubClient(module_hub.url, credentials=members["CLINIC01"], hub_cert=hub_paths.hub_enc_cert,
                      ca_cert=hub_paths.ca_cert)
    other.submit(document("LabReport", document_id="CLINIC01-LAB-OTHER"), message_id=victim.message_id)
    assert victim.message_id == message_id_for("CLINIC01", "xml", victim.item_key)

    result = _drain(agent)
    assert (result.accepted, result.quarantined, result.requests) == (9, 1, 1)  # one SubmitBatch
    (item,) = agent.outbox().quarantined()
    assert (item.id, item.code, item.quarantined_by) == (victim.id, "exchange.message_id.reused", "hub")
    assert item.reason == "MessageID was already used for a different document"
    assert _added(module_hub, before) == (10, 10, 10)
    assert len(paths) == 10


def test_normalization_rejection_arrives_as_ack_and_quarantines_that_document(tmp_path, running_hub, pki_dir):
    config = write_config(tmp_path / "clinic", hub_url=running_hub.url, pki=pki_dir, batch_size=10)
    write_documents(config.parent, 9)
    # well-formed and schema-valid, so the gate accepts it; but its author is another institution
    (config.parent / "outgoing" / "foreign-author.xml").write_bytes(
        document_bytes("LabReport", institution="HOSP01", document_id="HOSP01-LAB-1"))
    agent = Agent(load(config))
    agent.collect()
    result = _drain(agent)
    assert (result.accepted, result.quarantined) == (10, 0)  # the receipts only say "stored"
    _settle_replies(agent, 10)
    counts = agent.status().counts
    assert (counts["processed"], counts["quarantined"]) == (9, 1)
    (item,) = agent.outbox().quarantined()
    assert (item.code, item.quarantined_by) == ("record.author.mismatch", "normalization")
    assert item.field.endswith("author/institution/@code")
    assert item.item_key.startswith("LabReport:") and "HOSP01-LAB-1" in item.item_key
    assert running_hub.unacknowledged_replies() == 0
