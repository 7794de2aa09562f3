"""`hie demo` end to end, and `hie serve --tls --require-client-cert` with a real TLS handshake."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from adapters.client import HubClient
from adapters.errors import TransportError
from tests.support.migrated import copy_migrated
from tests.support.polling import QUICK_PROCESSOR

from .builders import sample_document

ROOT = Path(__file__).resolve().parents[2]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_demo_pushes_examples_and_gets_receipts(tmp_path):
    # The region of one month (the small one's residents and its last month, as `make demo` loads it):
    # every step of the demo runs, with a third of the small region's documents through the exchange.
    data_dir, log = tmp_path / "demo", tmp_path / "demo.stderr"
    with log.open("w") as stderr:  # a file, not a pipe: the hub's log must never block on a full pipe
        demo = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "demo", "--data-dir", str(data_dir),
                                 "--keep-serving", "--region", "month"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **QUICK_PROCESSOR})
    watchdog = threading.Timer(300, demo.kill)  # a demo that hangs silently must not hang the suite
    watchdog.start()
    try:
        lines = []
        deadline = time.monotonic() + 180
        for line in demo.stdout:  # until the demo says its hub keeps serving
            lines.append(line)
            assert time.monotonic() < deadline, "the demo took over 3 minutes"
            if "keeps serving" in line:
                break
        out = "".join(lines)
        assert "keeps serving" in out, log.read_text()[-2000:]
        console = _console_numbers(out)
    finally:
        demo.send_signal(signal.SIGINT)  # Ctrl-C: the demo stops its hub
        rest = demo.communicate(timeout=30)[0]
        watchdog.cancel()
    assert demo.returncode == 0, log.read_text()[-2000:]
    out += rest
    examples = len(list((ROOT / "schemas" / "examples").glob("*.xml")))
    # every example is accepted once, from its author institution
    assert len(re.findall(r"^  \w+\.xml +\w+ +accepted +sha256 [0-9a-f]{16}", out, re.M)) == examples
    assert "same receipt" in out
    assert len(re.findall(r"^  \w+\.xml +accepted$", out, re.M)) == 3  # the version-2 batch
    # normalization ran (in the separate processor process) and answered through the replies channel
    assert "1 rejected record.code.unknown /OutpatientVisit/body/department/@code" in out
    assert re.search(r"HOSP01 without a purpose of use: refused, access\.purpose\.required", out)
    assert re.search(r"HOSP01 with purpose 'referral': [1-9]\d* entries \(audited\)", out)
    # the clinic agent drained its HL7 v2 files, wrote the hub's replies, and quarantined the unmapped one
    agent = out[out.index("clinic agent"):]
    sent = int(re.search(r"pushed in \d+ request\(s\): accepted (\d+), rejected 0", agent).group(1))
    assert sent >= 6 and f"fetched {sent}, written {sent}, acknowledged {sent}" in agent
    assert (f"outbox now: queued 0, sent 0, accepted {sent}, accepted with findings 0, rejected 0, quarantined 1, "
            "waiting 0") in agent  # as pushed, before the acknowledgements
    # the lab report with a typed birth year and the discharge with a lower-case check x were kept, and the
    # agent lists what the hub found (a path, no value): it sends what the HIS typed, the hub normalizes
    assert re.search(rf"^    outbox +queued 0, sent 0, accepted {sent - 2}, accepted with findings 2, rejected 0, "
                     r"quarantined 1, waiting 0$", agent, re.M)
    findings = agent[agent.index("$ hie-agent findings"):agent.index("$ hie-agent quarantine")]
    assert re.search(r"\toru_r01_typed_birth_year\.hl7\tLabReport\t\S+\t\d+\trecord\.patient\.birth_date\.implausible\t"
                     r"/LabReport/header/patient/birthDate/@value\t", findings), findings
    assert "1072" not in findings
    assert re.search(r"\tadt_a03_inpatient_discharge_lf\.hl7\tInpatientStay\t\S+\t\d+\t"
                     r"record\.patient\.id\.normalized\t"
                     r"/InpatientStay/header/patient/id\[@root='2\.16\.156\.10011\.1\.3'\]/@extension\t",
                     findings), findings
    assert "19550930013" not in findings
    assert re.search(r"his-hl7\tbad_unknown_department\.hl7\t\S+\tsource\trecord\.code\.unknown\t"
                     r"/OutpatientVisit/body/department/@code", agent)
    # the hub's own ETL loaded the mart and the bureau's cube queries answer (small cells withheld)
    assert re.search(r"analytics \(the hub's ETL run \d+ loaded [1-9]\d* fact rows", out)
    assert re.search(r"CLINIC01 +messages +\d+ +rejected +1 ", out)
    # synthetic documents (through the exchange) fill the months' cells above the small-cell threshold
    assert re.search(r"^synthetic documents .*: 457 sent through SubmitBatch by 5 members: 300 OutpatientVisit, "
                     r"48 InpatientStay, 19 InstitutionMonthlyStats, 90 Immunization$", out, re.M)
    assert "acknowledged: 457 processed" in out
    assert re.search(r"per district, \d{4}-\d{2} \(POST /api/cubes/visits/query\): 3 cells, 0 withheld", out)
    districts = dict(re.findall(r"^    (3301\d\d) \S+ +visits +(\d+)  charge per visit ¥\d+\.\d\d$", out, re.M))
    assert set(districts) == {"330102", "330105", "330106"} and min(map(int, districts.values())) > 100
    institutions = re.findall(r"^    [A-Z]+\d\d \S+ +visits +(\d+)  charge per visit ¥\d+\.\d\d$", out, re.M)
    assert len(institutions) == 5 + 14 and sum(map(int, institutions)) == sum(map(int, districts.values()))
    # the synthetic region went through the exchange first (hie region load), then kept sending live
    assert re.search(r"^send +[1-9][\d,]* in [\d.]+ s \([\d,]+/s\); 15 member-months sent, 0 already sent before; "
                     r"refused at the door: none$", out, re.M)
    # ... with a hub of its own whose ETL waited for the end (one run), before the demo's hub started
    etl = re.search(r"^etl +[1-9][\d,]* in [\d.]+ s \([\d,]+/s\) fact rows written$", out, re.M)
    assert etl and etl.start() < out.index("hub up at ")
    assert "live traffic: the region's members send this month's visits" in out
    assert re.search(r"^stopped: live traffic sent \d+ documents$", out, re.M)
    # the console's URL and the demo logins, whose printed passwords sign in
    assert re.search(r"^bureau console: http://127\.0\.0\.1:\d+/console/$", out, re.M)
    logins = dict(re.findall(r"^  (demo\.[a-z0-9]+) +(\S{16}) +\w+ +(?:region|institution) \w+$", out, re.M))
    assert set(logins) == {"demo.city", "demo.district", "demo.operator", "demo.hosp01"}
    assert all(_signs_in(data_dir, username, password) for username, password in logins.items())
    assert not _signs_in(data_dir, "demo.city", logins["demo.district"])
    # the console, while the demo keeps serving, shows the numbers the demo printed (city analyst)
    assert console == {code: int(visits) for code, visits in districts.items()}
    # no processor process is left behind once the demo's hub is stopped
    deadline = time.monotonic() + 10
    while _processes_using(data_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _processes_using(data_dir)


def _console_numbers(out: str) -> dict[str, int]:
    """Sign in as the demo's city analyst; last month's 诊疗人次 per district from the dashboard's API."""
    base = re.search(r"^bureau console: (http://127\.0\.0\.1:\d+)/console/$", out, re.M).group(1)
    password = re.search(r"^  demo\.city +(\S+) ", out, re.M).group(1)
    month = re.search(r"per district, (\d{4})-(\d{2}) ", out)
    year, number = int(month.group(1)), int(month.group(2))
    last_day = date(year + number // 12, number % 12 + 1, 1) - timedelta(days=1)
    browser = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(f"{base}/console/login", timeout=30).text)
    signed_in = browser.post(f"{base}/console/login", timeout=30, allow_redirects=False,
                             data={"username": "demo.city", "password": password, "csrf_token": token.group(1)})
    assert signed_in.status_code == 303
    chart = browser.get(f"{base}/console/api/hospital/visits?unit=month&as_of={last_day}", timeout=60).json()
    assert chart["level"] == "institution.district" and not any(c["suppressed"]["current"] for c in chart["cells"])
    doses = browser.get(f"{base}/console/api/maternal/immunization?unit=month&as_of={last_day}", timeout=60).json()
    shown = {c["institution.district"]: c["doses"] for c in doses["cells"]}  # + the example's dose, in its month
    # the region's three districts; a small district's cell (and, against differencing, one more) is withheld
    assert set(shown) == {"330102", "330105", "330106"} and shown["330102"] >= 20, shown
    return {cell["code"]: cell["current"] for cell in chart["cells"]}


def _signs_in(data_dir: Path, username: str, password: str) -> bool:
    from hub.settings import Settings
    from hub.store.db import make_engine, session_factory
    from hub.web.console.users import check_password

    engine = make_engine(Settings.load(data_dir).db_url)
    try:
        with session_factory(engine)() as session:
            return check_password(session, username=username, password=password)[1] is None
    finally:
        engine.dispose()


def _processes_using(data_dir: Path) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"hub.cli.main" in args and str(data_dir).encode() in args:
            found.append(cmdline.parent.name)
    return found


@pytest.mark.slow
def test_tls_with_client_certificates(request, tmp_path, pki_dir, members, hub_paths):
    port = _port()
    copy_migrated(request, f"sqlite:///{tmp_path / 'hub.db'}")  # the hub starts without migrating
    env = {**os.environ, "HIE_PKI_DIR": str(pki_dir), "PYTHONPATH": str(ROOT)}
    hub = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "serve", "--data-dir", str(tmp_path), "--port", str(port),
                            "--tls", "--require-client-cert", "--etl-interval", "0"], cwd=ROOT, env=env, start_new_session=True,
                           stderr=subprocess.DEVNULL)
    member = pki_dir / "members" / "CLINIC01"
    client_cert = (str(member / "cert.pem"), str(member / "key.pem"))
    url = f"https://localhost:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + "/healthz", verify=str(hub_paths.ca_cert), cert=client_cert, timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline and hub.poll() is None, "TLS hub did not start"
                time.sleep(0.2)
        client = HubClient(url + "/soap/exchange", credentials=members["CLINIC01"], hub_cert=hub_paths.hub_enc_cert,
                           ca_cert=hub_paths.ca_cert, verify_tls=str(hub_paths.ca_cert), client_cert=client_cert)
        assert client.submit(sample_document("经 TLS 发送")).accepted
        # Without a client certificate the handshake is refused.
        anonymous = HubClient(url + "/soap/exchange", credentials=members["CLINIC01"], hub_cert=hub_paths.hub_enc_cert,
                              ca_cert=hub_paths.ca_cert, verify_tls=str(hub_paths.ca_cert))
        with pytest.raises(TransportError):
            anonymous.submit(sample_document())
        # And a client that does not trust the hub CA refuses the server.
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url + "/healthz", cert=client_cert, timeout=5)
    finally:
        os.killpg(hub.pid, signal.SIGTERM)
        hub.wait(timeout=15)
