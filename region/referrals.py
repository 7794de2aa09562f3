"""Referrals both ways (双向转诊): community members refer up to the hospitals, hospitals refer down.

Up: a community visit for a chronic or complex condition (COPD, coronary disease, pneumonia,
uncontrolled diabetes or hypertension, knee disease) is referred now and then (``UP``) to the
hospital of the member's district (拱墅区 has none: ``RH01``, the level-3 hospital), one time in
four to the other, asking for the department of the diagnosis (儿科 for children). Down: a planned
hospital visit of a stable chronic patient is referred (``DOWN``) to the community centre of the
patient's own district for follow-up (of the district's two, the one the person id's parity
gives), and so is every inpatient discharged to community care (stays.py, 离院方式 3), at discharge.
The referral is written by the visit's (or the stay's) doctor shortly after.

Truth: ``truth/referrals.csv`` per sender × receiver × direction × month, as the referrals cube
counts (``fact_referral``: the author institution, ``to_institution_code``, ``direction``, dated by
the referral time).
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import ClassVar

from lxml import etree

from protocol.xmlparse import parse_untrusted
from schemas import EXAMPLES_DIR
from schemas.terminology import lookup

from .events import PLANNERS, TRUTHS, MonthContext
from .model import Institution, Region
from .people import Typed
from .stays import INPATIENT_ROOT, Stay
from .visits import DIAGNOSES, DOC, OUTPATIENT_ROOT, Visit, patient_element

NEAREST_SHARE = 0.75
# diagnosis → (chance a community visit is referred up, why)
UP = {
    "J44": (0.08, "慢阻肺急性加重，社区治疗后症状无明显缓解，建议上级医院进一步诊治"),
    "I25": (0.08, "反复胸闷胸痛，需上级医院完善冠脉评估"),
    "J18": (0.12, "肺炎，社区抗感染治疗效果不佳，建议上级医院进一步诊治"),
    "E11": (0.03, "血糖控制不佳，需上级医院调整降糖方案"),
    "I10": (0.02, "血压控制不佳，联合用药后仍波动明显，建议上级医院进一步诊治"),
    "M17": (0.03, "膝关节疼痛加重，活动受限，建议上级医院骨科评估"),
}
# diagnosis → (chance a planned hospital visit is referred down, why)
DOWN = {
    "I10": (0.05, "高血压病情稳定，转社区规范管理，定期随访血压"),
    "E11": (0.05, "糖尿病病情稳定，转社区继续慢病管理"),
    "J44": (0.04, "慢阻肺稳定期，转社区康复及随访"),
    "I25": (0.05, "冠心病病情稳定，转社区二级预防及随访"),
    "M17": (0.03, "膝关节病保守治疗方案已定，转社区康复随访"),
}
GENERAL_PRACTICE = "02"   # 全科医疗科: what a centre is asked for
DISCHARGED_TO_COMMUNITY = "3"   # 离院方式: 医嘱转社区卫生服务机构/乡镇卫生院
AFTER_DISCHARGE = "住院治疗后病情稳定出院，转社区卫生服务中心继续治疗、康复及随访"
SPECIALTY = {code: department for code, department, *_ in DIAGNOSES}


@dataclass(frozen=True)
class Referral:
    record_id: str
    institution: str
    person_id: str
    time: datetime
    direction: str                  # up | down
    target: str                     # the receiving member
    department: str                 # the standard department asked for
    diagnosis: str
    reason: str
    practitioner: tuple[str, str]
    patient: Typed
    outpatient_no: str              # the member's number for the person (an inpatient number after a stay)
    number_root: str = OUTPATIENT_ROOT
    kind: ClassVar[str] = "Referral"

    @property
    def month(self) -> str:
        return f"{self.time.year}-{self.time.month:02d}"

    def render(self, region: Region) -> etree._Element:
        return render(self, region)


def _hospital(region: Region, member: Institution, rng: random.Random) -> Institution:
    hospitals = sorted((i for i in region.institutions if i.kind == "hospital"), key=lambda i: i.code)
    nearest = next((h for h in hospitals if h.division == member.division), hospitals[0])
    if rng.random() < NEAREST_SHARE:
        return nearest
    return rng.choice([h for h in hospitals if h is not nearest])


def _centre(region: Region, division: str, person_id: str) -> Institution:
    centres = sorted((i for i in region.institutions if i.kind == "community_center" and i.division == division),
                     key=lambda i: i.code)
    return centres[int(person_id[1:]) % len(centres)]


def plan_referrals(ctx: MonthContext) -> list[Referral]:
    """The member-month's referrals, after its visits: up from community members, down from hospitals."""
    member, year, month, region = ctx.member, ctx.year, ctx.month, ctx.region
    if not member.sees_patients:
        return []
    rng = random.Random(f"{ctx.seed}:referrals:{member.code}:{year}-{month:02d}")
    hospital, referrals = member.kind == "hospital", []
    for visit in ctx.planned:
        if type(visit) is not Visit or (hospital and visit.emergency):
            continue
        chance, reason = (DOWN if hospital else UP).get(visit.diagnosis, (0.0, ""))
        if rng.random() >= chance:
            continue
        if hospital:
            target, direction, department = _centre(region, visit.patient.division, visit.person_id), "down", None
        else:
            target, direction = _hospital(region, member, rng), "up"
            person = ctx.pools.people[int(visit.person_id[1:]) - 1]
            department = "EK" if person.age_at(visit.time.date()) < 15 else SPECIALTY[visit.diagnosis]
        standard = (GENERAL_PRACTICE if department is None else
                    next(d.standard_code for d in region.departments_of(target.code) if d.code == department))
        when = min(visit.time + timedelta(minutes=rng.randint(15, 40)), visit.time.replace(hour=23, minute=59))
        referrals.append(Referral(f"{member.code}-SYN-RF-{year}{month:02d}-{len(referrals) + 1:05d}", member.code,
                                  visit.person_id, when, direction, target.code, standard, visit.diagnosis, reason,
                                  visit.practitioner, visit.patient, visit.outpatient_no))
    for stay in ctx.planned:  # 离院方式 3: discharged to a community health centre's care
        if type(stay) is not Stay or stay.outcome != DISCHARGED_TO_COMMUNITY:
            continue
        target = _centre(region, stay.patient.division, stay.person_id)
        when = min(stay.discharged + timedelta(minutes=rng.randint(0, 30)), stay.discharged.replace(hour=23, minute=59))
        referrals.append(Referral(f"{member.code}-SYN-RF-{year}{month:02d}-{len(referrals) + 1:05d}", member.code,
                                  stay.person_id, when, "down", target.code, GENERAL_PRACTICE, stay.diagnosis,
                                  AFTER_DISCHARGE, stay.practitioner, stay.patient, stay.inpatient_no, INPATIENT_ROOT))
    return referrals


@lru_cache(maxsize=1)
def _template() -> etree._Element:
    return parse_untrusted((EXAMPLES_DIR / "Referral.xml").read_bytes())


def render(referral: Referral, region: Region) -> etree._Element:
    """The canonical Referral document of ``referral`` (the receiver named as toInstitution)."""
    doc = copy.deepcopy(_template())
    header = doc.find(f"{DOC}header")
    header.find(f"{DOC}id").set("extension", referral.record_id)
    header.find(f"{DOC}effectiveTime").set("value", (referral.time + timedelta(minutes=5)).isoformat())
    author = header.find(f"{DOC}author")
    author.find(f"{DOC}institution").attrib.update({"code": referral.institution,
                                                   "name": region.institution(referral.institution).name})
    author.find(f"{DOC}practitioner").attrib.update({"code": referral.practitioner[0],
                                                    "name": referral.practitioner[1]})
    header.replace(header.find(f"{DOC}patient"),
                   patient_element(referral.patient, number=referral.outpatient_no, root=referral.number_root))
    body = doc.find(f"{DOC}body")
    for child in list(body):
        body.remove(child)
    name = lookup("icd10", referral.diagnosis).display
    etree.SubElement(body, f"{DOC}direction", code=referral.direction)
    etree.SubElement(body, f"{DOC}referralTime", value=referral.time.isoformat())
    etree.SubElement(body, f"{DOC}toInstitution", code=referral.target, name=region.institution(referral.target).name)
    etree.SubElement(body, f"{DOC}requestedDepartment", code=referral.department)
    etree.SubElement(body, f"{DOC}reason").text = referral.reason
    etree.SubElement(body, f"{DOC}diagnosis", code=referral.diagnosis, codeSystem="ICD-10", displayName=name,
                     primary="true")
    way = "上转" if referral.direction == "up" else "下转"
    etree.SubElement(body, f"{DOC}summary").text = f"{name}，门诊就诊后{way}。"
    return doc


REFERRAL_COLUMNS = ("institution", "to_institution", "direction", "month", "referrals")


class ReferralTruth:
    """Per sender × receiver × direction × month: the referrals the cube will count."""

    def __init__(self):
        self.cells: dict[tuple[str, str, str, str], int] = {}

    def add(self, event) -> None:
        if event.kind == "Referral":
            key = (event.institution, event.target, event.direction, event.month)
            self.cells[key] = self.cells.get(key, 0) + 1

    def files(self):
        return {"referrals.csv": (REFERRAL_COLUMNS, [(*key, n) for key, n in sorted(self.cells.items())])}


PLANNERS.append(plan_referrals)
TRUTHS.append(ReferralTruth)

__all__ = ["UP", "DOWN", "NEAREST_SHARE", "Referral", "plan_referrals", "render", "REFERRAL_COLUMNS",
           "ReferralTruth"]
