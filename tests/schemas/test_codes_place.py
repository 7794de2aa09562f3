"""Where imported codes live (docs/code-lists.md): in the hub's database, not in the installation's
``schemas/codes``. An upgrade that replaces the shipped lists keeps them, a second hub data directory does
not see them, and every process that validates or labels codes for the hub — the processor, the ETL —
follows them while it runs; a clinic's agent, which has only the shipped lists, is told apart."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from adapters.sources.base import SourceContext
from adapters.sources.canonical import canonical
from etl.jobs import run_incremental
from etl.transform import Pseudonymizer
from hub.cli.store import open_store
from hub.settings import Settings
from hub.store.db import make_engine, migrate, session_factory, transaction
from olap.schema.migrate import apply_schema
from protocol.timestamps import utcnow
from schemas import CODES_DIR
from schemas.terminology import codes as terminology_codes
from schemas.terminology import lookup
from tests.exchange.conftest import pki_dir  # noqa: F401  (fixture: a hub PKI)
from tests.support.documents import DOC_NS, document
from tests.support.inbox import Store
from tests.support.migrated import copy_migrated

D = f"{{{DOC_NS}}}"
ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("protocol", "schemas", "certs", "adapters", "hub", "etl", "olap", "region")
# As the national clinical version 2.0 and a regional drug catalogue are published (GBK, Chinese headers).
NATIONAL_ICD10 = "疾病编码,疾病名称\r\nR56,惊厥，不可归类在他处者\r\nR56.801,高热惊厥\r\n"
DRUG = {"code": "XJ01CAA040A001", "display": "阿莫西林胶囊", "atc": "J01CA04", "dosage_form": "胶囊剂"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """An installation of the hub in a directory of its own (its ``schemas`` a copy an upgrade may
    replace), and two hub data directories with a migrated database each."""
    base = tmp_path_factory.mktemp("install")
    install = base / "site"
    install.mkdir()
    for package in PACKAGES:
        if package == "schemas":
            shutil.copytree(ROOT / package, install / package, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (install / package).symlink_to(ROOT / package)
    for name in ("first", "second"):
        (base / name).mkdir()
        engine = make_engine(Settings(data_dir=base / name).db_url)
        migrate(engine)
        engine.dispose()
    (base / "icd10.csv").write_bytes(NATIONAL_ICD10.encode("gb18030"))
    return install, base / "first", base / "second", base / "icd10.csv"


def add(session, **rows):
    """``hub.codes.add``: what ``hie codes import`` writes (imported here so that, on a hub without it, each
    test fails on its own rather than the module)."""
    from hub.codes import add as add_codes

    return add_codes(session, **rows)


def _hie(install: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], cwd=install, env={"PYTHONPATH": str(install),
                          "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120)


def _icd10_line(install: Path, data_dir: Path) -> list[str]:
    listed = _hie(install, "codes", "list", "--data-dir", str(data_dir))
    assert listed.returncode == 0, listed.stderr
    return next(line for line in listed.stdout.splitlines() if line.startswith("icd10\t")).split("\t")


@pytest.mark.slow  # four `hie` processes: 8 s
def test_an_import_survives_an_upgrade_and_stays_with_its_hub(installed):
    install, first, second, national = installed
    shipped = (install / "schemas" / "codes" / "icd10.csv").read_bytes()
    done = _hie(install, "codes", "import", "--data-dir", str(first), "icd10", str(national))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("icd10: 2 codes added, 0 already listed")
    assert (install / "schemas" / "codes" / "icd10.csv").read_bytes() == shipped  # the installation untouched
    # an upgrade (or a reinstall) replaces the package's lists with its own
    shutil.rmtree(install / "schemas" / "codes")
    shutil.copytree(CODES_DIR, install / "schemas" / "codes")
    line = _icd10_line(install, first)
    assert line[2] == "2 imported" and line[4].endswith(f"icd10.csv + code_addition in {first / 'hub.db'}")
    assert _icd10_line(install, second)[2] == "0 imported"  # another hub's data directory: its own lists
    check = ("import sys; from hub.cli.store import open_store; from schemas.terminology import lookup\n"
             "for data_dir in sys.argv[1:]:\n"
             "    open_store(data_dir, None, create=False); concept = lookup('icd10', 'R56.801')\n"
             "    print(concept.display if concept else '-', concept.parent if concept else '-')\n")
    seen = subprocess.run([sys.executable, "-c", check, str(first), str(second)], cwd=install,
                          env={"PYTHONPATH": str(install)}, capture_output=True, text=True, timeout=120)
    assert seen.stdout.splitlines() == ["高热惊厥 R56", "- -"], seen.stderr


@pytest.fixture
def hub_store(request, db_url, olap, tmp_path, monkeypatch):
    """A hub's store opened as ``hie process`` and ``hie etl`` open it, with an empty mart; the lists are
    reread on every look-up (``REFRESH_S`` = 0) so the test needs no sleep."""
    copy_migrated(request, db_url)
    migrate(make_engine(db_url))
    monkeypatch.setattr(terminology_codes, "REFRESH_S", 0.0)
    sessions = open_store(tmp_path, db_url)
    apply_schema(olap)
    try:
        yield Store(sessions), olap
    finally:
        sessions.kw["bind"].dispose()


def _prescription(document_id: str):
    rx = document("Prescription", document_id=document_id)
    rx.find(f"{D}body/{D}item/{D}drug").set("code", DRUG["code"])
    rx.findall(f"{D}body/{D}diagnosis")[-1].set("code", "R56.801")
    return rx


def test_the_processor_and_the_etl_follow_an_import_without_a_restart(hub_store, db_url):
    store, mart = hub_store
    [before] = store.deliver(_prescription("RX-BEFORE"))
    store.process()
    assert store.outcome(before) == ("rejected", "record.code.unknown", "/Prescription/body/item[1]/drug/@code")
    # the import, as `hie codes import` writes it, from another process's connection
    other = session_factory(make_engine(db_url))
    with transaction(other) as session:
        add(session, system="drugs", rows=[DRUG], now=utcnow())
        add(session, system="icd10", rows=[{"code": "R56", "display": "惊厥", "parent": "", "level": "category"},
                                           {"code": "R56.801", "display": "高热惊厥", "parent": "R56",
                                            "level": "subcategory"}], now=utcnow())
    other.kw["bind"].dispose()
    [after] = store.deliver(_prescription("RX-AFTER"))
    store.process()
    assert store.outcome(after) == ("processed", None, None)  # the drug is known, the diagnosis verified
    run_incremental(store.sessions, mart, Pseudonymizer(b"etl-test-key-0123456789abcdef012"))
    drug = mart.query_df(f"SELECT name, category_code, is_antibiotic FROM dim_drug WHERE code = '{DRUG['code']}'")
    assert drug.to_dict("records") == [{"name": "阿莫西林胶囊", "category_code": "J", "is_antibiotic": 1}]
    diagnosis = mart.query_df("SELECT name, category_name, listed FROM dim_diagnosis WHERE code = 'R56.801'")
    assert diagnosis.to_dict("records") == [{"name": "高热惊厥", "category_name": "惊厥", "listed": 1}]


def test_a_clinic_agent_with_the_shipped_lists_sends_an_open_place_and_a_strict_one(hub_store):
    """The agent has only the lists it ships with (it opens no hub store), so it leaves codes to the hub:
    a diagnosis the hub imported is sent (an open place: kept, the hub verifies it), and so is a drug of the
    hub's imported catalogue (a strict place: the hub, which has the catalogue, decides; docs/code-lists.md)."""
    store, _mart = hub_store
    with transaction(store.sessions) as session:
        add(session, system="drugs", rows=[DRUG], now=utcnow())
    assert lookup("drugs", DRUG["code"]) is not None  # the hub's processes know it …
    terminology_codes.use_additions(None)  # … the clinic's agent process has only the shipped lists
    context = SourceContext(institution="CLINIC01")
    rx = document("Prescription", document_id="RX-AGENT")
    rx.findall(f"{D}body/{D}diagnosis")[-1].set("code", "R56.801")
    [sent] = canonical(etree.tostring(rx), context)
    assert sent.problem is None and sent.document is not None
    [catalogue_drug] = canonical(etree.tostring(_prescription("RX-AGENT-2")), context)
    assert catalogue_drug.problem is None and catalogue_drug.document is not None


def test_the_hubs_web_process_follows_an_import(tmp_path, pki_dir, monkeypatch):  # noqa: F811
    """``hie serve``'s workers (and the processor thread a single-process hub runs) open the hub with
    ``Hub.open``: their lists follow the imports too (the registry's code look-ups, the records stage)."""
    from hub.runtime import Hub

    monkeypatch.setattr(terminology_codes, "REFRESH_S", 0.0)
    settings = Settings(data_dir=tmp_path, pki_dir=pki_dir, start_processor=False)
    hub = Hub.open(settings)
    assert lookup("drugs", DRUG["code"]) is None
    other = session_factory(make_engine(settings.db_url))
    with transaction(other) as session:
        add(session, system="drugs", rows=[DRUG], now=utcnow())
    other.kw["bind"].dispose()
    assert lookup("drugs", DRUG["code"]).extra["atc"] == "J01CA04"
    hub.sessions.kw["bind"].dispose()


class _Database:
    """A stand-in for the hub's database as an additions source, which can be down (a fake only for the
    outage: the real source is exercised above)."""

    def __init__(self):
        self.up, self.rows = False, {"drugs": [DRUG]}

    def version(self):
        if not self.up:
            raise ConnectionError("database down")
        return len(self.rows["drugs"])

    def additions(self):
        return self.rows


def test_a_hub_started_while_its_database_is_down_gets_the_imports_as_soon_as_it_answers(monkeypatch):
    database = _Database()
    terminology_codes.use_additions(database)  # no exception: a hub may start with its database down
    assert lookup("drugs", DRUG["code"]) is None and lookup("icd10", "I10") is not None  # the shipped lists
    database.up = True
    assert lookup("drugs", DRUG["code"]) is not None  # asked again at once, not REFRESH_S later
    monkeypatch.setattr(terminology_codes, "REFRESH_S", 0.0)
    database.up = False
    assert lookup("drugs", DRUG["code"]) is not None  # down again: the lists read so far are kept
