"""Turn accepted inbox messages into health records, a batch at a time.

Two phases. The pure phase parses, validates, reads the header and normalizes each document; a
failure there rejects only that message, and nothing was written. The database phase decides per
document (new, newer version, stale, cancellation), resolves persons through the master patient
index in one call, and writes the rows with one multi-row statement per table. If the database
phase fails for the batch, it is redone one message at a time, each in its own savepoint, so one
bad message cannot take others down and none is left half-written.
"""
from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, Numeric, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from protocol.errors import HubError, RecordError
from protocol.findings import Finding
from protocol.xmlparse import parse_admitted
from schemas.normalize import normalize_document
from schemas.validation import validated

from .. import audit, mpi
from ..exchange.models import Message
from ..store.rawsql import RawSql
from . import quality
from . import sql as records_sql
from .header import DocumentHeader, read_header
from .models import PERSON_TABLES, ROW_MODELS, DocumentStatus, RecordDocument
from .normalizers import Normalized, normalizer_for

log = logging.getLogger(__name__)
_DOCS = RecordDocument.__table__
_TABLES = {name: model.__table__ for name, model in ROW_MODELS.items()}


class Outcome(str, enum.Enum):
    """What a processed document did to the store (audited as ``record.<value>`` unless stored)."""

    STORED = "stored"              # a new document
    REPLACED = "replaced"          # a newer version of a stored document: its rows replaced
    STALE = "stale"                # an older or equal version, or of a cancelled document: ignored
    CANCELLATION = "cancellation"  # a Cancellation: the document it names retracted


@dataclass
class NormalizedMessage:
    """A message through the pure phase: its document parsed, validated and normalized."""

    message: Message
    header: DocumentHeader
    normalized: Normalized
    outcome: Outcome = Outcome.STORED
    resolution: mpi.Resolution | None = None
    retracted: bool = False  # cancelled by a later message of the same batch: stored as cancelled, no rows
    findings: list[Finding] = field(default_factory=list)  # what is wrong in it, kept (record_finding rows)

    def reset(self) -> None:
        self.outcome, self.resolution, self.retracted = Outcome.STORED, None, False


@dataclass
class BatchResult:
    errors: dict[int, HubError] = field(default_factory=dict)  # message row id → why it was rejected
    outcomes: dict[int, Outcome] = field(default_factory=dict)  # message row id → outcome


def prepare(message: Message) -> NormalizedMessage:
    """The pure phase for one message; raises ``RecordError``."""
    document = parse_admitted(message.document)
    findings: list[Finding] = []
    reader = normalize_document(document, message.document, findings)  # full-width digits, stray spaces: before the XSD
    _kind, reader = validated(document, findings, reader=reader)
    header, reader = read_header(document, reader)
    if header.institution != message.member:
        raise RecordError("record.author.mismatch", "author institution differs from the member",
                          field=f"/{header.type_name}/header/author/institution/@code")
    if header.patient is not None:
        findings.extend(_check_patient(header))
    normalized = normalizer_for(header.type_name, header.schema_version)(document, header, reader)
    findings.extend(quality.findings_of(header, normalized, received_at=message.received_at))
    if findings:  # most documents have none
        normalized.rows.extend(quality.finding_rows(findings))
    return NormalizedMessage(message, header, normalized, findings=findings)


def _check_patient(header: DocumentHeader) -> list[Finding]:
    """A resident ID failing its check digit or birth date is kept as an invalid identifier (a finding:
    the MPI never links on it, it matches the rest); only a patient with no identity at all is refused."""
    patient = header.patient
    findings = []
    residents = 0
    for kind, root, value in patient.identifiers:
        if kind == "resident_id":
            residents += 1
            if not mpi.is_valid_resident_id(value):
                findings.append(Finding("record.patient.id.invalid",
                                        f"/{header.type_name}/header/patient/id[@root='{root}']/@extension"))
    # two people's IDs: kept, neither trusted (a conflict needs two resident IDs: the everyday patient has one)
    conflict = mpi.resident_id_conflict(patient) if residents > 1 else None
    if conflict is not None:
        findings.append(Finding("record.patient.id.conflict",
                                f"/{header.type_name}/header/patient/id[@root='{conflict}']/@extension"))
    if not patient.identifiers and not (patient.name and patient.birth_date):
        raise RecordError("record.patient.invalid", "no identifier and not enough demographics",
                          field=f"/{header.type_name}/header/patient")
    return findings


def prepare_all(messages: list[Message]) -> dict[int, NormalizedMessage | HubError]:
    """The pure phase for a batch (no database): message row id → prepared document or its error."""
    outcome: dict[int, NormalizedMessage | HubError] = {}
    for message in messages:
        try:
            outcome[message.id] = prepare(message)
        except HubError as exc:
            outcome[message.id] = exc
        except Exception as exc:  # a normalizer bug on odd but valid input: reject, never crash the batch
            log.error("normalizer failure for message %s: %s", message.id, type(exc).__name__)
            outcome[message.id] = RecordError("record.schema.invalid", "document could not be normalized")
    return outcome


def store_prepared(session: Session, messages: list[Message], prepared: dict[int, NormalizedMessage | HubError], *,
                   now: datetime) -> BatchResult:
    """The database phase for ``messages`` (in order), in the session's transaction."""
    result = BatchResult()
    ready = []
    for message in messages:
        item = prepared[message.id]
        if isinstance(item, HubError):
            result.errors[message.id] = item
        else:
            item.message = message  # the claimed row (same id)
            item.reset()  # a retry after a failed attempt starts clean
            ready.append(item)
    if not ready:
        return result
    try:
        with session.begin_nested():
            _apply(session, ready, now=now, result=result)
        return result
    except (HubError, IntegrityError):
        pass
    for item in ready:  # isolate the failing message(s)
        item.reset()
        try:
            with session.begin_nested():
                _apply(session, [item], now=now, result=result)
        except HubError as exc:
            result.errors[item.message.id] = exc
    return result


def _apply(session: Session, batch: list[NormalizedMessage], *, now: datetime, result: BatchResult) -> None:
    current = _existing(session, batch)
    to_store: list[NormalizedMessage] = []
    cancelled: list[int] = []
    replaced: list[int] = []
    for item in batch:
        header = item.header
        key = (header.institution, header.id_root, header.document_id)
        if item.normalized.cancels is not None:
            target_key = (header.institution, *item.normalized.cancels)
            target = current.get(target_key)
            if target is None:
                raise RecordError("record.cancel.unknown", "cancelled document not stored",
                                  field="/Cancellation/body/target")
            if target["status"] != DocumentStatus.CANCELLED.value:
                target["status"] = DocumentStatus.CANCELLED.value
                if target["item"] is not None:  # written by this batch: write it as cancelled
                    target["item"].retracted = True
                if target["id"] is not None:
                    cancelled.append(target["id"])
            item.outcome = Outcome.CANCELLATION
        known = current.get(key)
        if known is not None and (known["version"] >= header.version or known["status"] == DocumentStatus.CANCELLED.value):
            item.outcome = Outcome.STALE  # an older or equal version, or a retracted document: ignored, audited
            continue
        if known is not None:
            item.outcome = Outcome.REPLACED
            if known["id"] is not None:
                replaced.append(known["id"])
        current[key] = {"id": known["id"] if known else None, "version": header.version,
                        "status": DocumentStatus.CURRENT.value, "item": item}
        to_store.append(item)
    _resolve_persons(session, to_store, now=now)
    _retract_rows(session, cancelled + replaced)
    if cancelled:
        session.execute(update(_DOCS).where(_DOCS.c.id.in_(cancelled))
                        .values(status=DocumentStatus.CANCELLED.value, updated_at=now))
    _write(session, _latest_only(to_store), {key: known["id"] for key, known in current.items()
                                              if known["id"] is not None}, now=now)
    audit_rows = []
    for item in batch:
        result.outcomes[item.message.id] = item.outcome
        if item.outcome is not Outcome.STORED:
            audit_rows.append(audit.event(f"record.{item.outcome.value}", member=item.message.member,
                                          message_id=item.message.message_id))
    audit.record_many(session, audit_rows)


def _existing(session: Session, batch: list[NormalizedMessage]) -> dict[tuple, dict]:
    keys = {(p.header.institution, p.header.id_root, p.header.document_id) for p in batch}
    keys |= {(p.header.institution, *p.normalized.cancels) for p in batch if p.normalized.cancels}
    return {key: {"id": stored.id, "version": stored.version, "status": stored.status, "item": None}
            for key, stored in records_sql.stored_documents(RawSql(session), sorted(keys))}


def _resolve_persons(session: Session, items: list[NormalizedMessage], *, now: datetime) -> None:
    with_patient = [item for item in items if item.header.patient is not None]
    if not with_patient:
        return
    resolutions = mpi.resolve_many(session, items=[(i.header.institution, i.header.patient) for i in with_patient],
                                   now=now)
    for item, resolution in zip(with_patient, resolutions):
        item.resolution = resolution


def _latest_only(items: list[NormalizedMessage]) -> list[NormalizedMessage]:
    """When one batch holds several versions of a document, only the newest is written."""
    latest: dict[tuple, NormalizedMessage] = {}
    for item in items:
        latest[(item.header.institution, item.header.id_root, item.header.document_id)] = item
    return list(latest.values())


def _retract_rows(session: Session, document_ids: list[int]) -> None:
    if document_ids:
        for table in _TABLES.values():
            session.execute(delete(table).where(table.c.document_ref.in_(document_ids)))


def _storage_type(column_type):
    """The type a column stores (a ``TypeDecorator`` such as ``UTCDateTime`` wraps its ``impl``)."""
    return getattr(column_type, "impl", column_type)


class _Converter:
    """Python values → what the driver stores for the ORM's column types (SQLite needs help).

    Only the columns whose type needs it (times, dates, amounts, flags) are touched; which those
    are is worked out once per table and column list. Documents repeat the same times and
    amounts on many rows, so conversions are remembered for the batch.
    """

    _TYPED = (DateTime, Date, Numeric, Boolean)

    def __init__(self, sql: RawSql):
        self.sqlite = sql.sqlite
        self._by_type = {datetime: sql.time, bool: int, Decimal: float,  # float: what Numeric binds on SQLite
                         date: date.isoformat}
        self._memo: dict = {}
        self._positions: dict[tuple[str, tuple[str, ...]], tuple[int, ...]] = {}

    def value(self, value):
        if not self.sqlite or value is None:
            return value
        key = (type(value), value)  # True == Decimal(1) == 1: keep types apart
        converted = self._memo.get(key)
        if converted is None:
            convert = self._by_type.get(key[0])
            converted = self._memo[key] = value if convert is None else convert(value)
        return converted

    def row(self, table: str, columns: tuple[str, ...], values) -> tuple:
        """``values`` for ``columns`` of ``table``, converted where the column type needs it."""
        if not self.sqlite:
            return tuple(values)
        positions = self._positions.get((table, columns))
        if positions is None:
            typed = _TABLES[table].c
            positions = self._positions[(table, columns)] = tuple(
                index for index, column in enumerate(columns)
                if isinstance(_storage_type(typed[column].type), self._TYPED))
        if not positions:
            return tuple(values)
        converted = list(values)
        for index in positions:
            converted[index] = self.value(converted[index])
        return tuple(converted)


def _key(item: NormalizedMessage) -> tuple[str, str, str]:
    return item.header.institution, item.header.id_root, item.header.document_id


def _write(session: Session, items: list[NormalizedMessage], stored: dict[tuple, int], *, now: datetime) -> None:
    """Document rows (insert or update in place: ``stored`` = key → id of the documents already
    there) and every normalized row, through the driver."""
    if not items:
        return
    sql = RawSql(session)
    convert = _Converter(sql)
    per_table: dict[tuple[str, tuple[str, ...]], list[tuple]] = {}
    documents: list[tuple[NormalizedMessage, tuple]] = []
    when = convert.value(now)
    for item in items:
        h, res = item.header, item.resolution
        person_id, record_id = (res.person_id, res.patient_record_id) if res else (None, None)
        status = (DocumentStatus.CANCELLED if item.retracted else DocumentStatus.CURRENT).value
        documents.append((item, (h.version, h.type_name, h.schema_version, convert.value(h.effective_time),
                                 h.practitioner_code, person_id, record_id, item.message.id, when, status)))
    refs = dict(stored)
    records_sql.update_documents(sql, [(*values, refs[_key(item)]) for item, values in documents
                                       if _key(item) in refs])
    refs.update(records_sql.insert_documents(sql, [(*_key(item), when, *values) for item, values in documents
                                                   if _key(item) not in refs]))
    for item, _values in documents:
        if item.retracted:
            continue
        h, res = item.header, item.resolution
        document_ref = refs[_key(item)]
        for table, row in item.normalized.rows:
            if table in PERSON_TABLES:
                if res is None:
                    raise RecordError("record.patient.invalid", "document type needs a patient",
                                      field=f"/{h.type_name}/header/patient")
                row = {**row, "person_id": res.person_id, "patient_record_id": res.patient_record_id}
            columns = tuple(row)
            per_table.setdefault((table, ("document_ref", "institution", *columns)), []).append(
                (document_ref, h.institution, *convert.row(table, columns, row.values())))
    for (table, columns), rows in per_table.items():
        records_sql.insert_rows(sql, table, columns, rows)


__all__ = ["Outcome", "NormalizedMessage", "BatchResult", "prepare", "prepare_all", "store_prepared"]
