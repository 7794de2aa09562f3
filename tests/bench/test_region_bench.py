"""bench.region (bench/region.py): its checks, and its section of RESULTS.md replaced in place (bench/resultsmd.py)."""
from __future__ import annotations

from bench.region import checks
from bench.resultsmd import replace_section, write_section

TEXT = "# Benchmark results\n\nintro\n\n## Other bench\n\nits figures\n\n## Mine\n\nold figures\nmore\n\n## Last\n\nkept\n"


def test_a_run_replaces_its_own_section_and_nothing_else():
    out = replace_section(TEXT, "Mine", "new figures")
    assert out == TEXT.replace("old figures\nmore\n", "new figures\n")
    assert replace_section(out, "Mine", "new figures") == out  # a second run of the same figures: no change


def test_a_first_run_appends_its_section(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text(TEXT, encoding="utf-8")
    write_section("New bench", "| a | b |", path)
    write_section("New bench", "| c | d |", path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(TEXT.rstrip("\n")) and text.endswith("## New bench\n\n| c | d |\n")
    assert text.count("## New bench") == 1


def _report(*, resent: int, stored_after_resume: int) -> dict:
    send = {"documents": 1000, "seconds": 10.0, "docs_per_s": 100.0}
    return {"region": {"records": 1000}, "load": {"send": send},
            "inbox_after_load": {"total": 998}, "resume": {"send": send | {"documents": resent}},
            "inbox_after_resume": {"total": stored_after_resume}}


def test_a_resume_that_sends_or_stores_anything_fails_the_run():
    assert all(checks(_report(resent=0, stored_after_resume=998)).values())
    assert not checks(_report(resent=3, stored_after_resume=998))["resume_sent_nothing"]
    assert not checks(_report(resent=0, stored_after_resume=1001))["resume_stored_nothing"]
