import sys, time
sys.path.insert(0, "/work/main/bench/measured/2026-12-02-stop15"); sys.path.insert(0, "/work/main")
from inflight import Front
from hub.soap import submit
b = Front(); hub = b.hub
G = int(sys.argv[1])
def req_major(raws):
    for r in raws:
        o = hub.gate.open(r); v = hub.gate.finish(o); submit.prepare(hub, v, client_address=None)
def stage_major(raws):
    os_ = [hub.gate.open(r) for r in raws]
    vs = [hub.gate.finish(o) for o in os_]
    for v in vs: submit.prepare(hub, v, client_address=None)
pool = b.requests(G * 40)
req_major(pool[:G]); stage_major(pool[G:2*G])
res = {"req": [], "stage": []}
i = 2
for rnd in range(19):
    for name, f in (("req", req_major), ("stage", stage_major)) if rnd % 2 else (("stage", stage_major), ("req", req_major)):
        raws = pool[i*G:(i+1)*G]; i += 1
        t = time.thread_time(); f(raws); res[name].append((time.thread_time() - t) / G * 1e6)
import statistics
for k, v in res.items():
    print(k, "median", round(statistics.median(v)), "min", round(min(v)), [round(x) for x in v])

from hub.wssec.xmlparse import parse_untrusted
from hub.wssec.request import open_request
from hub.wssec import encryption
from hub.exchange.gate import OpenedRequest, VerifiedMessage
from hub.wssec.timestamps import utcnow
import hashlib
def fine(raws):
    hs = [hashlib.sha256(r).hexdigest() for r in raws]
    roots = [parse_untrusted(r) for r in raws]
    now = utcnow()
    reqs = [open_request(root, trust=hub.gate.trust, policy=hub.gate.policy, now=now) for root in roots]
    pts = [encryption.decrypt(q.encrypted_data, q.encrypted_key, private_key=hub.gate.decryptor.private_key,
                              recipient=hub.gate.decryptor.certificate, policy=hub.gate.policy) for q in reqs]
    contents = [parse_untrusted(p) for p in pts]
    vs = [VerifiedMessage(request=q, operation="SubmitDocument", content=c, raw=r, envelope_sha256=h, received_at=now)
          for q, c, r, h in zip(reqs, contents, raws, hs)]
    for v in vs: submit.prepare(hub, v, client_address=None)
pool = b.requests(G * 30)
res = {"req": [], "stage": [], "fine": []}
i = 0
for rnd in range(9):
    for name, f in (("req", req_major), ("stage", stage_major), ("fine", fine)):
        raws = pool[i*G:(i+1)*G]; i += 1
        t = time.thread_time(); f(raws); res[name].append((time.thread_time() - t) / G * 1e6)
for k, v in res.items():
    print(k, "median", round(statistics.median(v)), "min", round(min(v)), [round(x) for x in v])
