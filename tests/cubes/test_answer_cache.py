"""The cube API's answer cache (``hub.web.answer_cache``): kept between ETL runs, dropped by a new
finished run, never shared between scopes, bounded."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import delete, insert

from etl.models import EtlRun
from hub.store.db import transaction
from hub.web.answer_cache import AnswerCache, mart_generation

from .checks import WHOLE
from .test_api import post

BODY = {"measures": ["visits"], "group_by": ["institution.institution"], "period": WHOLE}


@pytest.fixture
def new_run(region):
    """Adds a finished (or other) ETL run to the store; removes them after the test."""
    added = []

    def add(status: str = "finished") -> int:
        now = datetime.now(timezone.utc)
        with transaction(region.store.sessions) as session:
            run_id = session.execute(insert(EtlRun).values(
                kind="incremental", status=status, started_at=now, finished_at=now)).inserted_primary_key[0]
        added.append(run_id)
        return run_id

    yield add
    with transaction(region.store.sessions) as session:
        session.execute(delete(EtlRun).where(EtlRun.id.in_(added)))


def test_the_generation_is_the_latest_finished_run(region, new_run):
    finished = new_run("finished")
    new_run("running")
    new_run("failed")
    with region.store.sessions() as session:
        assert mart_generation(session) == finished


def test_a_repeated_query_is_answered_from_the_cache_until_a_new_etl_run(api, new_run):
    first = post(api, "B01", "visits", BODY).json()
    cache = api.app.state.answer_cache
    assert (cache.hits, cache.misses) == (0, 1)
    assert post(api, "B01", "visits", BODY).json() == first
    assert (cache.hits, cache.misses) == (1, 1)
    new_run("running")  # not finished: the mart is the same
    post(api, "B01", "visits", BODY)
    assert (cache.hits, cache.misses) == (2, 1)
    new_run("finished")
    assert post(api, "B01", "visits", BODY).json() == first  # same data, but asked of the mart again
    assert (cache.hits, cache.misses) == (2, 2) and len(cache) == 1


def test_two_scopes_never_share_an_entry(api):
    city = post(api, "B01", "visits", BODY).json()
    district = post(api, "B02", "visits", BODY).json()
    assert api.app.state.answer_cache.misses == 2 and len(api.app.state.answer_cache) == 2
    assert {c["institution.institution"] for c in district["cells"]} == {"H01", "C01", "C02"}
    assert {c["institution.institution"] for c in city["cells"]} == {"H01", "C01", "C02", "H02", "C03"}
    hospital = post(api, "H01", "visits", BODY).json()
    assert {c["institution.institution"] for c in hospital["cells"]} == {"H01"}


def test_the_cache_is_bounded_and_keeps_the_recently_used():
    cache = AnswerCache(size=2)
    computed = []

    def compute(key):
        computed.append(key)
        return {"cells": [key]}

    for key in ("a", "b", "a", "c", "a", "b"):
        assert cache.get_or_compute(key, generation=1, compute=lambda: compute(key)) == {"cells": [key]}
    assert computed == ["a", "b", "c", "b"]  # "b" was the least recently used when "c" came
    assert len(cache) == 2


def test_answers_are_copies_and_no_generation_keeps_nothing():
    cache = AnswerCache()
    got = cache.get_or_compute("q", generation=3, compute=lambda: {"cells": [1]})
    got["cells"].append("changed by a caller")
    assert cache.get_or_compute("q", generation=3, compute=lambda: {"cells": ["new"]}) == {"cells": [1]}
    assert cache.get_or_compute("q", generation=4, compute=lambda: {"cells": ["new"]}) == {"cells": ["new"]}
    calls = []
    for _ in range(2):
        cache.get_or_compute("r", generation=None, compute=lambda: calls.append(1) or {})
    assert len(calls) == 2
