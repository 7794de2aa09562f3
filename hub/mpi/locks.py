"""What two processors resolving patients at the same time must not do side by side (PostgreSQL).

Matching is probabilistic: a person without an ID number, a typo, a day and month swapped. No unique
constraint can say "the same person" (one on the ID number would cover only the patients that have a
valid one), so the index locks what a resolution reads to decide: its *blocking keys*. Two probes that
could find each other's records share at least one key, because the keys are exactly what
``sql.blocking_candidates`` and the identifier look-ups search on:

- the institution's record of the patient, ``(institution, local key)``;
- each global identifier, and for an ID failing its check the valid IDs it may be a slip of
  (``near_misses``: the record remembers them in ``mpi_meant_id``, their holder is its candidate);
- the birth date, as the earlier of it and its day/month swap (one key for both spellings);
- the pinyin of the name within the birth year; the phone.

A processor takes its chunk's keys, sorted, before resolving (``hub.pipeline.Stage.lock_keys``):
the second of two processors given the same new person waits for the first's commit and then finds
the person it created. The keys are held only by processors, which take them all at once in one
order: they cannot deadlock on them.

Merges by hand change persons that any resolution may be reading, whatever its keys: resolutions
hold the whole index *shared* (``share_index``), an operator's merge, unmerge or link holds it
*exclusively* (``hold_index``), first, before any row it locks: it waits for the chunks resolving
now, and the chunks after it see its result. While it waits, PostgreSQL queues every later shared
request behind it, so it waits ``MERGE_WAIT_S`` at most (a chunk's database work takes well under a
second) and then answers ``mpi.busy`` (retry shortly) instead of holding every processor up behind a
chunk that does not end (its processor paused: cut off after ``HIE_PROCESSING_TX_TIMEOUT_S``).
"""
from __future__ import annotations

from collections.abc import Iterable

from protocol.errors import HubError

from ..errors import MpiError
from ..store import advisory
from ..store.rawsql import RawSql
from .matching import swapped_birth_date
from .resident_id import RESIDENT_ID_ROOT, near_misses
from .traits import PatientTraits, Probe, probe_of

INDEX = "mpi.index"  # the whole index: shared by resolutions, exclusive for a merge by hand
# How long a merge by hand waits for the index; resolutions arriving meanwhile wait behind it as long.
MERGE_WAIT_S = 5.0


def probe_keys(institution: str, probe: Probe) -> set[str]:
    """The blocking keys of one probe (see the module's docstring)."""
    d = probe.demographics
    keys = {f"mpi.record:{institution}:{probe.local_key}"}
    keys.update(f"mpi.id:{root}:{value}" for _kind, root, value in probe.global_ids)
    ids = [*probe.invalid_ids, *probe.conflict_ids]
    if probe.conflict_ids:
        ids.append("|".join(probe.conflict_ids)[:64])  # kept as one identifier: its insert must not race
    ids += [meant for value in probe.invalid_ids for meant in near_misses(value)]
    keys.update(f"mpi.id:{RESIDENT_ID_ROOT}:{value}" for value in ids)
    if d.birth_date:
        keys.add(f"mpi.birth:{min(d.birth_date, swapped_birth_date(d.birth_date) or d.birth_date)}")
        if d.pinyin:
            keys.add(f"mpi.pinyin:{d.pinyin}:{d.birth_date[:4]}")
    if d.phone:
        keys.add(f"mpi.phone:{d.phone}")
    return keys


def lock_keys(items: Iterable[tuple[str, PatientTraits]]) -> set[str]:
    """The blocking keys of (institution, traits) pairs; a patient unusable as such has none (refused later)."""
    keys: set[str] = set()
    for institution, traits in items:
        try:
            keys |= probe_keys(institution, probe_of(traits))
        except HubError:
            continue
    return keys


def share_index(sql: RawSql) -> None:
    """Hold the index shared until the transaction ends (resolutions; nothing on SQLite)."""
    advisory.hold(sql, [INDEX], shared=True)


def hold_index(sql: RawSql, *, wait_s: float = MERGE_WAIT_S) -> None:
    """Hold the index exclusively until the transaction ends (a merge by hand; nothing on SQLite);
    ``mpi.busy`` when resolutions in progress keep it longer than ``wait_s``."""
    try:
        advisory.hold(sql, [INDEX], wait_s=wait_s)
    except advisory.LockBusy:
        raise MpiError("mpi.busy", "the index is busy with resolutions in progress; retry shortly") from None


__all__ = ["INDEX", "MERGE_WAIT_S", "probe_keys", "lock_keys", "share_index", "hold_index"]
