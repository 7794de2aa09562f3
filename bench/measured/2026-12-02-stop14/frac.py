import sys, glob
for d in sys.argv[1:]:
    for f in sorted(glob.glob(d + "/open-*-series.tsv")):
        v = sorted(float(l.split()[1]) for l in open(f).readlines()[1:])
        n = len(v)
        print(f"{f.split('/')[-2]:6s} {f.split('/')[-1][:6]} p50 {v[n//2]:5.1f} p90 {v[int(n*.9)]:5.1f} p95 {v[int(n*.95)]:5.1f} p99 {v[int(n*.99)]:6.1f}  >20ms {sum(x>20 for x in v)/n*100:5.2f}%  >30ms {sum(x>30 for x in v)/n*100:5.2f}%  >50ms {sum(x>50 for x in v)/n*100:5.2f}%")
