import os, sys, time, threading, statistics
d = sys.argv[1]; mode = sys.argv[2]; bg = sys.argv[3] == "bg"; dur = float(sys.argv[4]) if len(sys.argv) > 4 else 10
stop = False
def background():
    # like a checkpointer: copy ~12 MB/s into a growing file, fsync every 0.2 s
    fd = os.open(os.path.join(d, "db.bin"), os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    buf = os.urandom(4096) * int(os.environ.get("BGPAGES", "600"))
    while not stop:
        os.write(fd, buf); os.fsync(fd); time.sleep(0.2)
    os.close(fd)
t = None
if bg:
    t = threading.Thread(target=background); t.start()
path = os.path.join(d, "wal.bin")
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
ring = 8 << 20
if mode == "ring":
    os.write(fd, b"\0" * ring); os.fsync(fd)
rec = os.urandom(24 * 1024)  # ~ one loop turn of a few docs
lat = []; off = 0
end = time.time() + dur
while time.time() < end:
    if mode == "ring":
        if off + len(rec) > ring: off = 0
        os.pwrite(fd, rec, off)
    else:
        os.write(fd, rec)
    off += len(rec)
    t0 = time.perf_counter(); os.fdatasync(fd); lat.append((time.perf_counter() - t0) * 1000)
    time.sleep(0.01)
stop = True
if t: t.join()
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"{mode:6} bg={bg} n={len(lat)} p50={q(.5):.2f} p95={q(.95):.2f} p99={q(.99):.2f} max={lat[-1]:.1f} ms; >50ms: {sum(x > 50 for x in lat)}")
