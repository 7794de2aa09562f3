"""Dimension frames built from the hub's code lists (``schemas.terminology``: the shipped lists plus the
codes imported into the hub): diagnosis, disease, drug, vaccine and division. Pure functions: code lists
in, DataFrames out (rebuilt when the process's lists change)."""
from __future__ import annotations

from collections.abc import Iterable
import pandas as pd

from schemas.terminology import code_systems, generation

DISEASE_CLASSES = {"A": "甲类", "B": "乙类", "C": "丙类"}
# ATC anatomical main groups (first level), the drug dimension's categories.
ATC_GROUPS = {
    "A": "消化道及代谢", "B": "血液和造血器官", "C": "心血管系统", "D": "皮肤病用药",
    "G": "泌尿生殖系统和性激素", "H": "全身用激素类制剂（不含性激素和胰岛素）", "J": "全身用抗感染药",
    "L": "抗肿瘤药和免疫调节剂", "M": "肌肉-骨骼系统", "N": "神经系统", "P": "抗寄生虫药、杀虫药和驱虫药",
    "R": "呼吸系统", "S": "感觉器官", "V": "其他",
}
NO_ATC = ("none", "未归类（无 ATC 编码）")
DISTRICT_LEVELS = frozenset({"district", "county", "county_city"})


_frames: dict[tuple[int, str], object] = {}  # (code lists' generation, what) → frame or index


def _cached(what: str, build):
    key = (generation(), what)
    if key not in _frames:
        if any(cached != key[0] for cached, _ in list(_frames)):  # an import changed the lists: start again
            _frames.clear()
        _frames[key] = build()
    return _frames[key]


def code_list(system: str) -> pd.DataFrame:
    """One code list as text columns in its CSV's order (empty cells are '', never NaN)."""
    def build() -> pd.DataFrame:
        listed = code_systems()[system]
        display = listed.display_column
        rows = [{column: concept.code if at == 0 else concept.display if column == display
                 else (concept.parent or "") if column == "parent" else concept.extra.get(column, "")
                 for at, column in enumerate(listed.columns)} for concept in listed.concepts]
        return pd.DataFrame(rows, columns=list(listed.columns), dtype=str)
    return _cached(system, build)


def _range_of(code_range: str) -> tuple[str, str]:
    start, _, end = code_range.partition("-")
    return start, end or start


def _icd10_index() -> tuple[dict[str, str], tuple, tuple]:
    """Names by code, blocks as (start, end, code, name, chapter), chapters as (start, end, code): built once."""
    return _cached("icd10-index", _build_icd10_index)


def _build_icd10_index() -> tuple[dict[str, str], tuple, tuple]:
    icd = code_list("icd10")
    names = dict(zip(icd["code"], icd["display"]))
    blocks = tuple((*_range_of(row.code), row.code, row.display, row.parent)
                   for row in icd[icd["level"] == "block"].itertuples())
    chapters = tuple((*_range_of(row.range), row.code) for row in icd[icd["level"] == "chapter"].itertuples())
    return names, blocks, chapters


def icd10_hierarchy(code: str) -> dict[str, str]:
    """Category, block and chapter of any ICD-10 code, listed or not (found by the ranges of the list)."""
    names, blocks, chapters = _icd10_index()
    category = code.strip().upper()[:3]
    block = next((entry for entry in blocks if entry[0] <= category <= entry[1]), None)
    if block is not None:
        chapter = block[4]
    else:
        chapter = next((entry[2] for entry in chapters if entry[0] <= category <= entry[1]), "")
    return {
        "code": code, "name": names.get(code) or names.get(category, ""),
        "category_code": category, "category_name": names.get(category, ""),
        "block_code": block[2] if block is not None else "", "block_name": block[3] if block is not None else "",
        "chapter_code": chapter, "chapter_name": names.get(chapter, ""),
        "listed": int(code in names),
    }


def diagnosis_dimension(extra_codes: Iterable[str] = ()) -> pd.DataFrame:
    """Every listed category/subcategory plus ``extra_codes`` (codes seen in the OLTP store)."""
    icd = code_list("icd10")
    listed = icd[icd["level"].isin(["category", "subcategory"])]["code"].tolist()
    codes = list(dict.fromkeys([*listed, *(code for code in extra_codes if code)]))
    return pd.DataFrame([icd10_hierarchy(code) for code in codes])


def disease_dimension() -> pd.DataFrame:
    """Notifiable diseases with their class (甲/乙/丙)."""
    diseases = code_list("notifiable-diseases")
    return pd.DataFrame({
        "code": diseases["code"], "name": diseases["display"], "class": diseases["class"],
        "class_name": diseases["class"].map(DISEASE_CLASSES).fillna(""),
        "parent_code": diseases["parent"], "icd10_code": diseases["icd10"],
    })


def drug_dimension() -> pd.DataFrame:
    """Drugs with their ATC anatomical group as category; ``is_antibiotic`` = ATC J01."""
    drugs = code_list("drugs")
    groups = drugs["atc"].str[:1]
    return pd.DataFrame({
        "code": drugs["code"], "name": drugs["display"], "dosage_form": drugs["dosage_form"],
        "atc_code": drugs["atc"],
        "category_code": groups.where(groups.isin(list(ATC_GROUPS)), NO_ATC[0]),
        "category_name": groups.map(ATC_GROUPS).fillna(NO_ATC[1]),
        "is_antibiotic": drugs["atc"].str.startswith("J01").astype(int),
    })


def vaccine_dimension() -> pd.DataFrame:
    vaccines = code_list("vaccines")
    return pd.DataFrame({"code": vaccines["code"], "name": vaccines["display"], "programme": vaccines["programme"]})


def division_dimension(regions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Divisions with their district, city and province; ``regions`` has code, name, level, parent_code
    (the ``registry_region`` table), by default the ``divisions`` code list."""
    if regions is None:
        divisions = code_list("divisions")
        regions = pd.DataFrame({"code": divisions["code"], "name": divisions["display"],
                                "level": divisions["level"], "parent_code": divisions["parent"]})
    by_code = {row.code: row for row in regions.itertuples()}

    def ancestor(code: str, wanted: Iterable[str]) -> tuple[str, str]:
        seen = set()
        while code in by_code and code not in seen:
            seen.add(code)
            row = by_code[code]
            if row.level in wanted:
                return row.code, row.name
            code = row.parent_code or ""
        return "", ""

    rows = []
    for row in regions.itertuples():
        district = ancestor(row.code, DISTRICT_LEVELS)
        city, province = ancestor(row.code, {"city"}), ancestor(row.code, {"province"})
        rows.append({"code": row.code, "name": row.name, "level": row.level,
                     "district_code": district[0], "district_name": district[1], "city_code": city[0],
                     "city_name": city[1], "province_code": province[0], "province_name": province[1]})
    return pd.DataFrame(rows)


__all__ = ["code_list", "icd10_hierarchy", "diagnosis_dimension", "disease_dimension", "drug_dimension",
           "vaccine_dimension", "division_dimension", "DISEASE_CLASSES", "ATC_GROUPS"]
