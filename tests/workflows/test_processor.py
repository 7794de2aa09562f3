"""The processor runs the workflows after its ticks (``hie process`` and ``hie serve``'s in-process one)."""
from __future__ import annotations

import time

from sqlalchemy import select

from hub.pipeline import Processor
from hub.runtime import after_processing, processing_stages
from hub.settings import Settings
from hub.workflows.models import Alert

from .reports import CHOLERA, disease_report


def test_a_processed_report_raises_its_alert_without_anyone_asking(store, tmp_path):
    settings = Settings(data_dir=tmp_path, workflow_interval_s=0.0)
    processor = Processor(store.sessions, processing_stages(), interval=0.05,
                          after_tick=after_processing(store.sessions, settings)).start()
    try:
        store.deliver(disease_report("R-1", disease=CHOLERA))
        deadline = time.monotonic() + 20
        keys = []
        while time.monotonic() < deadline and not keys:
            time.sleep(0.05)
            with store.sessions() as session:
                keys = list(session.scalars(select(Alert.key)))
    finally:
        processor.stop()
    assert keys == ["102:330102"]
    assert Settings.load(tmp_path).workflow_interval_s == 2.0
