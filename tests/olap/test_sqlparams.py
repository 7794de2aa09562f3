"""The one escaping function: hostile strings survive a round trip, bad parameters are refused."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from olap import ParameterError, bind, identifier, render_literal

HOSTILE = [
    "a'b", "a\\b", "a\\'b", "\\", "'", "x\0y", "t\tz\nq\r", "' OR 1=1 --", "'); DROP TABLE dim_date; --",
    "\\0", "\x01\x7f", "中文'；--", "社区卫生服务中心\\", "{s:String}", "%(s)s", "a\\\\'",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_round_trip(olap, text):
    sql = "SELECT {s:String} AS s, length({s:String}) AS n, {a:Array(String)} AS a"
    row = olap.query_df(sql, {"s": text, "a": [text, "ok"]}).iloc[0]
    assert row["s"] == text
    assert row["n"] == len(text.encode("utf-8"))
    assert list(row["a"]) == [text, "ok"]


def test_typed_values_round_trip(olap):
    when = datetime(2024, 3, 1, 8, 30, tzinfo=timezone.utc)
    row = olap.query_df(
        "SELECT {d:Date} AS d, {t:DateTime} AS t, {n:Nullable(String)} AS n, {u:UInt64} AS u, "
        "{f:Float64} AS f, 'a' IN (SELECT arrayJoin({keys:Array(String)})) AS found",
        {"d": date(2024, 2, 29), "t": when, "n": None, "u": 2**63, "f": 0.1, "keys": ["b", "a"]}).iloc[0]
    assert row["d"].date() == date(2024, 2, 29)
    assert int(row["t"].timestamp()) == int(when.timestamp())
    assert row["u"] == 2**63 and row["f"] == 0.1 and row["found"] == 1


def test_placeholder_inside_a_value_is_not_substituted():
    assert bind("SELECT {a:String}, {b:String}", {"a": "{b:String}", "b": "x"}) == \
        "SELECT CAST('{b:String}' AS String), CAST('x' AS String)"


@pytest.mark.parametrize("value, expected", [
    (None, "NULL"), (True, "1"), (-3, "-3"), (Decimal("1.50"), "1.50"), ("it's", "'it\\'s'"),
    (date(2024, 1, 2), "'2024-01-02'"), ([1, "x"], "[1, 'x']"),
    (datetime(1970, 1, 1, 0, 1, tzinfo=timezone.utc), "60"),
])
def test_render_literal(value, expected):
    assert render_literal(value) == expected


@pytest.mark.parametrize("sql, params, code", [
    ("SELECT {a:String}", {}, "olap.param.missing"),
    ("SELECT 1", {"a": 1}, "olap.param.unused"),
    ("SELECT {a:UInt32}", {"a": "5 OR 1=1"}, "olap.param.invalid"),
    ("SELECT {a:UInt32}", {"a": -1}, "olap.param.invalid"),
    ("SELECT {a:UInt32}", {"a": True}, "olap.param.invalid"),
    ("SELECT {a:String}", {"a": None}, "olap.param.invalid"),
    ("SELECT {a:String}", {"a": b"bytes"}, "olap.param.invalid"),
    ("SELECT {a:String}", {"a": "\ud800"}, "olap.param.invalid"),
    ("SELECT {a:Float64}", {"a": float("nan")}, "olap.param.invalid"),
    ("SELECT {a:DateTime}", {"a": datetime(2024, 1, 1)}, "olap.param.invalid"),
    ("SELECT {a:Date}", {"a": datetime(2024, 1, 1, tzinfo=timezone.utc)}, "olap.param.invalid"),
    ("SELECT {a:Array(String)}", {"a": "not a list"}, "olap.param.invalid"),
    ("SELECT {a:String) FROM x; --}", {"a": "x"}, "olap.param.type"),
])
def test_refusals(sql, params, code):
    with pytest.raises(ParameterError) as caught:
        bind(sql, params)
    assert caught.value.code == code
    # Messages never echo the value.
    assert "OR 1=1" not in str(caught.value) and "bytes" != str(caught.value)


@pytest.mark.parametrize("name", ["a b", "x;DROP", "`x`", "", "1abc", "名字", "a" * 70, None])
def test_identifiers_are_checked(name):
    with pytest.raises(ParameterError):
        identifier(name)
