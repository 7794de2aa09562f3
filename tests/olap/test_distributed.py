"""Scale-out: two local servers as two shards give the same answers as one server."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from olap import apply_schema
from olap.dimensions import date_dimension, load_dimension
from olap.rollups import VISITS_INSTITUTION_DAY, refresh
from olap.schema.versions import VERSIONS
from olap.server_backend import ServerBackend

from .samples import visits

pytestmark = pytest.mark.clickhouse

CUBE = ("SELECT d.year_month AS month, f.institution_code AS institution, count() AS visits, "
        "sum(f.total_fen) AS total FROM fact_outpatient_visit AS f FINAL "
        "GLOBAL ANY INNER JOIN (SELECT date, year_month FROM dim_date FINAL WHERE deleted = 0) AS d USING (date) "
        "WHERE f.deleted = 0 GROUP BY month, institution ORDER BY month, institution")
ROLLUP = ("SELECT institution_code, sum(visits) AS visits, sum(total_fen) AS total "
          "FROM rollup_visits_institution_day FINAL WHERE deleted = 0 GROUP BY institution_code "
          "ORDER BY institution_code")


def _fill(backend) -> None:
    apply_schema(backend)
    load_dimension(backend, "dim_date", date_dimension(date(2024, 1, 1), date(2024, 12, 31)), version=1)
    batch = visits(range(1, 2001))
    backend.insert_df("fact_outpatient_visit", batch)
    backend.insert_df("fact_outpatient_visit", batch)  # re-run
    backend.insert_df("fact_outpatient_visit", pd.concat([
        visits(range(1, 301), version=2, amount_fen=7000), visits(range(301, 401), version=2, deleted=1)]))
    refresh(backend, VISITS_INSTITUTION_DAY, date_from=date(2024, 1, 1), date_to=date(2024, 12, 31), version=5)


def test_cluster_answers_like_a_single_server(cluster_olap, server_olap, ch_cluster):
    _fill(cluster_olap)
    _fill(server_olap)
    for sql in (CUBE, ROLLUP):
        pd.testing.assert_frame_equal(cluster_olap.query_df(sql), server_olap.query_df(sql))
    assert cluster_olap.query_df(ROLLUP)["visits"].sum() == 1900

    # The data really is spread: each shard holds part of the facts, every shard all of the dimension.
    for server in ch_cluster.servers:
        shard = ServerBackend(server.host, server.tcp_port, database=cluster_olap.database)
        try:
            local = shard.query_df("SELECT count() AS n FROM fact_outpatient_visit_local")["n"].iloc[0]
            days = shard.query_df("SELECT count() AS n FROM dim_date FINAL")["n"].iloc[0]
        finally:
            shard.close()
        assert 0 < local < 2 * 2000 + 400 and days == 366


def test_schema_on_a_cluster_is_idempotent(cluster_olap):
    assert apply_schema(cluster_olap) == [module.VERSION for module in VERSIONS]
    assert apply_schema(cluster_olap) == []
    engines = cluster_olap.query_df(
        "SELECT name, engine FROM system.tables WHERE database = {db:String} AND name LIKE 'fact_outpatient%'",
        {"db": cluster_olap.database}).set_index("name")["engine"].to_dict()
    assert engines == {"fact_outpatient_visit": "Distributed", "fact_outpatient_visit_local": "ReplacingMergeTree"}
