"""CPU per lone SubmitDocument (in-process ASGI front, no HTTP) by the idle gap between requests (stop 15).

usage: python bench/measured/2026-12-02-stop15/gaps.py   (from the repository root)
The same requests, one at a time, with 0, 2, 5, 10 and 20 ms of idle time between them:
if the CPU time per request grows with the gap, what it pays for is a cold core, not work.
"""
import asyncio, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from inflight import Front
from tests.support.asgi import post


def run(bench: Front, gap_ms: int, n: int = 200) -> None:
    raws = bench.requests(n)

    async def go():
        cpu = 0.0
        for raw in raws:
            t0 = time.process_time()
            status, _ = await post(bench.front, raw)
            cpu += time.process_time() - t0
            assert status == 200
            if gap_ms:
                await asyncio.sleep(gap_ms / 1000)
        return cpu

    cpu = asyncio.run(go())
    print(f"gap {gap_ms:2d} ms: CPU {cpu / n * 1e6:5.0f} us/request", flush=True)


if __name__ == "__main__":
    bench = Front()
    run(bench, 0, 50)  # warm-up
    for _ in range(2):
        for gap in (0, 2, 5, 10, 20):
            run(bench, gap)
