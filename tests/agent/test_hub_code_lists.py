"""End to end with a real hub: the hub is the authority on code lists. A drug of the regional catalogue that
the operator imported at the hub (``hie codes import drugs``) but the agent's shipped list lacks is sent, not
quarantined at the clinic, and the hub keeps it; a drug neither list holds is refused by the hub (the drug
binding is strict), and the refusal comes back in the acknowledgement, where ``status`` and ``quarantine list``
show it to the clinic (docs/code-lists.md, "A clinic's agent and imported codes")."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from lxml import etree

from adapters.agent.cli import main
from schemas.terminology import lookup
from schemas.terminology.codes import REFRESH_S
from tests.support.documents import DOC_NS, document

from .conftest import ROOT, wait_until, write_config

pytestmark = pytest.mark.slow  # a hub process, an import and the processor's round trips

DRUG_FIELD = "/Prescription/body/item[1]/drug/@code"


def _prescription(document_id: str, drug: str) -> bytes:
    doc = document("Prescription", document_id=document_id)
    doc.find(f"{{{DOC_NS}}}body/{{{DOC_NS}}}item/{{{DOC_NS}}}drug").set("code", drug)
    return etree.tostring(doc, encoding="utf-8")


def test_a_drug_imported_at_the_hub_is_sent_and_kept_and_one_no_list_holds_comes_back_refused(
        tmp_path, running_hub, pki_dir):
    assert lookup("drugs", "YP9999") is None and lookup("drugs", "YP8888") is None  # not in the agent's list
    catalogue = tmp_path / "药品目录.csv"
    catalogue.write_bytes("药品编码,药品名称,atc\r\nYP9999,测试目录药品,C08CA01\r\n".encode("gb18030"))
    imported = subprocess.run(
        [sys.executable, "-m", "hub.cli.main", "codes", "import", "--data-dir", str(running_hub.data_dir), "drugs",
         str(catalogue)], env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, capture_output=True, text=True)
    assert imported.returncode == 0 and "1 codes added" in imported.stdout, imported.stdout + imported.stderr
    time.sleep(REFRESH_S + 0.5)  # the running hub follows an import within REFRESH_S, without a restart
    hub = running_hub

    config = write_config(tmp_path / "clinic", hub_url=hub.url, pki=pki_dir)
    (config.parent / "outgoing" / "catalogue-drug.xml").write_bytes(_prescription("CLINIC01-RX-CAT-1", "YP9999"))
    (config.parent / "outgoing" / "unknown-drug.xml").write_bytes(_prescription("CLINIC01-RX-CAT-2", "YP8888"))
    runner = CliRunner()
    pushed = runner.invoke(main, ["push-now", "-c", str(config), "--give-up-after", "30"])
    assert pushed.exit_code == 0, pushed.output
    assert "quarantined" not in pushed.output.split("outbox now:")[0], pushed.output  # both sent
    wait_until(lambda: hub.query("SELECT count(*) FROM outbox_reply")[0][0] == 2, message="acks queued")
    assert runner.invoke(main, ["replies", "-c", str(config)]).exit_code == 0

    status = runner.invoke(main, ["status", "-c", str(config)]).output
    assert ("outbox           queued 0, sent 0, accepted 1, accepted with findings 0, rejected 1, quarantined 0, "
            "waiting 0") in status, status
    (line,) = runner.invoke(main, ["quarantine", "list", "-c", str(config)]).output.splitlines()
    assert line.split("\t")[1:3] + line.split("\t")[4:7] == [
        "xml", "unknown-drug.xml", "normalization", "record.code.unknown", DRUG_FIELD]
