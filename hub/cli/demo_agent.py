"""The demo's clinic agent part: a clinic HIS drops HL7 v2 files, ``hie-agent`` sends them.

The agent runs as its own command (``hie-agent``), exactly as at a clinic: a TOML config, a folder
the clinic's system writes into, ``push-now`` to drain the outbox, ``replies`` to fetch the hub's
acknowledgements, ``status`` and ``quarantine list`` to see what happened. The HL7 inputs are the
adapter samples (synthetic patients), plus one with a department code the clinic forgot to map.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import click

from adapters import SAMPLES_DIR

SAMPLES = SAMPLES_DIR / "hl7v2"
GOOD = ("adt_a04_registration_gb18030.hl7", "adt_a03_outpatient_visit_mllp.hl7", "adt_a03_inpatient_discharge_lf.hl7",
        "oru_r01_lab_results.hl7", "rde_o11_prescription.hl7", "rds_o13_dispense.hl7",
        "oru_r01_typed_birth_year.hl7")  # kept by the hub with a finding, which the agent then lists
UNMAPPED = "bad_unknown_department.hl7"

CONFIG = '''\
member = "{member}"
member_name = "示例社区卫生服务中心"
hub_url = "{hub}"
state_dir = "agent-state"

[certificates]
cert = "{pki}/members/{member}/cert.pem"
key = "{pki}/members/{member}/key.pem"
hub_cert = "{pki}/hub/enc-cert.pem"
ca_cert = "{pki}/ca/cert.pem"

[push]
batch_size = 100

[[sources]]
name = "his-hl7"
kind = "hl7v2"
folder = "hl7-in"
pattern = "*.hl7"
settle_seconds = 0

[sources.codes.department]                  # the HIS's own department codes → 诊疗科目
XNK = "03.04"
[sources.codes.drug]
MET500 = "YP0019"
[sources.codes.charge_category]
XY01 = "drugs"
XY02 = "drugs"
JC01 = "examinations"
[sources.fields]
occupation = "ZPI-2"

[[replies]]
kinds = ["*"]
folder = "replies"
'''


def run_agent_demo(*, data_dir: Path, hub_url: str, member: str = "CLINIC01") -> None:
    folder = data_dir / "agent"
    inbox = folder / "hl7-in"
    inbox.mkdir(parents=True, exist_ok=True)
    config = folder / "agent.toml"
    config.write_text(CONFIG.format(member=member, hub=hub_url, pki=(data_dir / "pki").as_posix()),
                      encoding="utf-8")
    for name in (*GOOD, UNMAPPED):
        shutil.copyfile(SAMPLES / name, inbox / name)
    again = (folder / "agent-state" / "outbox.db").exists()
    click.echo(f"\nclinic agent ({member}): the HIS dropped {len(GOOD) + 1} HL7 v2 files into {inbox}"
               + ("\n  (a second demo run: the agent remembers these records and sends nothing twice)" if again else ""))
    _agent(config, "push-now")
    time.sleep(2.0)  # the hub normalizes, then queues its acknowledgements
    _agent(config, "replies")
    _agent(config, "status")
    _agent(config, "findings")
    _agent(config, "quarantine", "list")


def _agent(config: Path, *arguments: str) -> None:
    command = [sys.executable, "-m", "adapters.agent.cli", "-c", str(config), *arguments]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    click.echo(f"  $ hie-agent {' '.join(arguments)}")
    for line in (result.stdout + result.stderr).splitlines():
        if line.strip():
            click.echo(f"    {line}")
    if result.returncode not in (0, 1):  # status exits 1 when something needs attention
        raise click.ClickException(f"hie-agent {arguments[0]} failed with exit status {result.returncode}")
