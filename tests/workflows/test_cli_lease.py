"""``hie workflows run`` on a shared database: an operator's pass by hand leaves the work to the runner that
holds the lease ``workflows`` (a processor's, on another node), instead of writing beside it."""
from __future__ import annotations

from click.testing import CliRunner

from hub.cli.main import main
from hub.store.lease import Lease
from hub.workflows.runner import LEASE

from .reports import HFMD, disease_report


def test_workflows_run_by_hand_leaves_the_work_to_the_runner_holding_the_lease(store, db_url, tmp_path):
    store.deliver(disease_report("HAND-1", disease=HFMD), disease_report("HAND-2", disease=HFMD))
    store.process()
    holder = Lease(store.sessions, LEASE, ttl_s=60)  # a processor's runner on another node, mid-pass
    assert holder.try_acquire()
    try:
        busy = CliRunner().invoke(main, ["workflows", "run", "--data-dir", str(tmp_path), "--database-url", db_url])
    finally:
        holder.release()
    worked = [line for line in busy.output.splitlines() if "change(s)" in line and not line.endswith(": 0 change(s)")]
    assert not worked, f"`hie workflows run` worked while another runner held the lease {LEASE!r}: {worked}"
    assert busy.exit_code == 1 and "workflow.busy:" in busy.output and holder.holder in busy.output
    done = CliRunner().invoke(main, ["workflows", "run", "--data-dir", str(tmp_path), "--database-url", db_url])
    assert done.exit_code == 0, done.output
    assert "disease.surveillance: 2 change(s)" in done.output
