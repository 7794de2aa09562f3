import glob, collections, sys
for f in sorted(glob.glob(sys.argv[1] + "/lock-*.txt")):
    by = collections.defaultdict(list); fails=collections.Counter()
    for l in open(f):
        p=l.split()
        if len(p)<5: continue
        if p[3]=='F': fails[p[4]]+=1; continue
        by[p[4]].append((float(p[0]), float(p[1])*1000, float(p[2])*1000))
    for name, rows in by.items():
        w=sorted(r[1] for r in rows); h=sorted(r[2] for r in rows); n=len(rows)
        span=rows[-1][0]-rows[0][0]
        print(f.split('/')[-1], name, n, "span %.0fs"%span, "wait p50 %.2f p99 %.1f max %.1f"%(w[n//2],w[int(n*.99)],w[-1]), "| hold p50 %.2f p90 %.1f p99 %.1f max %.1f sum %.1fs"%(h[n//2],h[int(n*.9)],h[int(n*.99)],h[-1],sum(h)/1000), "fails", fails[name])
