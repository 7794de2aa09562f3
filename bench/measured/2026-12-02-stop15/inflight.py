"""CPU per SubmitDocument through the in-process ASGI front (no HTTP) by requests in flight (stop 15).

usage: python bench/measured/2026-12-02-stop15/inflight.py   (from the repository root)
Prints wall, user and system CPU per request for 1 and 16 requests in flight, two rounds.
``gaps.py`` and ``inflight-threads.py`` beside it use ``Front`` from here.
"""
import os, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository root
import bench.exchange as ex
from certs import init_pki, issue_member
from hub.runtime import Hub
from hub.settings import Settings
from hub.soap.asgi import SoapFront
from hub.soap.wsgi import GateMiddleware
from tests.support.asgi import post_all


class Front:
    """A hub on a temp SQLite database (no processor), its ASGI SOAP front, and fresh sealed requests."""

    def __init__(self):
        tmp = Path(tempfile.mkdtemp(prefix="hie-inflight-"))
        init_pki(tmp / "pki", hub_name="基准测试区域平台")
        for code in ex.MEMBERS:
            issue_member(tmp / "pki", org_code=code)
        ex._init_builder(str(tmp / "pki"), ex.MEMBERS, "http://127.0.0.1/soap/exchange")
        self.hub = Hub.open(Settings(data_dir=tmp, start_processor=False))
        self.front = SoapFront(self.hub, {"exchange": GateMiddleware(self.hub)},
                               max_body=self.hub.settings.max_message_bytes)
        self._serial = 0

    def requests(self, n: int) -> list[bytes]:
        """``n`` distinct signed + encrypted SubmitDocument requests."""
        raws = ex._build_chunk(("single", "inflight", self._serial, n, 1))
        self._serial += n
        return raws


def run(bench: Front, k: int, n: int = 300) -> None:
    raws = bench.requests(n)
    t0, w0 = os.times(), time.perf_counter()
    assert {status for status, _ in post_all(bench.front, raws, in_flight=k)} == {200}
    t1, wall = os.times(), time.perf_counter() - w0
    print(f"in_flight {k:2d}: wall {wall / n * 1e6:5.0f} user {(t1.user - t0.user) / n * 1e6:5.0f} "
          f"sys {(t1.system - t0.system) / n * 1e6:5.0f} us/req", flush=True)


if __name__ == "__main__":
    bench = Front()
    run(bench, 4, 50)  # warm-up
    for _ in range(2):
        for k in (1, 16):
            run(bench, k)
