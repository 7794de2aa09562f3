"""The region's records are linkable: the real MPI, fed the patients of the rendered documents, finds
their true persons (the records' variants are the kind clinics make, not noise that defeats it)."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

from lxml import etree

from hub.mpi import resolve_many
from hub.records.header import read_patient
from hub.store.db import make_engine, session_factory, transaction
from hub.store.models import Base
from region import Generated
from schemas.reader import Reader

DOC = "{urn:hie:doc:v1}"
MEMBERS = ("RC01", "RC02", "RH01")  # one district's centre and station, and the hospital everyone goes to


def _pairs(sizes) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def test_the_mpi_links_the_records_to_their_true_persons(region_dir, tmp_path):
    items, truth = [], []
    for visit, document in Generated.open(region_dir).documents():
        if (visit.institution in MEMBERS and visit.person_id is not None  # every kind about a patient
                and not getattr(visit, "expected", "").startswith("rejected")):  # defects.py
            patient = document.find(f"{DOC}header/{DOC}patient")
            items.append((visit.institution, read_patient(Reader(etree.QName(patient).namespace), patient)))
            truth.append(visit.person_id)
    engine = make_engine(f"sqlite:///{tmp_path / 'mpi.db'}")
    Base.metadata.create_all(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        predicted = [r.person_id for r in resolve_many(session, items=items, now=datetime(2025, 4, 1, tzinfo=timezone.utc))]
    engine.dispose()
    common = _pairs(Counter(zip(truth, predicted)).values())
    precision = common / _pairs(Counter(predicted).values())
    recall = common / _pairs(Counter(truth).values())
    assert len(items) > 1000 and len(set(truth)) < len(items) * 0.8  # people come back
    assert precision > 0.99 and recall > 0.9, (precision, recall)
