"""Sample inputs of the source adapters (adapters/samples/, see its README) and XML helpers."""
from __future__ import annotations

from pathlib import Path

import pytest

from adapters.sources import SourceContext, items

SAMPLES = Path(__file__).resolve().parents[3] / "adapters" / "samples"
NS = {"d": "urn:hie:doc:v1"}
# Synthetic patients of the samples: nothing of theirs may appear in a quarantine message or field.
PATIENT_DATA = ("周晓梅", "孙建华", "吴佳怡", "郑浩", "330106197205180044", "33010919550930013", "330110198802140269",
                "330102199011110375", "13800000011", "13800000021", "19720518", "19901345", "19901111",
                # adapters/samples/csv/ rows of the other document types
                "吴小雨", "冯小满", "钱国强", "陈子墨", "林静", "何乐乐", "330106202405100145", "330108202502120458",
                "330105196003210312", "330113201907080534", "330110199502170268", "330102202309300176",
                "13800000031", "13800000032", "13800000033", "2026-02-30", "13.6kg", "平转", "待定", "不明原因发热")


def sample(kind: str, name: str) -> bytes:
    return (SAMPLES / kind / name).read_bytes()


def run(kind: str, payload, options: dict | None = None) -> list:
    return list(items(kind, payload, SourceContext("CLINIC01", "示例社区卫生服务中心", options or {})))


def value(document, path: str, attribute: str | None = None) -> str:
    """The text (or attribute) of the first element at ``path`` (``d:`` prefixed XPath below the root)."""
    found = document.xpath(path, namespaces=NS)
    assert found, f"nothing at {path}"
    return found[0].get(attribute) if attribute else found[0].text


def assert_clean_quarantine(item, code: str) -> None:
    """The item is quarantined with ``code`` and its message and field carry no patient data."""
    assert item.document is None and item.problem is not None
    assert item.problem.code == code, item.problem
    for secret in PATIENT_DATA:
        assert secret not in item.problem.message and secret not in item.problem.field


@pytest.fixture
def hl7_options() -> dict:
    return {"codes": {"department": {"XNK": "03.04"}, "drug": {"MET500": "YP0019"},
                      "charge_category": {"XY01": "drugs", "XY02": "drugs", "JC01": "examinations"}},
            "fields": {"occupation": "ZPI-2"}}
