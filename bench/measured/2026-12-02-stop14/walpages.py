"""Which b-trees the WAL frames of a step belong to. usage: walpages.py DB N K"""
import os, sys, struct, sqlite3, collections, importlib.util
sys.path.insert(0, "/work/main")
spec = importlib.util.spec_from_file_location("pc", "/dev/null")
path = sys.argv[1]; n = int(sys.argv[2]); k = int(sys.argv[3])
from hub.store.db import make_engine, sqlite_url, session_factory
from hub.exchange import processing
import hashlib
from datetime import datetime, timezone
from bench.exchange import make_document
keeper = sqlite3.connect(path); keeper.execute('select 1 from inbox_message limit 1').fetchall()
engine = make_engine(sqlite_url(path)); sessions = session_factory(engine)
c = sqlite3.connect(path); serial = [c.execute("select max(id) from inbox_message").fetchone()[0] + 1000000]; c.close()

def frames():
    data = open(path + "-wal", "rb").read()
    ps = 4096; out = []
    off = 32
    while off + 24 <= len(data):
        pg, commit = struct.unpack(">II", data[off:off+8]); out.append(pg); off += 24 + ps
    return out

def truncate():
    c = sqlite3.connect(path); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.close()

def attribute(label, count):
    pages = frames()
    c = sqlite3.connect(path)
    names = dict(c.execute("select pageno, name || case when pagetype='overflow' then ' (overflow)' else '' end from dbstat").fetchall())
    c.close()
    tally = collections.Counter(names.get(p, "page1/freelist/new" if p != 1 else "page1") for p in pages)
    uniq = collections.Counter(names.get(p, "page1/freelist/new") for p in set(pages))
    print(f"== {label}: {len(pages)} frames, {len(pages)/count:.1f} frames/doc, {len(set(pages))/count:.1f} distinct pages/doc")
    for name, m in tally.most_common(25):
        print(f"  {name:45s} {m/count:6.2f} frames/doc  {uniq[name]/count:6.2f} distinct/doc")

def add(count, group):
    c = sqlite3.connect(path, isolation_level=None)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    for g in range(0, count, group):
        c.execute("BEGIN IMMEDIATE")
        for _ in range(group):
            s = serial[0]; serial[0] += 1
            org = ("CLINIC01", "CLINIC02")[s % 2]
            doc = make_document("exp", s, org)
            raw = os.urandom(9000)
            cur = c.execute("INSERT INTO inbox_envelope (sha256, sender, cert_serial, wsa_message_id, action, received_at, client_address, raw) VALUES (?,?,?,?,?,?,?,?)",
                            (hashlib.sha256(raw).hexdigest(), org, "01", f"urn:uuid:{s}", "x", now, "127.0.0.1", raw))
            c.execute("INSERT INTO inbox_message (sender, message_id, envelope_id, item_index, document_type, document_sha256, document, status, error_code, received_at, updated_at, receipt) VALUES (?,?,?,?,?,?,?,?,NULL,?,?,?)",
                      (org, f"urn:uuid:{s}", cur.lastrowid, 0, "LabReport", hashlib.sha256(doc).hexdigest(), doc, "accepted", now, now, os.urandom(3000)))
            c.execute("INSERT INTO audit_event (at, event_type, outcome, actor_org, message_id) VALUES (?,?,?,?,?)", (now, "message.accept", "success", org, f"urn:uuid:{s}"))
        c.execute("COMMIT")
    c.close()

processing.warm_up()
truncate(); add(n, 2); attribute(f"intake, groups of 2", n)
truncate()
done = processing.process_pending(sessions, limit=n, commit_every=k)
attribute(f"processor K={k}", done)
