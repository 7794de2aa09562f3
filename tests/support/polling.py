"""The environment of a test's ``hie serve``: its processor polls every 50 ms when idle, not every 0.5 s.

A test that sends and then waits for the acknowledgement waited up to one idle tick for each wait;
the hub's own batching (a partial batch waits one tick for more) is unchanged otherwise.
"""
from __future__ import annotations

QUICK_PROCESSOR = {"HIE_PROCESSING_INTERVAL": "0.05"}

__all__ = ["QUICK_PROCESSOR"]
