"""CPU per request by thread (event loop, writer, sync) for 1 and 16 requests in flight (stop 15).

usage: python bench/measured/2026-12-02-stop15/inflight-threads.py   (from the repository root)
Reads each thread's utime/stime (clock ticks) from /proc/self/task before and after a run.
"""
import os, sys, threading, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from inflight import Front
from tests.support.asgi import post_all

TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


def thread_cpu() -> dict[str, tuple[int, int]]:
    names = {t.native_id: t.name for t in threading.enumerate()}
    out = {}
    for tid in os.listdir("/proc/self/task"):
        stat = open(f"/proc/self/task/{tid}/stat").read()
        fields = stat[stat.rindex(")") + 2:].split()
        out[names.get(int(tid), tid)] = (int(fields[11]), int(fields[12]))
    return out


if __name__ == "__main__":
    bench = Front()
    post_all(bench.front, bench.requests(50), in_flight=4)  # warm-up
    for k in (1, 16, 1, 16):
        n = 300
        raws = bench.requests(n)
        before, wall = thread_cpu(), time.perf_counter()
        post_all(bench.front, raws, in_flight=k)
        wall, after = time.perf_counter() - wall, thread_cpu()
        parts = [f"{name}: u{(after[name][0] - before.get(name, (0, 0))[0]) * TICK_US / n:.0f} "
                 f"s{(after[name][1] - before.get(name, (0, 0))[1]) * TICK_US / n:.0f}"
                 for name in after if after[name] != before.get(name)]
        print(f"k={k:2d} wall {wall / n * 1e6:.0f} us/req |", " | ".join(parts), flush=True)
