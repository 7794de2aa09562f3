"""The demo's synthetic visits, stays and monthly statistics: enough that the dashboards show numbers.

The examples hold one visit per patient, far below the small-cell rule (a cell of 1-4 is withheld),
so the analytics would show nothing. Here each demo clinic and hospital sends, through the real
exchange (SubmitBatch, signed and encrypted as that member), a dozen visits in each of this month,
the two months before and the same two months a year ago, by invented patients; the hospitals send
inpatient stays and every member its monthly statistics; the clinics send immunizations of invented
children this month and the two months before. Everything is marked synthetic: the
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
STAYS_PER_MONTH = 6
DOSES_PER_MONTH = 10  # per clinic, over its 12 invented children: each district's month holds five or more
VACCINES = ("HepB", "DTaP", "MMR")  # of the national programme (schemas/codes/vaccines.csv)
EXAMPLE_STATS = ("CLINIC01", "2026-10")  # schemas/examples/InstitutionMonthlyStats.xml reports this month
DEPARTMENTS = ("03.04", "03.03", "02")
DIAGNOSES = ("I10", "E11.9", "J06.9", "K29")
GIVEN = "甲乙丙丁戊己庚辛壬癸"


def _month(moment: datetime, back: int) -> datetime:
    """The first instant of the month ``back`` months before ``moment``'s month."""
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(back):
        start = (start - timedelta(days=1)).replace(day=1)
    return start


def periods(now: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) in China time: this month so far, then whole months — the last two, and this
    month and last month a year ago — so that either month, its previous one and its year-ago
    month all have data on the dashboard."""
    local = now.astimezone(CHINA)
    this = _month(local, 0)
    so_far = (this, max(this + timedelta(minutes=30), local - timedelta(minutes=30)))
    return [so_far, *((_month(local, back), _month(local, back - 1)) for back in (1, 2, 12, 13))]


def _patient(rng: random.Random, member: str, district: str, index: int, *, child: bool = False) -> etree._Element:
    sex = rng.choice("12")
    born = date(2020, 1, 1) + timedelta(days=rng.randint(0, 365 * 5)) if child else \
        date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 60))
    sequence = f"{(index % 499) * 2 + (1 if sex == '1' else 2):03d}"[-3:]
    patient = etree.Element(f"{DOC}patient")
    etree.SubElement(patient, f"{DOC}id", root=RESIDENT_ROOT,
                     extension=make_resident_id(f"{district}{born:%Y%m%d}{sequence}"))
    etree.SubElement(patient, f"{DOC}name").text = f"合成{member[-2:]}{GIVEN[index % 10]}{GIVEN[index // 10 % 10]}"
    etree.SubElement(patient, f"{DOC}sex", code=sex)
    etree.SubElement(patient, f"{DOC}birthDate", value=born.isoformat())
    etree.SubElement(patient, f"{DOC}address", division=district).text = f"合成{index % 9 + 1}路{index + 1}号"
    return patient


def _example(name: str) -> etree._Element:
    return parse_untrusted((EXAMPLES_DIR / f"{name}.xml").read_bytes())


def _header(doc: etree._Element, *, member: str, name: str, document_id: str, effective: datetime) -> etree._Element:
    header = doc.find(f"{DOC}header")
    header.find(f"{DOC}id").set("extension", document_id)
    header.find(f"{DOC}author/{DOC}institution").attrib.update({"code": member, "name": name})
    header.find(f"{DOC}effectiveTime").set("value", effective.isoformat(timespec="seconds"))
    practitioner = header.find(f"{DOC}author/{DOC}practitioner")
    if practitioner is not None:
        practitioner.attrib.update({"code": "D0001", "name": "合成医生"})  # every demo institution has a D0001
    return header


def _recode(element: etree._Element, code: str) -> None:
    """Give a coded element of the template another code (its display name belonged to the old one)."""
    element.attrib.pop("displayName", None)
    element.set("code", code)


def _patient_document(template, *, member, name, kind, number, stamp, patient, effective) -> etree._Element:
    """A copy of ``template`` with the demo's header (document id ``<member>-SYN-<kind>-…``) and ``patient``."""
    doc = copy.deepcopy(template)
    header = _header(doc, member=member, name=name, document_id=f"{member}-SYN-{kind}-{stamp}-{number:03d}",
                     effective=effective)
    header.replace(header.find(f"{DOC}patient"), copy.deepcopy(patient))
    return doc


def _visit(template, rng, *, member, name, number, stamp, patient, start, end) -> etree._Element:
    seen = start + (end - start) * rng.random()
    doc = _patient_document(template, member=member, name=name, kind="OV", number=number, stamp=stamp,
                            patient=patient, effective=seen + timedelta(minutes=20))
    body = doc.find(f"{DOC}body")
    body.find(f"{DOC}visitTime").set("value", seen.isoformat(timespec="seconds"))
    _recode(body.find(f"{DOC}department"), rng.choice(DEPARTMENTS))
    diagnoses = body.findall(f"{DOC}diagnosis")
    _recode(diagnoses[0], rng.choice(DIAGNOSES))
    for extra in diagnoses[1:]:
        body.remove(extra)
    for charge in body.find(f"{DOC}charges"):
        charge.set("amount", f"{rng.randint(500, 30000) / 100:.2f}")
    return doc


def _stay(template, rng, *, member, name, number, stamp, patient, start, end) -> etree._Element:
    days = rng.randint(2, 9)
    admitted = start + (end - start - timedelta(days=days + 1)) * rng.random()
    discharged = admitted + timedelta(days=days)
    doc = _patient_document(template, member=member, name=name, kind="IP", number=number, stamp=stamp,
                            patient=patient, effective=discharged + timedelta(hours=2))
    body = doc.find(f"{DOC}body")
    body.find(f"{DOC}admissionTime").set("value", admitted.isoformat(timespec="seconds"))
    body.find(f"{DOC}dischargeTime").set("value", discharged.isoformat(timespec="seconds"))
    body.find(f"{DOC}bedDays").text = str(days)
    for procedure in body.findall(f"{DOC}procedure"):
        procedure.set("date", (admitted + timedelta(days=1)).date().isoformat())
    for charge in body.find(f"{DOC}charges"):
        charge.set("amount", f"{rng.randint(20000, 300000) / 100 * days:.2f}")
    return doc


def _immunization(template, rng, *, member, name, number, stamp, patient, start, end) -> etree._Element:
    given = start + (end - start) * rng.random()
    doc = _patient_document(template, member=member, name=name, kind="IM", number=number, stamp=stamp,
                            patient=patient, effective=given + timedelta(minutes=15))
    body = doc.find(f"{DOC}body")
    _recode(body.find(f"{DOC}vaccine"), rng.choice(VACCINES))
    body.find(f"{DOC}doseNumber").text = str(rng.randint(1, 3))
    body.find(f"{DOC}administeredOn").set("value", given.date().isoformat())
    return doc


def _monthly(template, rng, *, member, name, month: datetime) -> etree._Element:
    doc = copy.deepcopy(template)
    sent = _month(month + timedelta(days=40), 0) + timedelta(days=4, hours=8)  # the 5th of the month after
    _header(doc, member=member, name=name, document_id=f"{member}-SYN-STAT-{month:%Y-%m}", effective=sent)
    body = doc.find(f"{DOC}body")
    body.find(f"{DOC}period").set("value", f"{month:%Y-%m}")
    hospital = member.startswith("HOSP")
    for field, low, high in (("staffOnDuty", 300, 900) if hospital else ("staffOnDuty", 40, 120),
                             ("outpatientVisits", 30000, 90000) if hospital else ("outpatientVisits", 6000, 20000)):
        body.find(f"{DOC}{field}").text = str(rng.randint(low, high))
    body.find(f"{DOC}fixedAssets").text = f"{rng.randint(200, 900) * (100000 if hospital else 20000)}.00"
    for revenue in body.findall(f"{DOC}revenue"):
        revenue.set("amount", f"{rng.randint(1000, 9000) * (1000 if hospital else 200)}.00")
    return doc


def documents(*, now: datetime, seed: int = 19) -> dict[str, list[etree._Element]]:
    """The synthetic documents per sending member: visits in every period, stays at the hospitals,
    the monthly statistics of every whole month, and the clinics' immunizations of this month and the
    two before (deterministic for ``seed`` and ``now``)."""
    rng = random.Random(seed)
    templates = {name: _example(name)
                 for name in ("OutpatientVisit", "InpatientStay", "InstitutionMonthlyStats", "Immunization")}
    stamp = int(now.timestamp())  # ids unique per demo run: a second run adds visits, never clashes
    made: dict[str, list[etree._Element]] = {}
    spans = periods(now)
    for member, name, district in SENDERS:
        patients = [_patient(rng, member, district, index) for index in range(20)]
        out = made.setdefault(member, [])
        for number, (start, end) in enumerate(span for span in spans for _ in range(VISITS_PER_PERIOD)):
            out.append(_visit(templates["OutpatientVisit"], rng, member=member, name=name, number=number,
                              stamp=stamp, patient=rng.choice(patients), start=start, end=end))
        if member.startswith("HOSP"):
            for number, (start, end) in enumerate(span for span in spans[1:] for _ in range(STAYS_PER_MONTH)):
                out.append(_stay(templates["InpatientStay"], rng, member=member, name=name, number=number,
                                 stamp=stamp, patient=rng.choice(patients), start=start, end=end))
        for start, _ in spans[1:]:
            if (member, f"{start:%Y-%m}") != EXAMPLE_STATS:  # that month is the example's report
                out.append(_monthly(templates["InstitutionMonthlyStats"], rng, member=member, name=name, month=start))
    rng = random.Random(seed + 1)  # its own stream: the visits above stay what they were
    for member, name, district in (sender for sender in SENDERS if sender[0].startswith("CLINIC")):
        children = [_patient(rng, member, district, 100 + index, child=True) for index in range(12)]
        for number, (start, end) in enumerate(span for span in spans[:3] for _ in range(DOSES_PER_MONTH)):
            made[member].append(_immunization(templates["Immunization"], rng, member=member, name=name,
                                              number=number, stamp=stamp, patient=rng.choice(children),
                                              start=start, end=end))
    return made


def send_visits(clients: dict, *, now: datetime, timeout: float = 90.0) -> int:
    """Submit the synthetic visits as their members; wait until the hub has processed every one."""
    sent: dict[str, set[str]] = {}
    kinds: dict[str, int] = {}
    for member, made in documents(now=now).items():
        for doc in made:
            kinds[etree.QName(doc).localname] = kinds.get(etree.QName(doc).localname, 0) + 1
        receipts = clients[member].submit_batch([(f"urn:uuid:{uuid.uuid4()}", doc) for doc in made])
        sent[member] = {receipt.message_id for receipt in receipts if receipt.status == "accepted"}
    total = sum(len(ids) for ids in sent.values())
    click.echo(f"\nsynthetic documents (invented patients '合成…', ids …-SYN-…): {total} sent through "
               f"SubmitBatch by {len(sent)} members: " + ", ".join(f"{n} {kind}" for kind, n in kinds.items()))
    click.echo(f"  visits: {VISITS_PER_PERIOD} per member in this month so far, the two months before, and the "
               "same two months a year ago; stays at the hospitals; monthly statistics of the whole months; "
               f"{DOSES_PER_MONTH} immunizations a month at each clinic, this month and the two before")
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


__all__ = ["send_visits", "documents", "periods", "SENDERS", "VISITS_PER_PERIOD", "DOSES_PER_MONTH"]
