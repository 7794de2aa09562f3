"""Collectors: read what the clinic produced, build documents through the source adapters, store them.

A file is moved (or remembered, with ``after = "keep"``) only after the outbox transaction that
holds its items has committed: a crash in between leaves the file where it was, and collecting
it again adds nothing, because its items' keys are already in the outbox and the file's digest
is remembered (see ``to_new_items`` for what counts as the same record). Files are committed in
groups so a folder of thousands costs a few fsyncs. A file changed within the source's
``settle_seconds`` is left for the next run: the clinic's system may still be writing it, and a
half-written file would be quarantined and then moved away from its writer. A file that yields
only quarantines (not XML, not the expected document) is never moved into ``done_folder``: nothing
of it was sent, so it stays where the clinic put it, named in its quarantine entry, and a corrected
version written over it is collected as a new item.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Iterator

from lxml import etree

from ..sources import SourceContext, SourceItem, items
from .config import AgentConfig, SourceConfig
from .outbox import FileOutcome, NewItem, Outbox, now_text

log = logging.getLogger(__name__)
FILES_PER_COMMIT = 200


@dataclass(frozen=True)
class CollectResult:
    source: str
    files: int = 0
    rows: int = 0
    added: int = 0  # new outbox items (documents and source quarantines)
    error: str = ""  # why the source failed this run (no patient data: codes, type names, paths)
    waiting: int = 0  # files left for a later run: changed within settle_seconds (or while being read)
    quarantined: tuple[str, ...] = ()  # "name (code)" of each file whose records were quarantined this run


def context_for(config: AgentConfig, source: SourceConfig) -> SourceContext:
    return SourceContext(institution=config.member, institution_name=config.member_name,
                         options=source.options)


def to_new_items(source: str, built: Iterable[SourceItem], *, origin: str = "") -> Iterator[NewItem]:
    """Source adapter output → outbox rows (documents serialized once, here).

    The outbox key is the source's key plus the document's digest: the same record read again
    adds nothing, while a changed record (a row corrected in the clinic's database, a file
    rewritten) is a new item to send instead of being skipped as already collected. A record the
    source refused is keyed by its problem, so once fixed at the source it is collected again.
    """
    for item in built:
        if item.document is not None:
            data = etree.tostring(item.document, encoding="utf-8")
            yield NewItem(source=source, key=f"{item.key}@sha256:{hashlib.sha256(data).hexdigest()[:16]}",
                          document=data, document_type=etree.QName(item.document).localname, origin=origin)
        else:
            yield NewItem(source=source, key=f"{item.key}!{item.problem.code}", code=item.problem.code,
                          reason=item.problem.message, field=item.problem.field, origin=origin)


class AdapterFailed(Exception):
    """A source adapter raised on a query run instead of returning items: a bug or a broken install.

    Nothing of that run is stored and the watermark stays, so the rows are read again once the
    adapter is fixed. In a folder, a file the adapter (or the disk) fails on is left in place and
    named in the run's ``CollectResult.error`` while the other files go on. Only the error type
    (never its text, which may quote the input) is kept for ``status``.
    """


class SourceUnavailable(Exception):
    """The source's folder is missing (a typo in agent.toml, an unmounted share): nothing can be collected."""


def collect_folder(outbox: Outbox, config: AgentConfig, source: SourceConfig) -> CollectResult:
    """Collect every settled file of ``source.folder`` matching its pattern that was not collected before."""
    if not source.folder.is_dir():
        raise SourceUnavailable(f"folder {source.folder} does not exist")
    context = context_for(config, source)
    paths = _candidates(source)
    files = added = waiting = 0
    failures: list[str] = []
    quarantined: list[str] = []
    for start in range(0, len(paths), FILES_PER_COMMIT):
        done: list[Path] = []
        with outbox.transaction() as db:
            for path in paths[start:start + FILES_PER_COMMIT]:
                try:
                    if path.stat().st_size > source.max_file_bytes:  # never read whole: quarantined by digest
                        new = _too_large(outbox, db, source, path)
                        added += new
                        if new:
                            quarantined.append(f"{path.relative_to(source.folder).as_posix()} (source.file.too_large)")
                        continue
                    payload = _settled_bytes(path, source.settle_seconds)
                except OSError as error:  # locked, unreadable or gone: the others still go
                    log.error("source %s: cannot read %s (%s)", source.name, path.name, type(error).__name__)
                    failures.append(type(error).__name__)
                    continue
                if payload is None:  # still being written: the next run takes it whole
                    waiting += 1
                    continue
                digest = hashlib.sha256(payload).hexdigest()
                name = path.relative_to(source.folder).as_posix()
                outcome = outbox.file_outcome(source=source.name, name=name, sha256=digest)
                if outcome is None:
                    try:
                        built = list(to_new_items(source.name, items(source.kind, payload, context), origin=name))
                    except Exception as error:  # noqa: BLE001 - one broken file must not stop the folder
                        log.error("source %s: adapter failed on %s (%s)", source.name, name, type(error).__name__)
                        failures.append(type(error).__name__)
                        continue
                    added += outbox.add(db, built)
                    refused = [item.code for item in built if item.document is None]
                    only_refused = bool(refused) and len(refused) == len(built)
                    outcome = FileOutcome.QUARANTINED if only_refused else FileOutcome.COLLECTED
                    outbox.remember_file(db, source=source.name, name=name, sha256=digest, outcome=outcome)
                    files += 1
                    if refused:
                        log.info("source %s: %s quarantined (%s)", source.name, name, ", ".join(sorted(set(refused))))
                        quarantined.append(f"{name} ({', '.join(sorted(set(refused)))})")
                if outcome is FileOutcome.COLLECTED:  # a file of only quarantines stays where the clinic put it
                    done.append(path)
        if source.after == "move":
            for path in done:  # after the commit: a crash before this line collects nothing twice
                _move(path, source.folder, source.done_folder)
    error = f"{len(failures)} file(s) left in place: {', '.join(sorted(set(failures)))}" if failures else ""
    return CollectResult(source=source.name, files=files, added=added, error=error, waiting=waiting,
                         quarantined=tuple(quarantined))


def _candidates(source: SourceConfig) -> list[Path]:
    return sorted(p for p in source.folder.glob(source.pattern) if p.is_file() and not _inside(p, source.done_folder))


def waiting_files(source: SourceConfig, *, now: float | None = None) -> int:
    """Files of a folder source that the next collection leaves alone: changed within ``settle_seconds``."""
    if source.folder is None or not source.folder.is_dir() or source.settle_seconds <= 0:
        return 0
    now = time.time() if now is None else now
    waiting = 0
    for path in _candidates(source):
        try:
            info = path.stat()
        except OSError:  # gone since the listing
            continue
        waiting += info.st_size <= source.max_file_bytes and 0 <= now - info.st_mtime < source.settle_seconds
    return waiting


def _too_large(outbox: Outbox, db, source: SourceConfig, path: Path) -> int:
    """Quarantine a file over ``max_file_bytes`` (the hub could not accept it anyway), hashing it in
    chunks so memory stays flat; 0 when this very file was already quarantined. It stays in place."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    name = path.relative_to(source.folder).as_posix()
    if outbox.file_outcome(source=source.name, name=name, sha256=digest.hexdigest()) is not None:
        return 0
    added = outbox.add(db, [NewItem(source=source.name, key=f"file:{name}@sha256:{digest.hexdigest()[:16]}"
                                                          f"!source.file.too_large",
                                    code="source.file.too_large", reason="the file is larger than max_file_bytes",
                                    field=name, origin=name)])
    outbox.remember_file(db, source=source.name, name=name, sha256=digest.hexdigest(), outcome=FileOutcome.QUARANTINED)
    return added


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and path.is_relative_to(folder)


def _settled_bytes(path: Path, settle_seconds: float) -> bytes | None:
    """The file's bytes, or None while it may still be written (changed within ``settle_seconds``,
    or changed while it was read). A modification time in the future (the clock was set back)
    counts as settled."""
    before = path.stat()
    if 0 <= time.time() - before.st_mtime < settle_seconds:
        return None
    payload = path.read_bytes()
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or len(payload) != after.st_size:
        return None
    return payload


def _move(path: Path, root: Path, done_folder: Path) -> None:
    target = done_folder / path.relative_to(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # a file of the same name was sent before: keep both
        target = target.with_name(f"{target.stem}.{os.getpid()}-{path.stat().st_mtime_ns}{target.suffix}")
    shutil.move(path, target)


def collect_database(outbox: Outbox, config: AgentConfig, source: SourceConfig, *, max_runs: int = 100) -> CollectResult:
    """Read the rows changed since the stored watermark and store their documents.

    The statement comes from the ``database`` adapter (``source_query``: a table read in
    watermark order, ``batch_size`` rows at a time, or the clinic's own query using
    ``:watermark``). Each run's rows go to the adapter together, so rows of one document are
    never split, and its items and the new watermark commit in one transaction: a crash re-reads
    that run, whose keys the outbox already holds.
    """
    from sqlalchemy import create_engine

    from ..sources.database import next_watermark, source_query

    context = context_for(config, source)
    engine = create_engine(source.database)
    rows = added = 0
    try:
        for _ in range(max_runs):
            current = decode_watermark(outbox.watermark(source.name))
            with engine.connect() as connection:
                batch = [dict(row) for row in connection.execute(source_query(source.options, current)).mappings()]
            if not batch:
                break
            try:
                built = list(to_new_items(source.name, items(source.kind, batch, context)))
            except Exception as error:  # noqa: BLE001 - the watermark stays: these rows are read again
                raise AdapterFailed(f"adapter {type(error).__name__} on a run of {len(batch)} row(s)") from None
            mark = next_watermark(batch, source.options, current)
            with outbox.transaction() as db:
                added += outbox.add(db, built)
                outbox.set_watermark(db, source.name, encode_watermark(mark))
            rows += len(batch)
            if "query" in source.options or mark == current:
                break  # the clinic's query returns everything at once; an unmoved watermark would loop
    finally:
        engine.dispose()
    return CollectResult(source=source.name, rows=rows, added=added)


def encode_watermark(value) -> str:
    """The watermark as stored in the outbox, with its type, so the next query binds the same type."""
    if isinstance(value, datetime):
        return json.dumps({"datetime": value.isoformat()})
    if isinstance(value, date):
        return json.dumps({"date": value.isoformat()})
    if isinstance(value, Decimal):
        return json.dumps({"decimal": str(value)})
    return json.dumps({"value": value})


def decode_watermark(text: str | None):
    if not text:
        return None
    (kind, value), = json.loads(text).items()
    return {"datetime": datetime.fromisoformat, "date": date.fromisoformat, "decimal": Decimal}.get(
        kind, lambda v: v)(value)


def collect_all(outbox: Outbox, config: AgentConfig) -> list[CollectResult]:
    """One pass over every configured source; a failing source is logged and the others still run."""
    results = []
    for source in config.sources:
        try:
            result = (collect_folder if source.folder is not None else collect_database)(outbox, config, source)
            results.append(result)
            if result.error:  # some files failed, the others were collected
                log.error("source %s: %s", source.name, result.error)
                outbox.set_meta(last_error=f"collect {source.name}: {result.error}", last_error_at=now_text())
        except (AdapterFailed, SourceUnavailable) as error:
            log.error("source %s: %s", source.name, error)
            outbox.set_meta(last_error=f"collect {source.name}: {error}", last_error_at=now_text())
            results.append(CollectResult(source=source.name, error=str(error)))
        except Exception as error:  # noqa: BLE001 - e.g. the clinic database is down: try next time
            log.error("source %s: collection failed (%s)", source.name, type(error).__name__)
            outbox.set_meta(last_error=f"collect {source.name}: {type(error).__name__}", last_error_at=now_text())
            results.append(CollectResult(source=source.name, error=f"collection failed ({type(error).__name__})"))
    return results


__all__ = ["AdapterFailed", "CollectResult", "SourceUnavailable", "collect_all", "collect_database", "collect_folder",
           "context_for", "decode_watermark", "encode_watermark", "to_new_items", "waiting_files"]
