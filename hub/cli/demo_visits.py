"""The demo's synthetic outpatient visits: enough of them that the dashboards show numbers.

The examples hold one visit per patient, far below the small-cell rule (a cell of 1-4 is withheld),
so the analytics would show nothing. Here each demo clinic and hospital sends, through the real
exchange (SubmitBatch, signed and encrypted as that member), a dozen visits for this month, last
month and the same month a year ago, by invented patients. Everything is marked synthetic: the
document ids read ``…-SYN-OV-…``, the patients are named ``合成…`` and live on ``合成…路``; resident
ID numbers are well-formed (GB 11643 check character) but belong to nobody.
"""
from __future__ import annotations

import copy
import random
import time
import uuid
from datetime import date, datetime, timedelta, timezone

import click
from lxml import etree

from hub.mpi.resident_id import make_resident_id
from protocol.xmlparse import parse_untrusted
from schemas import EXAMPLES_DIR

DOC = "{urn:hie:doc:v1}"
CHINA = timezone(timedelta(hours=8))
RESIDENT_ROOT = "2.16.156.10011.1.3"
# member, its name, its district (as registered by the demo's registry seed)
SENDERS = (("HOSP01", "示例区人民医院", "330102"), ("CLINIC01", "示例社区卫生服务中心", "330102"),
           ("CLINIC03", "示例社区卫生服务站", "330102"), ("HOSP02", "示例区中医院", "330105"),
           ("CLINIC02", "示例街道社区卫生服务中心", "330105"))
VISITS_PER_PERIOD = 12
DEPARTMENTS = ("03.04", "03.03", "02")
DIAGNOSES = ("I10", "E11.9", "J06.9", "K29")
GIVEN = "甲乙丙丁戊己庚辛壬癸"


def periods(now: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) of this month so far, last month, and the same month a year ago (China time)."""
    local = now.astimezone(CHINA)
    this = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = (this - timedelta(days=1)).replace(day=1)
    year_ago = this.replace(year=this.year - 1)
    following = (year_ago + timedelta(days=32)).replace(day=1)
    return [(this, max(this + timedelta(minutes=30), local - timedelta(minutes=30))), (last, this),
            (year_ago, following)]


def _patient(rng: random.Random, member: str, district: str, index: int) -> etree._Element:
    sex = rng.choice("12")
    born = date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 60))
    sequence = f"{(index % 499) * 2 + (1 if sex == '1' else 2):03d}"[-3:]
    patient = etree.Element(f"{DOC}patient")
    etree.SubElement(patient, f"{DOC}id", root=RESIDENT_ROOT,
                     extension=make_resident_id(f"{district}{born:%Y%m%d}{sequence}"))
    etree.SubElement(patient, f"{DOC}name").text = f"合成{member[-2:]}{GIVEN[index % 10]}{GIVEN[index // 10 % 10]}"
    etree.SubElement(patient, f"{DOC}sex", code=sex)
    etree.SubElement(patient, f"{DOC}birthDate", value=born.isoformat())
    etree.SubElement(patient, f"{DOC}address", division=district).text = f"合成{index % 9 + 1}路{index + 1}号"
    return patient


def visits(*, now: datetime, seed: int = 19) -> dict[str, list[etree._Element]]:
    """The synthetic visits per sending member (deterministic for ``seed`` and ``now``'s periods)."""
    rng = random.Random(seed)
    template = parse_untrusted((EXAMPLES_DIR / "OutpatientVisit.xml").read_bytes())
    stamp = int(now.timestamp())  # ids unique per demo run: a second run adds visits, never clashes
    documents: dict[str, list[etree._Element]] = {}
    for member, name, district in SENDERS:
        patients = [_patient(rng, member, district, index) for index in range(20)]
        for number, (start, end) in enumerate((p for p in periods(now) for _ in range(VISITS_PER_PERIOD))):
            doc = copy.deepcopy(template)
            header, body = doc.find(f"{DOC}header"), doc.find(f"{DOC}body")
            header.find(f"{DOC}id").set("extension", f"{member}-SYN-OV-{stamp}-{number:03d}")
            header.find(f"{DOC}author/{DOC}institution").attrib.update({"code": member, "name": name})
            header.replace(header.find(f"{DOC}patient"), copy.deepcopy(rng.choice(patients)))
            seen = start + (end - start) * rng.random()
            body.find(f"{DOC}visitTime").set("value", seen.isoformat(timespec="seconds"))
            header.find(f"{DOC}effectiveTime").set("value", (seen + timedelta(minutes=20)).isoformat(timespec="seconds"))
            body.find(f"{DOC}department").set("code", rng.choice(DEPARTMENTS))
            body.find(f"{DOC}department").attrib.pop("displayName", None)
            diagnoses = body.findall(f"{DOC}diagnosis")
            diagnoses[0].set("code", rng.choice(DIAGNOSES))
            diagnoses[0].attrib.pop("displayName", None)
            for extra in diagnoses[1:]:
                body.remove(extra)
            for charge in body.find(f"{DOC}charges"):
                charge.set("amount", f"{rng.randint(500, 30000) / 100:.2f}")
            documents.setdefault(member, []).append(doc)
    return documents


def send_visits(clients: dict, *, now: datetime, timeout: float = 90.0) -> int:
    """Submit the synthetic visits as their members; wait until the hub has processed every one."""
    sent: dict[str, set[str]] = {}
    for member, documents in visits(now=now).items():
        batch = [(f"urn:uuid:{uuid.uuid4()}", doc) for doc in documents]
        receipts = clients[member].submit_batch(batch)
        sent[member] = {receipt.message_id for receipt in receipts if receipt.status == "accepted"}
    total = sum(len(ids) for ids in sent.values())
    click.echo(f"\nsynthetic visits (invented patients '合成…', ids …-SYN-OV-…): {total} sent through SubmitBatch by "
               f"{len(sent)} members, {VISITS_PER_PERIOD} each for this month, last month and a year ago")
    outcomes: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    while any(sent.values()) and time.monotonic() < deadline:
        for member, waiting in sent.items():
            if not waiting:
                continue
            replies = clients[member].fetch_replies(limit=200)
            clients[member].ack_replies([reply.reply_id for reply in replies])
            for reply in replies:
                waiting.discard(reply.in_reply_to)
                status = parse_untrusted(reply.content).findtext("{urn:hie:exchange:v1}Status") or "?"
                outcomes[status] = outcomes.get(status, 0) + 1
        time.sleep(0.5)
    if any(sent.values()):
        raise click.ClickException("the hub did not process the synthetic visits in time (see the hub's log)")
    click.echo("  acknowledged: " + ", ".join(f"{n} {status}" for status, n in sorted(outcomes.items())))
    return total


__all__ = ["send_visits", "visits", "periods", "SENDERS", "VISITS_PER_PERIOD"]
