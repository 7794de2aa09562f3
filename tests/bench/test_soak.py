"""The soak's per-process verdict (bench/soak.py): a trend is growth, warm-up and noise are not."""
from __future__ import annotations

import random

from bench.soak import GROWTH_MB_PER_10MIN, fit, summarize


def _samples(rss_at, *, minutes: float = 30, every: float = 10, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for k in range(int(minutes * 60 / every) + 1):
        t = k * every
        rss = rss_at(t) + rng.uniform(-0.8, 0.8)  # the allocator's jitter
        out.append({"t": t, "processed": int(t * 100), "rss_mb": {"processor": {"rss": rss, "anon": rss - 30}}})
    return out


def test_fit_finds_the_slope_of_a_line():
    slope, err = fit([(x, 3.0 + 0.5 * x) for x in range(10)])
    assert abs(slope - 0.5) < 1e-9 and err < 1e-9


def test_steady_growth_is_growing():
    per_10min = 2 * GROWTH_MB_PER_10MIN
    row = summarize(_samples(lambda t: 150 + per_10min * t / 600), warmup_s=120)["processor"]
    assert row["verdict"] == "growing"
    assert abs(row["slope_mb_per_10min"] - per_10min) < 0.5
    assert abs(row["slope_mb_per_10k_docs"] - per_10min / 6) < 0.1  # 100 docs/s: 60,000 documents per 10 min


def test_a_cache_filling_to_its_bound_in_the_first_half_is_flat():
    row = summarize(_samples(lambda t: 150 + 60 * min(t, 600) / 600), warmup_s=120)["processor"]
    assert row["verdict"] == "flat"
    assert row["rss_end_mb"] - row["rss_start_mb"] > 40  # it did grow, then stopped: reported, not a leak


def test_jitter_alone_is_flat():
    assert summarize(_samples(lambda t: 150.0), warmup_s=120)["processor"]["verdict"] == "flat"
