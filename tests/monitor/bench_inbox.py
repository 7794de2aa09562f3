"""Time the monitor's reads on a big inbox (SQLite): ``python -m tests.monitor.bench_inbox [DIR] [ROWS]``.

Fills a migrated store with ROWS messages (default 1,000,000) over 92 days from 60 members (one
envelope per 10 messages, one ack reply each, an audit row per accept, 2% rejected in processing,
0.5% refused at the gate, the last 1,000 still pending), then prints each read's median of 3 runs
(warm cache) and SQLite's plan of the time-range reads. Not a test: run it by hand.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import text

from hub import monitor
from hub.registry import seed_demo
from hub.registry.actor import HUB_OPERATOR
from hub.registry.service import register_institution
from hub.store.db import make_engine, migrate, session_factory, transaction

DAYS = 92
MEMBERS = [f"CLINIC{n:03d}" for n in range(50)] + [f"HOSP{n:03d}" for n in range(10)]


def _time(value: datetime) -> str:
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")


def fill(url: str, rows: int, now: datetime) -> None:
    engine = make_engine(url)
    migrate(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        seed_demo(session)
        for index, code in enumerate(MEMBERS):
            register_institution(session, actor=HUB_OPERATOR, code=code, name=f"测试机构 {code}",
                                 kind="hospital" if code.startswith("HOSP") else "clinic",
                                 division_code="330102" if index % 2 else "330105")
    start = now - timedelta(days=DAYS)
    step = (now - start) / rows
    document, receipt = b"<d>" + b"x" * 600 + b"</d>", b"<r>" + b"y" * 300 + b"</r>"
    connection = engine.raw_connection()
    cursor = connection.cursor()
    batch, envelopes, messages, replies, audits = 50_000, [], [], [], []
    for row in range(rows):
        member = MEMBERS[(row * 7919) % len(MEMBERS)] if row % 997 else MEMBERS[0]
        received = start + step * row
        if row % 10 == 0:
            envelopes.append((row // 10 + 1, "e" * 64, member, "01", f"urn:uuid:req-{row}",
                              "urn:hie:exchange:v1:SubmitBatch", _time(received), b"<signed/>" * 50))
        pending = row >= rows - 1000
        rejected = row % 50 == 0 and not pending
        status = "accepted" if pending else ("rejected" if rejected else "processed")
        updated = received if pending else received + timedelta(seconds=2)
        message_id = f"urn:uuid:{member}-{row}"
        messages.append((row + 1, member, message_id, row // 10 + 1, row % 10, "OutpatientVisit", "d" * 64, document,
                         status, "record.code.unknown" if rejected else None, "/x/@code" if rejected else None,
                         _time(received), _time(updated), receipt))
        audits.append((_time(received), "message.accept", "success", None, member, message_id, "e" * 64))
        if rejected:
            audits.append((_time(updated), "message.reject", "failure", "record.code.unknown", member, message_id, None))
        if row % 200 == 0:
            audits.append((_time(received), "request.reject", "failure", "security.signature.invalid", member,
                           f"urn:uuid:refused-{row}", "f" * 64))
        if not pending:
            reply_id = f"reply-{int(updated.timestamp() * 1000):012x}{row:020x}"  # a UUIDv7's layout: time first
            replies.append((reply_id, member, "ack", message_id, b"<ack/>" * 20, _time(updated),
                            _time(updated + timedelta(minutes=5)), _time(updated + timedelta(minutes=6))))
        if len(messages) >= batch or row == rows - 1:
            cursor.executemany("INSERT INTO inbox_envelope (id, sha256, member, cert_serial, wsa_message_id, action, "
                               "received_at, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", envelopes)
            cursor.executemany("INSERT INTO inbox_message (id, member, message_id, envelope_id, item_index, "
                               "document_type, document_sha256, document, status, error_code, error_field, "
                               "received_at, updated_at, receipt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               messages)
            cursor.executemany("INSERT INTO audit_event (at, event_type, outcome, code, member, message_id, "
                               "envelope_sha256) VALUES (?, ?, ?, ?, ?, ?, ?)", audits)
            cursor.executemany("INSERT INTO outbox_reply (reply_id, member, kind, in_reply_to, content, created_at, "
                               "fetched_at, acked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", replies)
            connection.commit()
            envelopes, messages, replies, audits = [], [], [], []
    connection.close()
    engine.dispose()


def timed(label: str, read) -> None:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        answer = read()
        times.append((time.perf_counter() - started) * 1000)
    size = len(answer) if isinstance(answer, (list, dict)) else answer
    print(f"{label:<58} {statistics.median(times):8.1f} ms  ({size} rows)")


def main(directory: Path, rows: int) -> None:
    database = directory / "bench.db"
    now = datetime.now(timezone.utc).replace(microsecond=0)
    url = f"sqlite:///{database}"
    if not database.exists():
        started = time.perf_counter()
        fill(url, rows, now)
        print(f"filled {rows:,} messages in {time.perf_counter() - started:.0f} s ({database.stat().st_size >> 20} MiB)")
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions() as session:
        now = session.execute(text("SELECT max(received_at) FROM inbox_message")).scalar()
        now = datetime.fromisoformat(now).replace(tzinfo=timezone.utc) + timedelta(seconds=1)
        clinic = frozenset({MEMBERS[1]})
        rows = session.execute(text("SELECT count(*) FROM inbox_message")).scalar()
        known = f"urn:uuid:{MEMBERS[0]}-{rows // 2 // 997 * 997}"  # a message half-way through
        district = monitor.members_in(session, districts=frozenset({"330105"}), institutions=None)
        day, week, quarter = (now - timedelta(days=1), now - timedelta(days=7), now - timedelta(days=DAYS) + timedelta(hours=1))
        old = (now - timedelta(days=60), now - timedelta(days=59))
        for label, read in [
            ("traffic, 24 h hourly, all members", lambda: monitor.traffic(session, scope=None, since=day, until=now)),
            ("traffic, 24 h hourly, one clinic", lambda: monitor.traffic(session, scope=clinic, since=day, until=now)),
            ("traffic, 24 h hourly, a district (30 members)",
             lambda: monitor.traffic(session, scope=district, since=day, until=now)),
            ("traffic, 7 days daily, all members",
             lambda: monitor.traffic(session, scope=None, since=week, until=now, grain="day")),
            ("traffic, 92 days hourly, all members (the whole inbox)",
             lambda: monitor.traffic(session, scope=None, since=quarter, until=now)),
            ("traffic, one day two months ago, all members", lambda: monitor.traffic(session, scope=None, since=old[0],
                                                                                      until=old[1])),
            ("rejections, 24 h, all members", lambda: monitor.rejections(session, scope=None, since=day, until=now)),
            ("rejections, 7 days, a district", lambda: monitor.rejections(session, scope=district, since=week, until=now)),
            ("silent members, quiet 24 h, all", lambda: monitor.silent_members(session, scope=None, now=now,
                                                                              quiet_for=timedelta(hours=24))),
            ("backlog, all members", lambda: monitor.backlog(session, now=now)),
            ("journey, member given", lambda: monitor.journey(session, message_id=known,
                                                              scope=None, member=MEMBERS[0], since=week, until=now)),
            ("journey, no member, unscoped (loose index scan)",
             lambda: monitor.journey(session, message_id=known, scope=None, since=week, until=now)),
            ("journey, unknown MessageID, a district",
             lambda: monitor.journey(session, message_id="urn:uuid:nothing", scope=district, since=week, until=now)),
            ("etl runs", lambda: monitor.etl_runs(session, limit=20, now=now)),
        ]:
            timed(label, read)
        plan = session.connection().exec_driver_sql
        for label, sql, params in [
            ("traffic", "SELECT member, substr(received_at, 1, 13), status, count(*) FROM inbox_message "
                        "WHERE member IN (?, ?) AND received_at >= ? AND received_at < ? GROUP BY 1, 2, 3",
             (MEMBERS[0], MEMBERS[1], _time(day), _time(now))),
            ("refusals", "SELECT member, code, count(*) FROM audit_event WHERE outcome = 'failure' AND at >= ? "
                         "AND at < ? AND event_type IN ('request.reject', 'decrypt.fail') GROUP BY 1, 2",
             (_time(day), _time(now)))]:
            print(f"plan of {label}:", [tuple(row)[-1] for row in plan("EXPLAIN QUERY PLAN " + sql, params)])
    engine.dispose()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="hie-monitor-bench-")),
         int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
