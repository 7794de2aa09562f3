"""Registry tables (WS/T 790 institution / staff registries, IHE CSD/HPD): regions, institutions,
departments, practitioners, and the identified-access grants of bureau-role organizations."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..store.models import Base, UTCDateTime

# Code lists of schemas.terminology (schemas/codes/<system>.csv) that registry entries are checked against.
DIVISIONS = "divisions"      # GB/T 2260 administrative divisions
DEPARTMENTS = "departments"  # 诊疗科目 (standard clinical departments)
# An institution sits in a district-level division (市辖区, 县, 县级市).
DISTRICT_LEVELS = frozenset({"district", "county", "county_city"})

KINDS = {
    "hospital": "医院",
    "clinic": "社区卫生服务站/诊所",
    "community_center": "社区卫生服务中心",
    "bureau": "卫生健康行政部门",
    "cdc": "疾病预防控制中心",
    "pharmacy": "药店",
    "supplier": "药品/器械供应企业",
    "distributor": "药品配送企业",
}
# Organizations of these kinds act in the bureau role (aggregates; identified data only with a grant).
BUREAU_KINDS = frozenset({"bureau"})
LEVELS = {"3": "三级", "2": "二级", "1": "一级", "9": "未定级"}
class EntryStatus(str, enum.Enum):
    """A registry entry's lifecycle: entries are deactivated, never deleted (history refers to them)."""

    ACTIVE = "active"
    INACTIVE = "inactive"


STATUSES = tuple(status.value for status in EntryStatus)
# GB/T 8561 专业技术职务 codes of health professionals (卫生技术人员).
TITLES = {
    "231": "主任医师", "232": "副主任医师", "233": "主治医师", "234": "医师", "235": "医士",
    "241": "主任药师", "242": "副主任药师", "243": "主管药师", "244": "药师", "245": "药士",
    "251": "主任护师", "252": "副主任护师", "253": "主管护师", "254": "护师", "255": "护士",
    "261": "主任技师", "262": "副主任技师", "263": "主管技师", "264": "技师", "265": "技士",
}
IDENTIFIED = "identified"  # the one grant scope: read identified personal records


class Region(Base):
    """A GB/T 2260 administrative division, mirrored from the divisions code list for SQL joins."""

    __tablename__ = "registry_region"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))  # province | city | district | county | county_city
    parent_code: Mapped[str | None] = mapped_column(String(12), nullable=True, index=True)


class Institution(Base):
    """A member organization; ``code`` is the organization code in its certificate."""

    __tablename__ = "registry_institution"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24), index=True)
    level: Mapped[str | None] = mapped_column(String(4), nullable=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("registry_institution.code"), nullable=True,
                                                    index=True)
    status: Mapped[str] = mapped_column(String(16), default=EntryStatus.ACTIVE.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Department(Base):
    """A department of an institution, mapped to a standard clinical department (诊疗科目)."""

    __tablename__ = "registry_department"
    __table_args__ = (UniqueConstraint("institution_code", "code", name="uq_registry_department_institution_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    institution_code: Mapped[str] = mapped_column(ForeignKey("registry_institution.code"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    standard_code: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=EntryStatus.ACTIVE.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Practitioner(Base):
    """A health professional of an institution (HPD provider); ``synthetic`` marks demo entries."""

    __tablename__ = "registry_practitioner"
    __table_args__ = (
        UniqueConstraint("institution_code", "code", name="uq_registry_practitioner_institution_code"),
        Index("ix_registry_practitioner_institution_department", "institution_code", "department_code"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    institution_code: Mapped[str] = mapped_column(ForeignKey("registry_institution.code"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    title_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    department_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=EntryStatus.ACTIVE.value)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AccessGrant(Base):
    """Identified-record access granted to a bureau-role member, until expiry or revocation."""

    __tablename__ = "registry_access_grant"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member: Mapped[str] = mapped_column(ForeignKey("registry_institution.code"), index=True)
    scope: Mapped[str] = mapped_column(String(16))
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class DivisionPopulation(Base):
    """A district-level division's declared population in a year (the denominators of rates), as the
    bureau loaded it (``hie registry population import``); it replaces the reference file's row."""

    __tablename__ = "registry_population"
    division_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    population: Mapped[int] = mapped_column(Integer)
    live_births: Mapped[int] = mapped_column(Integer)
    children_under_7: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200))  # where the figures come from (yearbook, census)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


TABLES = [Region.__table__, Institution.__table__, Department.__table__, Practitioner.__table__,
          AccessGrant.__table__, DivisionPopulation.__table__]

__all__ = ["Region", "Institution", "Department", "Practitioner", "AccessGrant", "DivisionPopulation", "TABLES",
           "DIVISIONS", "DEPARTMENTS", "DISTRICT_LEVELS", "EntryStatus", "KINDS", "BUREAU_KINDS", "LEVELS", "STATUSES", "TITLES", "IDENTIFIED"]
