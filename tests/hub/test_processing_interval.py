"""The processor's idle poll interval is a setting (``HIE_PROCESSING_INTERVAL_S``), read both by the
processor process ``hie serve`` starts (``hie process --interval``) and by an in-process processor."""
from __future__ import annotations

from hub.cli.main import process
from hub.settings import Settings


def _interval_of_hie_process(tmp_path) -> float:
    context = process.make_context("process", ["--data-dir", str(tmp_path)])
    return context.params["interval"]


def test_the_processing_interval_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("HIE_PROCESSING_INTERVAL_S", raising=False)
    assert Settings.load(tmp_path).processing_interval_s == 0.5
    assert _interval_of_hie_process(tmp_path) == 0.5
    monkeypatch.setenv("HIE_PROCESSING_INTERVAL_S", "0.05")
    assert Settings.load(tmp_path).processing_interval_s == 0.05
    assert _interval_of_hie_process(tmp_path) == 0.05
    explicit = process.make_context("process", ["--data-dir", str(tmp_path), "--interval", "2"])
    assert explicit.params["interval"] == 2.0  # the option still wins
