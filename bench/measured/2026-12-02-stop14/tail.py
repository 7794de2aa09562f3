"""Line up the open loop's slowest requests with the hub's lock holds, syncs and checkpoints.
usage: tail.py DIR [threshold_ms]"""
import glob, sys, collections, os
d = sys.argv[1]
series = [tuple(map(float, l.split())) for l in open(glob.glob(d + "/open-*-series.tsv")[0]).readlines()[1:]]
lat = sorted(ms for _, ms in series)
thr = float(sys.argv[2]) if len(sys.argv) > 2 else lat[int(len(lat) * 0.99)]
events = []  # (start, end, kind)
for f in glob.glob(d + "/lock-*.txt"):
    pid = f.split("-")[-1][:-4]
    for l in open(f):
        p = l.split()
        if len(p) < 5: continue
        t, a, b, k, th = float(p[0]), float(p[1]), float(p[2]), p[3], p[4]
        if k == "H":
            start = t + a
            kind = "restart" if "checkpoint" in th else ("processor" if "processor" in th else f"w{pid}:{th[:4]}")
            events.append((start, start + b, kind))
        elif k == "S":
            events.append((t, t + b, f"sync"))
        elif k == "P":
            events.append((t, t + b, f"passive"))
events.sort()
t0 = series[0][0]; t1 = series[-1][0]
span = t1 - t0
# share of time each kind is active during the phase
share = collections.defaultdict(float); cnt = collections.Counter(); mx = collections.defaultdict(float)
for s, e, k in events:
    if t0 <= s <= t1:
        kk = "worker" if k.startswith("w") else k
        share[kk] += e - s; cnt[kk] += 1; mx[kk] = max(mx[kk], e - s)
print(f"{len(series)} requests over {span:.1f}s, p50 {lat[len(lat)//2]:.1f} p99 {lat[int(len(lat)*.99)]:.1f} max {lat[-1]:.1f} ms; threshold {thr:.1f} ms")
for k in sorted(share):
    print(f"  {k:10s} n={cnt[k]:5d} busy {share[k]/span*100:5.1f}%  max {mx[k]*1000:6.1f} ms")
slow = [(due, ms) for due, ms in series if ms >= thr]
# clustering: slow requests within 100 ms of each other
clusters = []
for due, ms in slow:
    if clusters and due - clusters[-1][-1][0] < 0.1: clusters[-1].append((due, ms))
    else: clusters.append([(due, ms)])
print(f"{len(slow)} slow requests in {len(clusters)} clusters")
import bisect
starts = [e[0] for e in events]
blame = collections.Counter()
for c in clusters:
    a = c[0][0]; b = max(due + ms / 1000 for due, ms in c)
    i = bisect.bisect_left(starts, a - 0.3)
    over = [e for e in events[i:] if e[0] < b and e[1] > a]
    big = [(k, round((e - s) * 1000, 1), round((s - a) * 1000)) for s, e, k in over if (e - s) > 0.008]
    print(f"t={a - t0:6.2f}s n={len(c):3d} max {max(ms for _, ms in c):6.1f} ms window {(b - a) * 1000:5.0f} ms | long events (kind, ms, start rel ms): {big[:8]}")
