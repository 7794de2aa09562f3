"""Master patient index (多档合一): one person across every clinic and hospital.

``resolve`` / ``resolve_many`` turn the patient traits of an arriving document into a person:
a patient record already seen, a known resident ID or health-record / health-card number, a
probabilistic match, or a new person (with a review item when a candidate is plausible).
``merge`` / ``unmerge`` / ``link`` correct the index by hand; ``find_persons`` serves the resident
registry query. See docs/mpi.md.
"""
from .lookup import current_person_id, find_persons, get_person
from .matching import AUTO_LINK_THRESHOLD, REVIEW_THRESHOLD
from .locks import lock_keys
from .merge import link, merge, record_tables, unmerge
from .models import (LinkDecision, MeantIdentifier, MergeKind, MergeMove, MergeRecord, PatientRecord, PendingMerge,
                     Person, PersonIdentifier, PersonStatus, ReviewItem, ReviewReason, ReviewStatus)
from .resident_id import RESIDENT_ID_ROOT, is_valid_resident_id
from .service import resolve, resolve_many
from .traits import PatientTraits, Resolution, resident_id_conflict

__all__ = [
    "PatientTraits", "Resolution", "resolve", "resolve_many", "merge", "unmerge", "link", "find_persons",
    "get_person", "current_person_id", "is_valid_resident_id", "resident_id_conflict", "record_tables",
    "RESIDENT_ID_ROOT", "lock_keys",
    "AUTO_LINK_THRESHOLD", "REVIEW_THRESHOLD", "Person", "PersonIdentifier", "PatientRecord", "ReviewItem",
    "MergeRecord", "MergeMove", "PendingMerge", "MeantIdentifier", "PersonStatus", "LinkDecision", "ReviewStatus", "ReviewReason",
    "MergeKind",
]
