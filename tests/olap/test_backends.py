"""Backend contract: versions and capabilities, identical frames on both engines, errors, threads."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pandas as pd
import pytest

from olap import BackendUnavailable, Capabilities, ChdbBackend, QueryError, parse_version

DTYPE_PROBE = (
    "SELECT toUInt8(1) AS u8, toUInt64(2) AS u64, toInt32(-3) AS i32, toFloat64(1.5) AS f, 'x' AS s, "
    "toDate('2024-01-02') AS d, toDateTime('2024-01-02 03:04:05', 'UTC') AS dt, "
    "CAST(NULL AS Nullable(Int64)) AS ni, ['a', 'b'] AS arr, toDecimal64(1.25, 2) AS dec")


def test_version_and_capabilities_match_the_engine(olap):
    caps = olap.capabilities
    assert caps == Capabilities.for_version(olap.version())
    lc = "CREATE TABLE probe_lc (x LowCardinality(String)) ENGINE = Memory"
    window = "SELECT number, sum(number) OVER (ORDER BY number) AS s FROM numbers(3)"
    for supported, sql in ((caps.supports_lowcardinality, lc), (caps.supports_window_functions, window)):
        if supported:
            olap.execute(sql)
        else:
            with pytest.raises(QueryError):
                olap.execute(sql)


def test_parse_version():
    assert parse_version("18.16.1") == (18, 16, 1)
    assert Capabilities.for_version((18, 16, 1)).supports_lowcardinality is False
    assert Capabilities.for_version((21, 9)).supports_window_functions is True
    with pytest.raises(ValueError):
        parse_version("unknown")


@pytest.mark.clickhouse
def test_engines_give_identical_frames(chdb_olap, server_olap):
    for sql in (DTYPE_PROBE, DTYPE_PROBE + " WHERE 0"):
        pd.testing.assert_frame_equal(chdb_olap.query_df(sql), server_olap.query_df(sql))


def test_insert_and_read_back(olap):
    olap.execute("CREATE TABLE t (k String, d Date, t DateTime('UTC'), n Nullable(Int32), v UInt64) "
                 "ENGINE = MergeTree ORDER BY k")
    frame = pd.DataFrame({
        "k": ["a", "社区"], "d": pd.to_datetime(["2024-01-01", "2024-12-31"]),
        "t": [datetime(2024, 1, 1, 8, tzinfo=timezone.utc), datetime(2024, 6, 1, tzinfo=timezone.utc)],
        "n": pd.array([1, None], dtype="Int32"), "v": [1, 2**64 - 1]})
    assert olap.insert_df("t", frame) == 2
    assert olap.insert_df("t", frame.iloc[0:0]) == 0
    back = olap.query_df("SELECT k, d, t, n, v FROM t ORDER BY v")
    assert back["k"].tolist() == ["a", "社区"]
    assert [stamp.date().isoformat() for stamp in back["d"]] == ["2024-01-01", "2024-12-31"]
    assert back["t"].iloc[0] == pd.Timestamp("2024-01-01 08:00", tz="UTC")
    assert back["n"].isna().tolist() == [False, True] and int(back["v"].iloc[1]) == 2**64 - 1


def test_engine_errors_carry_a_code_and_no_stack_trace(olap):
    with pytest.raises(QueryError) as caught:
        olap.query_df("SELECT no_such_function(1)")
    assert caught.value.code == "olap.query.failed"
    assert caught.value.fields["engine_code"] == 46
    assert "Stack trace" not in str(caught.value) and "\n" not in str(caught.value)


def test_one_backend_shared_by_threads(olap):
    results, errors = [], []

    def work(n: int) -> None:
        try:
            for _ in range(10):
                results.append(int(olap.query_df("SELECT {n:UInt32} * 2 AS x", {"n": n})["x"].iloc[0]) == n * 2)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 40 and all(results)


def test_chdb_refuses_a_second_directory(chdb_dir, tmp_path):
    with pytest.raises(BackendUnavailable) as caught:
        ChdbBackend(tmp_path / "other")
    assert caught.value.code == "olap.chdb.path_conflict"


def test_closed_backend_refuses_work(chdb_dir):
    backend = ChdbBackend(chdb_dir, database="closed_probe")
    backend.drop_database()
    backend.close()
    with pytest.raises(BackendUnavailable):
        backend.query_df("SELECT 1")
