"""Names of level codes kept per mart generation (``hub.web.answer_cache.LabelCache``): a dashboard's
charts, each its own cube query naming the same codes, ask the engine for the names once; the names
are those the cube asked alone gives, and a new finished ETL run asks again."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import delete, insert

from etl.models import EtlRun
from hub.store.db import transaction

from .checks import WHOLE, ask
from .test_api import post

CHARTS = [("visits", {"measures": ["visits"]}), ("visits", {"indicators": ["charge_per_visit"]}),
          ("admissions", {"measures": ["admissions"]}), ("discharges", {"indicators": ["charge_per_bed_day"]})]


@pytest.fixture
def finished_run(region):
    added = []

    def add() -> None:
        now = datetime.now(timezone.utc)
        with transaction(region.store.sessions) as session:
            added.append(session.execute(insert(EtlRun).values(
                kind="incremental", status="finished", started_at=now, finished_at=now)).inserted_primary_key[0])

    yield add
    with transaction(region.store.sessions) as session:
        session.execute(delete(EtlRun).where(EtlRun.id.in_(added)))


def test_a_pages_charts_ask_for_the_names_once_per_generation(api, mart, finished_run):
    finished_run()
    bodies = [(cube, {**names, "group_by": ["institution.district"], "period": WHOLE, "labels": True})
              for cube, names in CHARTS]
    answers = [post(api, "B01", cube, body).json() for cube, body in bodies]
    cache = api.app.state.label_cache
    assert cache.statements == 1  # was one a chart
    for (cube, body), answer in zip(bodies, answers):
        assert answer["labels"] == ask(mart, cube, body)["labels"]  # the names the cube gives alone
        assert answer["labels"]["institution.district"]
    finished_run()
    post(api, "B01", *bodies[0])
    assert cache.statements == 2  # a new generation: asked again
