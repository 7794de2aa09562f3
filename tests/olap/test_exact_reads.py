"""ReplacingMergeTree + version + deleted: exact answers after re-inserts, corrections and retractions."""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from olap import apply_schema
from olap.rollups import ROLLUPS, VISITS_INSTITUTION_DAY, pieces, refresh

from .samples import expected_by_institution, visits

EXACT = ("SELECT institution_code, count() AS visits, sum(total_fen) AS total FROM fact_outpatient_visit FINAL "
         "WHERE deleted = 0 GROUP BY institution_code ORDER BY institution_code")
EXACT_ARGMAX = (
    "SELECT institution_code, count() AS visits, sum(total) AS total FROM ("
    " SELECT institution_code, date, fact_key, argMax(total_fen, version) AS total,"
    " argMax(deleted, version) AS gone FROM fact_outpatient_visit GROUP BY institution_code, date, fact_key"
    ") WHERE gone = 0 GROUP BY institution_code ORDER BY institution_code")


def answer(backend, sql: str = EXACT) -> dict[str, tuple[int, int]]:
    frame = backend.query_df(sql)
    return {row.institution_code: (int(row.visits), int(row.total)) for row in frame.itertuples()}


@pytest.fixture
def mart(olap):
    apply_schema(olap)
    return olap


@pytest.mark.parametrize("sql", [EXACT, EXACT_ARGMAX], ids=["final", "argmax"])
def test_same_batch_twice_counts_once(mart, sql):
    batch = visits(range(1, 301))
    assert mart.insert_df("fact_outpatient_visit", batch) == 300
    mart.insert_df("fact_outpatient_visit", batch)  # an ETL re-run after a crash
    raw = mart.query_df("SELECT count() AS n FROM fact_outpatient_visit")["n"].iloc[0]
    assert raw in (300, 600)  # duplicates may or may not be merged yet: reads must not care
    assert answer(mart, sql) == expected_by_institution(batch)


@pytest.mark.parametrize("sql", [EXACT, EXACT_ARGMAX], ids=["final", "argmax"])
def test_newer_version_and_retraction(mart, sql):
    first = visits(range(1, 201))
    mart.insert_df("fact_outpatient_visit", first)
    corrected = visits(range(1, 51), version=2, amount_fen=9000)     # amounts corrected
    retracted = visits(range(51, 71), version=2, deleted=1)          # documents cancelled
    mart.insert_df("fact_outpatient_visit", pd.concat([corrected, retracted]))
    mart.insert_df("fact_outpatient_visit", first)                   # a stale re-run of version 1
    live = pd.concat([corrected, visits(range(71, 201))])
    assert answer(mart, sql) == expected_by_institution(live)


def test_moved_fact_needs_a_retraction_at_its_old_identity(mart):
    """A correction that changes the date (the partition) is two rows: a retraction and the new row."""
    old = visits(range(5, 6))
    mart.insert_df("fact_outpatient_visit", old)
    moved = visits(range(5, 6), version=2, start=date(2024, 6, 1))
    mart.insert_df("fact_outpatient_visit", pd.concat([old.assign(version=2, deleted=1), moved]))
    frame = mart.query_df("SELECT fact_key, date FROM fact_outpatient_visit FINAL WHERE deleted = 0")
    assert frame["fact_key"].tolist() == ["record_encounter:5"]
    assert frame["date"].dt.date.tolist() == [moved["date"].iloc[0]]


def test_final_with_where_on_a_non_key_column_is_exact(mart):
    """WHERE is applied after FINAL on both engines (an explicit PREWHERE would not be: never use it)."""
    mart.insert_df("fact_outpatient_visit", visits(range(1, 101)))
    mart.insert_df("fact_outpatient_visit", visits(range(1, 101, 2), version=2, deleted=1))
    count = mart.query_df("SELECT count() AS n FROM fact_outpatient_visit FINAL WHERE deleted = 0")["n"].iloc[0]
    assert count == 50


def test_rollup_refresh_is_exact_and_idempotent(mart):
    window = {"date_from": date(2024, 1, 1), "date_to": date(2024, 12, 31)}
    batch = visits(range(1, 401))
    mart.insert_df("fact_outpatient_visit", batch)
    refresh(mart, VISITS_INSTITUTION_DAY, version=1, **window)
    refresh(mart, VISITS_INSTITUTION_DAY, version=2, **window)  # re-run: same cells
    rollup = ("SELECT institution_code, sum(visits) AS visits, sum(total_fen) AS total "
              "FROM rollup_visits_institution_day FINAL WHERE deleted = 0 "
              "GROUP BY institution_code ORDER BY institution_code")
    assert answer(mart, rollup) == expected_by_institution(batch)

    # Retract every visit of one institution: its cells must go, not linger.
    gone = batch[batch["institution_code"] == batch["institution_code"].iloc[0]]
    mart.insert_df("fact_outpatient_visit", gone.assign(version=3, deleted=1))
    refresh(mart, VISITS_INSTITUTION_DAY, version=3, **window)
    assert answer(mart, rollup) == expected_by_institution(batch.drop(gone.index))
    assert answer(mart, rollup) == answer(mart)


@pytest.mark.parametrize("rollup", list(ROLLUPS.values()), ids=lambda rollup: rollup.name)
def test_a_long_refresh_is_cut_into_whole_periods_without_gaps(rollup):
    cut = pieces(rollup, date(2024, 1, 17), date(2026, 3, 2))
    assert len(cut) > 20  # a backfill of two years is many small statements, not one big one
    widened = rollup.whole_periods(date(2024, 1, 17), date(2026, 3, 2))
    assert cut[0][0] == widened[0] and cut[-1][1] == widened[1]
    for (_, end), (start, _) in zip(cut, cut[1:]):
        assert start == end + timedelta(days=1)  # contiguous, no overlap
    for start, end in cut:
        assert rollup.whole_periods(start, end) == (start, end)  # no cell split between two statements
    assert pieces(rollup, date(2024, 5, 8), date(2024, 5, 8)) == [rollup.whole_periods(date(2024, 5, 8),
                                                                                        date(2024, 5, 8))]


def test_a_refresh_split_into_bounded_statements_gives_the_same_cells(mart, monkeypatch):
    import olap.rollups

    batch = visits(range(1, 601))  # 75 days from 2024-01-01: three months
    mart.insert_df("fact_outpatient_visit", batch)
    statements = []
    execute = mart.execute
    monkeypatch.setattr(mart, "execute", lambda sql, params=None: (statements.append(params), execute(sql, params)))
    refresh(mart, VISITS_INSTITUTION_DAY, date_from=date(2024, 1, 1), date_to=date(2024, 12, 31), version=1)
    assert len(statements) == 1  # 600 rows: one statement
    monkeypatch.setattr(olap.rollups, "ROWS_PER_STATEMENT", 250)
    statements.clear()
    refresh(mart, VISITS_INSTITUTION_DAY, date_from=date(2024, 1, 1), date_to=date(2024, 12, 31), version=2)
    assert len(statements) >= 3  # about 250 rows a month: at least a statement a month
    rollup = ("SELECT institution_code, sum(visits) AS visits, sum(total_fen) AS total "
              "FROM rollup_visits_institution_day FINAL WHERE deleted = 0 "
              "GROUP BY institution_code ORDER BY institution_code")
    assert answer(mart, rollup) == expected_by_institution(batch)
