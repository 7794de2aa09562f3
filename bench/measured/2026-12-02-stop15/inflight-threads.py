exec(open('bench/measured/2026-12-02-stop15/inflight.py').read().split('run(4, 50)')[0].replace('Path(__file__).resolve().parents[3]', 'str(Path.cwd())'))
import threading
def tcpu():
    out={}
    names={t.native_id:t.name for t in threading.enumerate()}
    for t in os.listdir('/proc/self/task'):
        st=open(f'/proc/self/task/{t}/stat').read(); f=st[st.rindex(')')+2:].split()
        out[names.get(int(t),t)]=(int(f[11]),int(f[12]))
    return out
run(4,50)
for k in (1,16,1,16):
    n=300; raws = ex._build_chunk(("single", "ift", serial[0], n, 1)); serial[0] += n
    a=tcpu(); w=time.perf_counter(); post_all(front, raws, in_flight=k); w=time.perf_counter()-w; b=tcpu()
    parts=[f"{name}: u{(b[name][0]-a.get(name,(0,0))[0])*10000/n:.0f} s{(b[name][1]-a.get(name,(0,0))[1])*10000/n:.0f}" for name in b if b[name]!=a.get(name)]
    print(f"k={k:2d} wall {w/n*1e6:.0f} us/req |", " | ".join(parts))
