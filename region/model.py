"""The synthetic region as data: a city of three districts, its members, departments and practitioners.

The city is 杭州市 (GB/T 2260 330100) with three of its districts, named as the standard names them
(上城区 330102, 拱墅区 330105, 西湖区 330106). The members are invented and marked so: codes start
with ``R`` (``RH01`` hospital, ``RC01`` clinic, ``RD01`` distributor, ``RB01`` bureau), names start with
``合成``, every practitioner is registered ``synthetic``. The registry file written from it is the JSON
that ``hie registry import`` reads (hub/registry/importing.py).

    region = build_region(seed=7)
    registry_document(region)  # {"regions": [...], "institutions": [...], ...}
"""
from __future__ import annotations

import random
from dataclasses import dataclass

CITY = ("330100", "杭州市")
DISTRICTS = (("330102", "上城区"), ("330105", "拱墅区"), ("330106", "西湖区"))
# resident share of each district (sums to 1)
DISTRICT_SHARES = {"330102": 0.38, "330105": 0.34, "330106": 0.28}
# the age bands of the cubes (etl/transform.py AGE_BANDS): lower bound, label
AGE_BANDS = ((0, "0-4"), (5, "5-14"), (15, "15-44"), (45, "45-64"), (65, "65+"))
PRACTITIONER_SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"

# department code, name, standard code (schemas/codes/departments.csv), doctors
HOSPITAL_DEPARTMENTS = (
    ("HX", "呼吸内科", "03.01", 4), ("XH", "消化内科", "03.02", 3), ("XN", "心血管内科", "03.04", 4),
    ("NF", "内分泌科", "03.07", 2), ("GK", "骨科", "04.03", 3), ("EK", "儿科", "07", 4),
    ("FK", "妇科", "05.01", 2), ("EB", "耳鼻咽喉科", "11", 2), ("PF", "皮肤科", "13", 2),
    ("JZ", "急诊医学科", "20", 3),
)
CLINIC_DEPARTMENTS = (("QK", "全科", "02", 3), ("YF", "预防保健科", "01", 1), ("EB", "儿童保健科", "09", 1))
DOCTOR_TITLES = ("231", "232", "233", "233", "234", "234")


@dataclass(frozen=True)
class Department:
    institution: str
    code: str
    name: str
    standard_code: str


@dataclass(frozen=True)
class Practitioner:
    institution: str
    code: str
    name: str
    title: str
    department: str


@dataclass(frozen=True)
class Institution:
    code: str
    name: str
    kind: str             # hospital | community_center | clinic | distributor | bureau (registry KINDS)
    division: str
    level: str | None
    parent: str | None = None
    inpatient: bool = False

    @property
    def sees_patients(self) -> bool:
        return self.kind in ("hospital", "community_center", "clinic")


@dataclass(frozen=True)
class Region:
    city: tuple[str, str]
    districts: tuple[tuple[str, str], ...]
    institutions: tuple[Institution, ...]
    departments: tuple[Department, ...]
    practitioners: tuple[Practitioner, ...]

    def institution(self, code: str) -> Institution:
        return next(i for i in self.institutions if i.code == code)

    @property
    def care_givers(self) -> tuple[Institution, ...]:
        """The members that see patients, in code order (the order every stage iterates them in)."""
        return tuple(sorted((i for i in self.institutions if i.sees_patients), key=lambda i: i.code))

    def departments_of(self, institution: str) -> tuple[Department, ...]:
        return tuple(d for d in self.departments if d.institution == institution)

    def doctors_of(self, institution: str, department: str) -> tuple[Practitioner, ...]:
        return tuple(p for p in self.practitioners if p.institution == institution and p.department == department)


def _institutions() -> tuple[Institution, ...]:
    members = [Institution("RB01", "合成市卫生健康委员会", "bureau", CITY[0], None),
               Institution("RH01", "合成市第一人民医院", "hospital", "330102", "3", inpatient=True),
               Institution("RH02", "合成市中西医结合医院", "hospital", "330106", "2"),
               Institution("RD01", "合成医药配送有限公司", "distributor", "330105", None)]
    # 12 community members, 4 per district: 2 centres, each with one station under it
    number = 0
    for division, name in DISTRICTS:
        for centre in range(2):
            number += 1
            centre_code = f"RC{number:02d}"
            members.append(Institution(centre_code, f"合成{name[:2]}第{centre + 1}社区卫生服务中心",
                                       "community_center", division, "1"))
            number += 1
            members.append(Institution(f"RC{number:02d}", f"合成{name[:2]}第{centre + 1}社区卫生服务站",
                                       "clinic", division, "1", parent=centre_code))
    return tuple(members)


def build_region(*, seed: int) -> Region:
    """The region for ``seed`` (the structure is fixed; practitioners' names follow the seed)."""
    rng = random.Random(f"{seed}:registry")
    institutions = _institutions()
    departments, practitioners = [], []
    for member in institutions:
        if member.kind == "hospital":
            table = HOSPITAL_DEPARTMENTS
        elif member.kind in ("community_center", "clinic"):
            table = CLINIC_DEPARTMENTS if member.kind == "community_center" else CLINIC_DEPARTMENTS[:1]
        else:
            continue
        number = 0
        for code, name, standard, doctors in table:
            departments.append(Department(member.code, code, name, standard))
            for _ in range(doctors if member.kind == "hospital" else max(1, doctors - 1)):
                number += 1
                practitioners.append(Practitioner(member.code, f"D{number:04d}",
                                                  f"合成{rng.choice(PRACTITIONER_SURNAMES)}医生",
                                                  rng.choice(DOCTOR_TITLES), code))
    return Region(CITY, DISTRICTS, institutions, tuple(departments), tuple(practitioners))


def registry_document(region: Region) -> dict:
    """The registry import file (JSON form) of ``region``: what ``hie registry import`` accepts."""
    return {
        "regions": [{"code": code, "name": name} for code, name in (region.city, *region.districts)],
        "institutions": [{"code": i.code, "name": i.name, "kind": i.kind, "division": i.division,
                          "level": i.level, "parent": i.parent, "status": "active"} for i in region.institutions],
        "departments": [{"institution": d.institution, "code": d.code, "name": d.name,
                         "standard_code": d.standard_code, "status": "active"} for d in region.departments],
        "practitioners": [{"institution": p.institution, "code": p.code, "name": p.name, "title": p.title,
                           "department": p.department, "status": "active", "synthetic": True}
                          for p in region.practitioners],
    }


__all__ = ["CITY", "DISTRICTS", "DISTRICT_SHARES", "AGE_BANDS", "Institution", "Department", "Practitioner",
           "Region", "build_region", "registry_document"]
