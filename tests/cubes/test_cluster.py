"""Scale-out: the same cube queries over two shards (Distributed tables, GLOBAL joins) give the same
cells as chDB on one node."""
from __future__ import annotations

import pytest

from .checks import WHOLE, ask, fill_mart

QUERIES = (
    ("visits", {"measures": ["visits", "persons", "total_fen"], "indicators": ["charge_per_visit"],
                "group_by": ["institution.district", "date.month"], "period": WHOLE}),
    ("visits", {"measures": ["visits"], "group_by": ["institution.institution"],
                "period": {"from": "2025-08-01", "to": "2025-09-30"}}),
    ("diseases", {"measures": ["cases"], "indicators": ["incidence_per_100k"], "group_by": ["residence.district"],
                  "period": {"from": "2026-01-01", "to": "2026-11-30"}}),
    ("prescriptions", {"measures": ["amount_fen", "antibiotic_prescriptions"], "group_by": ["drug.category"],
                       "period": WHOLE}),
    ("prescriptions", {"measures": ["amount_fen", "lines"], "group_by": ["drug.drug"], "period": WHOLE,
                       "sort": [{"by": "amount_fen", "desc": True}], "top": 5}),  # the city-wide drug rollup
    ("institution_month", {"indicators": ["bed_occupancy_rate"], "group_by": ["institution.district", "date.year"],
                           "period": WHOLE}),
)


@pytest.mark.clickhouse
def test_two_shards_answer_like_one_node(cluster_olap, chdb_olap, region):
    fill_mart(cluster_olap, region)
    fill_mart(chdb_olap, region)
    for cube, body in QUERIES:
        sharded, single = ask(cluster_olap, cube, body), ask(chdb_olap, cube, body)
        assert sharded["cells"] == single["cells"] and len(single["cells"]) > 1, (cube, body)
        assert sharded["sources"] == single["sources"]
    assert ask(cluster_olap, *QUERIES[4])["sources"] == {"prescriptions": "rollup_medication_drug_month"}
