"""A small demo region (杭州市): the bureau, a CDC, hospitals, community centers, a supplier, a distributor.

Every practitioner here is synthetic (``synthetic=True``): invented names, no real person.
Re-running ``seed_demo`` updates the same entries (register = create or update).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from .actor import HUB_OPERATOR, Actor
from .models import EntryStatus
from .regions import sync_regions
from .service import register_institution
from .staff import register_department, register_practitioner

# code, name, kind, level, division (GB/T 2260), parent
DEMO_INSTITUTIONS = (
    ("BUREAU", "示例市卫生健康委员会", "bureau", None, "330100", None),  # a city bureau: the whole city
    ("CDC01", "示例区疾病预防控制中心", "cdc", None, "330102", None),
    ("HOSP01", "示例区人民医院", "hospital", "3", "330102", None),
    ("HOSP02", "示例区中医院", "hospital", "2", "330105", None),
    ("CLINIC01", "示例社区卫生服务中心", "community_center", "1", "330102", None),
    ("CLINIC02", "示例街道社区卫生服务中心", "community_center", "1", "330105", None),
    ("CLINIC03", "示例社区卫生服务站", "clinic", "9", "330102", "CLINIC01"),
    ("SUPPLIER01", "示例医药有限公司", "supplier", None, "330106", None),
    ("DISTRIB01", "示例医药配送有限公司", "distributor", None, "330106", None),
)
# institution, department code, name, standard department (诊疗科目)
DEMO_DEPARTMENTS = (
    ("HOSP01", "NK", "内科", "03"), ("HOSP01", "WK", "外科", "04"), ("HOSP01", "JZ", "急诊科", "20"),
    ("HOSP01", "JY", "检验科", "30"),
    ("HOSP02", "ZYK", "中医科", "50"), ("HOSP02", "NK", "内科", "03"),
    ("CLINIC01", "QK", "全科", "02"), ("CLINIC01", "YF", "预防保健科", "01"),
    ("CLINIC01", "ER", "儿童保健科", "09"),
    ("CLINIC02", "QK", "全科", "02"), ("CLINIC02", "YF", "预防保健科", "01"),
    ("CLINIC03", "QK", "全科", "02"),
    ("CDC01", "CRB", "传染病防制科", "16"),
)
# institution, practitioner code, synthetic name, title (GB/T 8561), department
DEMO_PRACTITIONERS = (
    ("HOSP01", "D0001", "测试医生甲", "231", "NK"), ("HOSP01", "D0002", "测试医生乙", "233", "WK"),
    ("HOSP01", "N0001", "测试护士甲", "254", "JZ"), ("HOSP02", "D0001", "测试医生丙", "232", "ZYK"),
    ("CLINIC01", "D0001", "测试医生丁", "234", "QK"), ("CLINIC01", "N0001", "测试护士乙", "255", "YF"),
    ("CLINIC02", "D0001", "测试医生戊", "233", "QK"), ("CLINIC03", "D0001", "测试医生己", "235", "QK"),
)


def seed_demo(session: Session, *, actor: Actor = HUB_OPERATOR, now: datetime | None = None) -> None:
    """Register the demo region in the caller's transaction (idempotent)."""
    sync_regions(session, actor=actor)
    for code, name, kind, level, division, parent in DEMO_INSTITUTIONS:
        register_institution(session, actor=actor, code=code, name=name, kind=kind, level=level,
                             division_code=division, parent_code=parent, status=EntryStatus.ACTIVE.value, now=now)
    for institution, code, name, standard in DEMO_DEPARTMENTS:
        register_department(session, actor=actor, institution_code=institution, code=code, name=name,
                            standard_code=standard, status=EntryStatus.ACTIVE.value, now=now)
    for institution, code, name, title, department in DEMO_PRACTITIONERS:
        register_practitioner(session, actor=actor, institution_code=institution, code=code, name=name,
                              title_code=title, department_code=department, status=EntryStatus.ACTIVE.value, synthetic=True,
                              now=now)


__all__ = ["seed_demo", "DEMO_INSTITUTIONS", "DEMO_DEPARTMENTS", "DEMO_PRACTITIONERS"]
