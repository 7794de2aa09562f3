"""Processor write volume / lock hold per chunk size (stop 13). usage: python processor-chunks.py DIR PREFILL N K [K...]"""
import os, sys, time, hashlib, sqlite3, random
from datetime import datetime, timezone
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3]))  # the repository root
from hub.store.db import make_engine, sqlite_url, migrate, session_factory
from hub.exchange import processing
from bench.exchange import make_document

d = sys.argv[1]; prefill = int(sys.argv[2]); n = int(sys.argv[3]); ks = [int(k) for k in sys.argv[4:]]
os.makedirs(d, exist_ok=True)
path = os.path.join(d, "hub.db")
new = not os.path.exists(path)
engine = make_engine(sqlite_url(path))
if new:
    migrate(engine)
sessions = session_factory(engine)
serial = [0]
if not new:
    c = sqlite3.connect(path); serial[0] = c.execute("select count(*) from inbox_message").fetchone()[0]; c.close()

def add(count):
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA synchronous=OFF")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    c.execute("BEGIN")
    for _ in range(count):
        s = serial[0]; serial[0] += 1
        org = ("CLINIC01", "CLINIC02")[s % 2]
        doc = make_document("exp", s, org)
        raw = os.urandom(9000)
        cur = c.execute("INSERT INTO inbox_envelope (sha256, sender, cert_serial, wsa_message_id, action, received_at, client_address, raw) VALUES (?,?,?,?,?,?,?,?)",
                        (hashlib.sha256(raw).hexdigest(), org, "01", f"urn:uuid:{s}", "x", now, "127.0.0.1", raw))
        c.execute("INSERT INTO inbox_message (sender, message_id, envelope_id, item_index, document_type, document_sha256, document, status, error_code, received_at, updated_at, receipt) VALUES (?,?,?,?,?,?,?,?,NULL,?,?,?)",
                  (org, f"urn:uuid:{s}", cur.lastrowid, 0, "LabReport", hashlib.sha256(doc).hexdigest(), doc, "accepted", now, now, os.urandom(3000)))
        c.execute("INSERT INTO audit_event (at, event_type, outcome, actor_org, message_id) VALUES (?,?,?,?,?)", (now, "message.accept", "success", org, f"urn:uuid:{s}"))
    c.execute("COMMIT"); c.close()

def truncate():
    c = sqlite3.connect(path); r = c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone(); c.close(); return r

if prefill:
    t = time.time()
    for _ in range(prefill // 2000):
        add(2000); processing.process_pending(sessions, limit=2000, commit_every=500)
    truncate(); print(f"prefill {prefill} in {time.time()-t:.0f}s", flush=True)

holds = []
orig = processing._commit_chunk
def timed(*a, **kw):
    t = time.perf_counter(); r = orig(*a, **kw); holds.append(time.perf_counter() - t); return r
processing._commit_chunk = timed
processing.warm_up()
for k in ks:
    add(n); truncate(); holds.clear()
    t = time.perf_counter()
    done = processing.process_pending(sessions, limit=n, commit_every=k)
    el = time.perf_counter() - t
    wal = os.path.getsize(path + "-wal")
    holds.sort()
    print(f"K={k:4d} done={done} wal/doc={wal/done/1024:6.1f} KiB pages/doc={wal/4120/done:5.1f} "
          f"total={el:.2f}s chunk commit p50={holds[len(holds)//2]*1000:.1f}ms max={holds[-1]*1000:.1f}ms "
          f"per-doc={sum(holds)/done*1000:.3f}ms", flush=True)
