"""The clinics' channels: how each community member's systems hand its records to its agent (issue 20).

Hospitals send canonical SOAP batches themselves; the twelve community members run the clinic
agent (``hie-agent``) over what their systems produce, as a real clinic would:

- four HIS write HL7 v2 files (ADT^A03 per finished visit; RC03's in GB 18030, MSH-18 saying so),
- four export a CSV file per month (RC08's in GB 18030),
- four keep the visits in their own database table (a SQLite file), which the agent reads by watermark.

Every other kind of event (immunizations, prescriptions, … as the region plans them) is exported
by the clinic's public-health system as canonical XML files into a second folder of the same agent,
up to ``DOCUMENTS_PER_FILE`` documents per file (a ``DocumentSet``, adapters/sources/canonical.py).

    site = ClinicSite(root / "RC01", region.institution("RC01"), region)
    site.write(events)                      # one member-month, idempotent
    result = send(site, hub_url=url, pki_dir=pki)

The document the agent builds from a visit is the one ``Visit.render`` gives, in everything the hub
and the cubes read (tests/region/test_channels.py compares them field by field, per channel).
"""
from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from lxml import etree

from adapters.agent.config import load
from adapters.agent.outbox import QuarantinedBy
from adapters.agent.runtime import Agent
from adapters.sources.canonical import AGENT_NS, DOCUMENT_SET

from .channel_hl7 import hl7_file
from .channel_hl7 import source_section as hl7_source
from .channel_rows import (
    create_table, csv_file, csv_source, database_source, toml_source, toml_value, upsert_visits,
)
from .channel_visit import visit_record
from .errors import RegionError
from .model import Institution, Region
from .visits import Visit

VISITS_PER_FILE = 1000  # a month of a big centre is a few files, each far below the agent's 10 MB file limit
DOCUMENTS_PER_FILE = 200  # canonical documents per DocumentSet file (about 0.6 MB)


@dataclass(frozen=True)
class Channel:
    """What a clinic's HIS gives its agent: ``hl7v2`` files, ``csv`` exports or ``database`` rows."""

    kind: str
    encoding: str = "utf-8"  # of the files: utf-8 or gb18030


# Each district has each channel; centres (odd codes) and stations (even) both among them.
CHANNELS: dict[str, Channel] = {
    "RC01": Channel("hl7v2"), "RC03": Channel("hl7v2", "gb18030"), "RC06": Channel("hl7v2"), "RC11": Channel("hl7v2"),
    "RC02": Channel("csv"), "RC05": Channel("csv"), "RC08": Channel("csv", "gb18030"), "RC09": Channel("csv"),
    "RC04": Channel("database"), "RC07": Channel("database"), "RC10": Channel("database"),
    "RC12": Channel("database"),
}
FOLDERS = {"hl7v2": ("hl7-in", ".hl7"), "csv": ("csv-in", ".csv")}
CANONICAL_FOLDER = "canonical-in"
DONE = "sent"  # the agent's done_folder inside each source folder (after = "move")


@dataclass(frozen=True)
class Written:
    """What one ``write`` put into the clinic's sources."""

    visits: int = 0      # outpatient visits in the HIS source (files or rows), written now or before
    documents: int = 0   # other events, as canonical files
    changed: int = 0     # files written or rows inserted now (0 on a re-run of the same month)


class ClinicSite:
    """One community member's side: its HIS source, its public-health export and its agent's folder."""

    def __init__(self, root: Path, member: Institution, region: Region):
        if member.code not in CHANNELS:
            raise RegionError("region.channel.unknown", "the member has no clinic channel", member=member.code)
        self.root, self.member, self.region = Path(root), member, region
        self.channel = CHANNELS[member.code]

    @property
    def database(self) -> Path:
        return self.root / "his.db"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def write(self, events: Iterable, *, region: Region | None = None) -> Written:
        """Append a member-month's events (late ones of earlier months included) to the clinic's sources;
        writing the same events again changes nothing."""
        region = region or self.region
        visits, others = [], []
        for event in events:
            if event.institution != self.member.code:
                raise RegionError("region.channel.member", "an event of another member", member=self.member.code,
                                  institution=event.institution)
            (visits if isinstance(event, Visit) else others).append(event)
        self.root.mkdir(parents=True, exist_ok=True)
        changed = self._write_visits(visits, region)
        folder = self.root / CANONICAL_FOLDER
        for start in range(0, len(others), DOCUMENTS_PER_FILE):
            # named after its first document: the same events give the same file on a re-run, and a late
            # event sent with a later month's batch can never give a name written before
            chunk = others[start:start + DOCUMENTS_PER_FILE]
            document_set = etree.Element(DOCUMENT_SET, nsmap={None: AGENT_NS})
            document_set.extend(event.render(region) for event in chunk)
            data = etree.tostring(document_set, xml_declaration=True, encoding="UTF-8")
            changed += _put(folder, f"{_file_name(chunk[0].record_id)}+{len(chunk)}.xml", data)
        return Written(visits=len(visits), documents=len(others), changed=changed)

    def _write_visits(self, visits: list[Visit], region: Region) -> int:
        if not visits:
            return 0
        records = [visit_record(visit.render(region)) for visit in visits]  # the HIS holds what the document says
        if self.channel.kind == "database":
            return upsert_visits(self.database, records)
        # Files are named after the batch, not each visit's month: a late visit of January goes out in
        # the file of the month it is sent with, and a re-run of that month gives the same names.
        batch = max(visit.month for visit in visits)
        folder, suffix = FOLDERS[self.channel.kind]
        changed = 0
        for part, start in enumerate(range(0, len(records), VISITS_PER_FILE), start=1):
            chunk = records[start:start + VISITS_PER_FILE]
            data = (hl7_file(chunk, member=self.member.code, encoding=self.channel.encoding)
                    if self.channel.kind == "hl7v2" else csv_file(chunk, encoding=self.channel.encoding))
            changed += _put(self.root / folder, f"{self.member.code}-{batch}-{part:03d}{suffix}", data)
        return changed

    def config(self, hub_url: str, pki_dir: Path) -> Path:
        """Write the agent's TOML (member certificate as ``hie pki`` lays it out) and return its path."""
        pki = Path(pki_dir).resolve()
        if self.channel.kind == "hl7v2":
            his = hl7_source(encoding=self.channel.encoding)
        elif self.channel.kind == "csv":
            his = toml_source(csv_source(encoding=self.channel.encoding))
        else:
            his = toml_source(database_source(self.database))
        text = f'''# The clinic agent of {self.member.code}, written by region/channels.py (SYNTHETIC region)
member = {toml_value(self.member.code)}
member_name = {toml_value(self.member.name)}
hub_url = {toml_value(hub_url)}
state_dir = "state"

[certificates]
cert = {toml_value(pki / "members" / self.member.code / "cert.pem")}
key = {toml_value(pki / "members" / self.member.code / "key.pem")}
hub_cert = {toml_value(pki / "hub" / "enc-cert.pem")}
ca_cert = {toml_value(pki / "ca" / "cert.pem")}

[push]
batch_size = 200

{his}
[[sources]]
name = "public-health"
kind = "canonical"
folder = "{CANONICAL_FOLDER}"
pattern = "*.xml"
settle_seconds = 0

[[replies]]
kinds = ["*"]
folder = "replies"
'''
        self.root.mkdir(parents=True, exist_ok=True)
        folders = [CANONICAL_FOLDER] + ([FOLDERS[self.channel.kind][0]] if self.channel.kind in FOLDERS else [])
        for name in folders:  # the agent refuses a folder source whose folder is missing
            (self.root / name).mkdir(exist_ok=True)
        if self.channel.kind == "database":  # the HIS has its table before its first visit
            create_table(self.database)
        path = self.root / "agent.toml"
        path.write_text(text, encoding="utf-8")
        return path


def _file_name(record_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in record_id)


def _put(folder: Path, name: str, data: bytes) -> int:
    """Write ``folder/name`` atomically (the agent never sees half a file); 0 when that very file is
    there already, or was collected and moved to the done folder."""
    for existing in (folder / name, folder / DONE / name):
        if existing.is_file() and existing.stat().st_size == len(data) and existing.read_bytes() == data:
            return 0
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.partial"  # outside every source pattern
    partial.write_bytes(data)
    os.replace(partial, folder / name)
    return 1


@dataclass(frozen=True)
class SiteResult:
    """One ``send``: documents collected and accepted by the hub, quarantines by code, and times."""

    member: str
    channel: str
    collected: int
    sent: int
    quarantined: dict[str, int] = field(default_factory=dict)
    collect_seconds: float = 0.0
    push_seconds: float = 0.0
    halted: str = ""            # the hub's or the line's code when the push stopped with a backlog left
    errors: tuple[str, ...] = ()  # sources that failed this run (codes, type names, paths; no patient data)

    @property
    def seconds(self) -> float:
        return self.collect_seconds + self.push_seconds


def send(site: ClinicSite, *, hub_url: str, pki_dir: Path, progress: Callable[[int], None] | None = None,
         give_up_after: float = 60.0) -> SiteResult:
    """Run the site's agent in process: collect every source, then push until the backlog is empty."""
    agent = Agent(load(site.config(hub_url, pki_dir)))
    before, items_before = _quarantines(agent), _items(agent)
    started = time.perf_counter()
    results = agent.collect()
    collected_at = time.perf_counter()
    refused = sum(n for (by, _), n in (_quarantines(agent) - before).items() if by == QuarantinedBy.SOURCE.value)
    collected = _items(agent) - items_before - refused
    pushed = agent.push(drain_for=give_up_after, progress=progress, wait=True)
    finished = time.perf_counter()
    quarantined = Counter()
    for (_, code), count in (_quarantines(agent) - before).items():
        quarantined[code] += count
    return SiteResult(member=site.member.code, channel=site.channel.kind, collected=collected, sent=pushed.accepted,
                      quarantined=dict(sorted(quarantined.items())), collect_seconds=round(collected_at - started, 3),
                      push_seconds=round(finished - collected_at, 3),
                      halted=pushed.halted.code if pushed.halted else "",
                      errors=tuple(f"{r.source}: {r.error}" for r in results if r.error))


def _items(agent: Agent) -> int:
    with agent.outbox() as outbox:
        return sum(outbox.counts().values())


def _quarantines(agent: Agent) -> Counter:
    """Quarantined outbox items by (who refused them, code)."""
    with agent.outbox() as outbox:
        return Counter((item.quarantined_by, item.code) for item in outbox.quarantined(limit=10_000_000))


__all__ = ["CHANNELS", "Channel", "ClinicSite", "SiteResult", "Written", "send"]
