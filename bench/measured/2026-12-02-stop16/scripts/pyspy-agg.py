import sys, collections, re
incl = collections.Counter(); selfc = collections.Counter(); total = 0
for line in open(sys.argv[1]):
    line = line.rstrip()
    if not line: continue
    stack, _, n = line.rpartition(' ')
    n = int(n)
    frames = stack.split(';')
    # only the main thread (event loop)
    if 'MainThread' not in frames[0] and 'process' not in frames[0]:
        pass
    total += n
    seen = set()
    for f in frames:
        key = re.sub(r':\d+\)', ')', f)  # drop line numbers
        if key not in seen:
            incl[key] += n; seen.add(key)
    selfc[re.sub(r':\d+\)', ')', frames[-1])] += n
print("total", total)
for k, v in incl.most_common(int(sys.argv[2]) if len(sys.argv) > 2 else 60):
    print(f"{100*v/total:5.1f}  {k[:150]}")
print("--- self")
for k, v in selfc.most_common(30):
    print(f"{100*v/total:5.1f}  {k[:150]}")
