"""The institution dimension from the hub's registry tables (city -> district -> institution -> department).

Read through a SQLAlchemy connection by table name: ``olap`` never imports ``hub`` (the dependency
rules in ARCHITECTURE.md), so the few registry columns it needs are named here.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from .codes import code_list, division_dimension

_INSTITUTIONS = text("SELECT code, name, kind, level, division_code, parent_code, status FROM registry_institution")
_DEPARTMENTS = text("SELECT institution_code, code, name, standard_code, status FROM registry_department")
_REGIONS = text("SELECT code, name, level, parent_code FROM registry_region")


def institution_dimension(connection: Connection) -> pd.DataFrame:
    """One row per institution (``department_code`` '') and one per department, with the division hierarchy."""
    institutions = pd.read_sql(_INSTITUTIONS, connection).fillna("")
    departments = pd.read_sql(_DEPARTMENTS, connection).fillna("")
    regions = pd.read_sql(_REGIONS, connection).fillna("")
    divisions = division_dimension(regions if len(regions) else None).set_index("code")
    standard = dict(zip(code_list("departments")["code"], code_list("departments")["display"]))

    rows = []
    for inst in institutions.itertuples():
        place = divisions.loc[inst.division_code] if inst.division_code in divisions.index else None
        common = {
            "institution_code": inst.code, "institution_name": inst.name, "kind": inst.kind,
            "level": inst.level, "parent_institution_code": inst.parent_code,
            "district_code": place["district_code"] if place is not None else "",
            "district_name": place["district_name"] if place is not None else "",
            "city_code": place["city_code"] if place is not None else "",
            "city_name": place["city_name"] if place is not None else "",
        }
        rows.append({**common, "department_code": "", "department_name": "", "standard_department_code": "",
                     "standard_department_name": "", "status": inst.status})
        for dept in departments[departments["institution_code"] == inst.code].itertuples():
            rows.append({**common, "department_code": dept.code, "department_name": dept.name,
                         "standard_department_code": dept.standard_code,
                         "standard_department_name": standard.get(dept.standard_code, ""),
                         "status": dept.status if inst.status == "active" else inst.status})
    return pd.DataFrame(rows, columns=[
        "institution_code", "department_code", "department_name", "standard_department_code",
        "standard_department_name", "institution_name", "kind", "level", "parent_institution_code",
        "district_code", "district_name", "city_code", "city_name", "status"])


__all__ = ["institution_dimension"]
