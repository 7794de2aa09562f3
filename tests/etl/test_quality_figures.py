"""Data-quality figures on known data (docs/data-quality.md, "Figures"): documents with known defects go
through the real processor, the ETL loads them, and the ``data_quality`` cubes answer each figure exactly;
a new version of a document replaces its findings' facts and a cancellation removes them. On SQLite × chDB
and PostgreSQL × a ClickHouse server; the tests that only read share one load per module and pair."""
from __future__ import annotations

import copy
from datetime import timedelta
from types import SimpleNamespace

import pytest

from etl.facts import INVALID_RESIDENT_ID
from hub.records.models import RecordDocument
from hub.store.db import transaction
from olap.cubes import execute, parse_query
from protocol.timestamps import utcnow
from tests.support.documents import document

V = "{urn:hie:doc:v1}"
CHINA = timedelta(hours=8)
# synthetic persons: valid resident IDs (GB 11643 check digits), or none at all
WANG = {"resident_id": "330106196804120022", "name": "王秀英", "sex": "2", "birth_date": "1968-04-12"}
LI = {"resident_id": "11010519491231002X", "name": "李建国", "sex": "1", "birth_date": "1949-12-31"}
ZHAO = {"health_record_no": "330106001000777", "name": "赵小明", "sex": "1", "birth_date": "1990-05-01"}
QIAN = {"health_record_no": "330106001000888", "name": "钱多多", "sex": "2", "birth_date": "1013-11-13"}
# WANG's resident ID with its check character mistyped: the store keeps it with record.patient.id.invalid
WANG_MISTYPED = dict(WANG, resident_id="330106196804120023")
BIRTH_DATE = "record.patient.birth_date.implausible"


def _at(doc, hours_ago: float):
    """``doc`` with its effective time (and visit time) ``hours_ago`` before now, China time."""
    when = (utcnow() - timedelta(hours=hours_ago) + CHINA).replace(tzinfo=None).isoformat(timespec="seconds") + "+08:00"
    doc.find(f"{V}header/{V}effectiveTime").set("value", when)
    for element in doc.iter(f"{V}visitTime"):
        element.set("value", when)
    return doc


def _visit(document_id: str, patient: dict, hours_ago: float, *, coded: bool = True, charged: bool = True,
           version: int = 1):
    doc = _at(document("OutpatientVisit", document_id=document_id, patient=patient, version=version), hours_ago)
    if not coded:
        for diagnosis in doc.iter(f"{V}diagnosis"):
            diagnosis.set("primary", "false")
    if not charged:
        for charge in doc.iter(f"{V}charge"):
            charge.set("amount", "0.00")
    return doc


def _stats(period: str, visits: int):
    doc = _at(document("InstitutionMonthlyStats", document_id=f"STAT-{period}"), 1)
    doc.find(f"{V}body/{V}period").set("value", period)
    doc.find(f"{V}body/{V}outpatientVisits").text = str(visits)
    return doc


def _ask(etl, cube: str, *, measures=(), indicators=(), group_by=("institution.institution",), days: int = 10):
    today = (utcnow() + CHINA).date()
    body = {"measures": list(measures), "indicators": list(indicators), "group_by": list(group_by),
            "period": {"from": (today - timedelta(days=days)).isoformat(), "to": today.isoformat()}}
    return execute(etl.mart, parse_query(cube, body, today=today))["cells"]


N = 5  # each defect five times: every count of documents is 0 or at least 5, so nothing is withheld


def _load_known(etl) -> SimpleNamespace:
    """Five of each of five kinds of visits and of a lab report of CLINIC01, with known defects, one
    rejected message, and the clinic's monthly statistics for the months the documents fall in."""
    ids = etl.deliver(*[doc for k in range(N) for doc in (
        _visit(f"V-1-{k}", WANG, 2),                          # complete, 2 h late
        _visit(f"V-2-{k}", ZHAO, 30, coded=False),            # no resident ID, no primary diagnosis, 30 h
        _visit(f"V-3-{k}", LI, 50, charged=False),            # no charges, 50 h
        _visit(f"V-4-{k}", QIAN, 100),                        # no resident ID, implausible birth date, 100 h
        _visit(f"V-5-{k}", WANG_MISTYPED, 3),                 # resident ID failing its check, 3 h
        _at(document("LabReport", document_id=f"L-{k}", patient=LI), 1))])
    refused = etl.deliver(b"<OutpatientVisit xmlns='urn:hie:doc:v1'/>")
    today = (utcnow() + CHINA).date()
    months = sorted({(today - timedelta(days=days)).strftime("%Y-%m") for days in range(0, 6)})
    statistics = etl.deliver(*[_stats(month, 40 if month == months[-1] else 0) for month in months])
    etl.run()
    return SimpleNamespace(etl=etl, refused=refused[0], messages=len(ids) + 1 + len(statistics),
                           statistics=len(statistics))


# Every figure is SQL on both sides (the OLTP reader's, the mart's cubes): each test runs on the embedded
# default (SQLite × chDB) and the server pair (PostgreSQL × ClickHouse server), not on the cross product.
@pytest.fixture
def etl(etl_dialects):
    return etl_dialects


@pytest.fixture
def known(etl) -> SimpleNamespace:
    """The known documents in a store and mart of the test's own, for a test that adds to them."""
    return _load_known(etl)


@pytest.fixture(scope="module")
def loaded(module_etl) -> SimpleNamespace:
    """The known documents loaded once per module and dialect pair, for the tests that only read."""
    return _load_known(module_etl)


def test_each_figure_on_known_documents(loaded):
    etl, known = loaded.etl, loaded
    rejected_code = etl.store.outcome(known.refused)[1]
    [cell] = _ask(etl, "data_quality", measures=(
        "documents", "patient_documents", "resident_id_present", "resident_id_valid", "linked_valid", "visits",
        "coded_visits", "charged_visits", "within_24h", "within_72h", "median_lateness_hours"),
        indicators=("resident_id_rate", "coded_diagnosis_rate", "charges_rate", "within_24h_rate",
                    "within_72h_rate", "linkage_rate", "findings_per_1000", "rejections_per_1000"), days=6)
    # the statistics documents (no patient, 1 h late) count as documents
    stats = known.statistics
    assert cell["documents"] == 6 * N + stats and not cell["suppressed"]
    assert cell["patient_documents"] == 6 * N
    assert cell["resident_id_present"] == 4 * N      # V-1, V-3, V-5 (invalid), L
    assert cell["resident_id_valid"] == 3 * N        # V-5's are marked invalid
    assert cell["resident_id_rate"] == pytest.approx(50.0)
    assert cell["linked_valid"] == 4 * N             # WANG (V-1, V-5) and LI (V-3, L) hold a valid ID
    assert cell["linkage_rate"] == pytest.approx(400 / 6)
    assert (cell["visits"], cell["coded_visits"], cell["charged_visits"]) == (5 * N, 4 * N, 4 * N)
    assert cell["coded_diagnosis_rate"] == pytest.approx(80.0) and cell["charges_rate"] == pytest.approx(80.0)
    # arrival: now; lateness 1 (L), 2, 3, 30, 50, 100 h, and 1 h for the statistics
    assert cell["within_24h"] == 3 * N + stats and cell["within_72h"] == 5 * N + stats
    assert cell["within_24h_rate"] == pytest.approx(100 * (3 * N + stats) / cell["documents"])
    assert cell["median_lateness_hours"] == pytest.approx(3.0, abs=0.05)  # 1 (7-8x), 2 (5x), 3 (5x), 30 … 100
    # findings: V-4's birth dates, V-5's invalid resident IDs
    assert cell["findings_per_1000"] == pytest.approx(2 * N * 1000 / cell["documents"])
    assert cell["rejections_per_1000"] == pytest.approx(1000 / known.messages)  # one refused of all received
    [rejection] = _ask(etl, "data_quality_rejections", measures=("rejections",),
                       indicators=("per_1000_messages",), group_by=("institution.institution", "rejection.code"),
                       days=6)
    assert rejection["rejection.code"] == rejected_code and rejection["rejections"] == 1
    assert rejection["per_1000_messages"] == pytest.approx(cell["rejections_per_1000"])


def test_a_small_count_of_documents_withholds_its_cell(etl, known):
    """A count of documents meeting a condition is person-level as the others' are: 1-4 withholds the
    cell (and, by the complementary rule, the one other cell beside it), whatever its denominator."""
    clinic = [_visit(f"C2-{k}", LI if k < 3 else ZHAO, 2) for k in range(8)]  # 3 valid resident IDs of 8
    for doc in clinic:
        doc.find(f"{V}header/{V}author/{V}institution").set("code", "CLINIC02")
    etl.deliver(*clinic, member="CLINIC02")
    etl.run()
    cells = {c["institution.institution"]: c for c in _ask(
        etl, "data_quality", measures=("patient_documents", "resident_id_valid"), indicators=("resident_id_rate",),
        days=6)}
    assert cells["CLINIC02"]["suppressed"] and cells["CLINIC02"]["resident_id_rate"] is None
    assert cells["CLINIC01"]["suppressed"]  # else the region's total less CLINIC01's would give CLINIC02's
    charges = {c["institution.institution"]: c for c in _ask(etl, "data_quality", indicators=("charges_rate",),
                                                             days=6)}
    assert charges["CLINIC02"]["charges_rate"] == pytest.approx(100.0) and not charges["CLINIC02"]["suppressed"]


def test_a_document_with_two_valid_resident_ids_counts_as_present_not_valid(etl, known):
    """Two different valid resident IDs in one document (``record.patient.id.conflict``): neither is
    trusted, so the document has a resident ID sent but not a valid one, like a mistyped check digit."""
    clinic = []
    for k in range(N):
        doc = _visit(f"C2-ID-{k}", LI, 2)
        doc.find(f"{V}header/{V}author/{V}institution").set("code", "CLINIC02")
        first = doc.find(f"{V}header/{V}patient/{V}id")
        second = copy.deepcopy(first)
        second.set("extension", WANG["resident_id"])
        first.addnext(second)
        clinic.append(doc)
    etl.deliver(*clinic, member="CLINIC02")
    etl.run()
    cells = {c["institution.institution"]: c for c in _ask(
        etl, "data_quality", measures=("patient_documents", "resident_id_present", "resident_id_valid"), days=6)}
    assert (cells["CLINIC02"]["patient_documents"], cells["CLINIC02"]["resident_id_present"],
            cells["CLINIC02"]["resident_id_valid"]) == (N, N, 0)


def test_median_lateness_of_the_visits_and_small_cells_withheld(loaded):
    etl = loaded.etl
    cells = _ask(etl, "data_quality", measures=("documents", "median_lateness_hours"),
                 indicators=("within_24h_rate",), group_by=("institution.institution", "document.type"), days=6)
    by_type = {c["document.type"]: c for c in cells}
    visits = by_type["OutpatientVisit"]
    assert visits["documents"] == 5 * N and not visits["suppressed"]
    assert visits["median_lateness_hours"] == pytest.approx(30.0, abs=0.05)  # of 2, 3, 30, 50, 100 h (5x each)
    assert visits["within_24h_rate"] == pytest.approx(40.0)
    statistics = by_type["InstitutionMonthlyStats"]  # one or two documents: their figures are withheld
    assert statistics["suppressed"] and statistics["median_lateness_hours"] is None
    assert statistics["within_24h_rate"] is None
    # and so is the next smallest cell (five lab reports), else subtraction would give the statistics away
    assert by_type["LabReport"]["suppressed"]


def test_findings_by_code_and_dimension(loaded):
    etl = loaded.etl
    cells = _ask(etl, "data_quality_findings", measures=("findings",), indicators=("per_1000_documents",),
                 group_by=("institution.institution", "finding.dimension", "finding.code"), days=6)
    found = {(c["finding.dimension"], c["finding.code"]): c for c in cells}
    assert set(found) >= {("validity", BIRTH_DATE)}
    assert {code for _, code in found} == {BIRTH_DATE, INVALID_RESIDENT_ID}
    documents = _ask(etl, "data_quality", measures=("documents",), days=6)[0]["documents"]
    assert found[("validity", BIRTH_DATE)]["findings"] == N
    assert found[("validity", INVALID_RESIDENT_ID)]["findings"] == N
    assert found[("validity", BIRTH_DATE)]["per_1000_documents"] == pytest.approx(N * 1000 / documents)


def test_visits_counted_against_the_monthly_statistics(loaded):
    etl = loaded.etl
    today = (utcnow() + CHINA).date()
    cells = _ask(etl, "data_quality", measures=("visits", "institution_month.reported_visits"),
                 indicators=("visits_vs_reported",), group_by=("institution.institution", "date.month"), days=6)
    by_month = {c["date.month"]: c for c in cells}
    this_month = today.strftime("%Y-%m")
    counted = sum(c["visits"] for c in cells)
    assert counted == 5 * N and sum(c["institution_month.reported_visits"] for c in cells) == 40
    cell = by_month[this_month]
    if cell["visits"] == 5 * N:  # every visit fell in this month: ratio and gap of the month
        assert cell["visits_vs_reported"] == pytest.approx(100 * 5 * N / 40)
        assert abs(cell["institution_month.reported_visits"] - cell["visits"]) == 40 - 5 * N


def test_a_new_version_replaces_the_findings_and_a_cancellation_removes_them(etl, known):
    assert set(etl.live("fact_finding", "code")["code"]) == {BIRTH_DATE, INVALID_RESIDENT_ID}
    fixed = dict(QIAN, birth_date="2013-11-13")
    etl.deliver(*[_visit(f"V-4-{k}", fixed, 100, version=2) for k in range(N)])
    etl.run()
    assert set(etl.live("fact_finding", "code")["code"]) == {INVALID_RESIDENT_ID}
    assert int(etl.live("fact_document_quality", "findings")["findings"].sum()) == N
    cancellations = []
    for k in range(N):
        cancellation = document("Cancellation", document_id=f"C-{k}")
        cancellation.find(f"{V}body/{V}target").set("extension", f"V-5-{k}")
        cancellations.append(cancellation)
    etl.deliver(*cancellations)
    etl.run()
    assert etl.count("fact_finding") == 0
    assert int(etl.live("fact_document_quality", "visits")["visits"].sum()) == 4 * N  # V-5 are gone
    assert "Cancellation" not in set(etl.live("fact_document_quality", "document_type")["document_type"])
    [cell] = _ask(etl, "data_quality", measures=("documents", "document_findings"), days=6)
    assert (cell["documents"], cell["document_findings"]) == (5 * N + known.statistics, 0)


def test_a_quality_fact_traces_back_to_its_document_and_message(loaded):
    etl = loaded.etl
    from etl.lineage import lineage

    document_key = etl.live("fact_document_quality", "fact_key", "document_type = 'LabReport'")["fact_key"].iloc[0]
    finding_key = etl.live("fact_finding", "fact_key")["fact_key"].iloc[0]
    with etl.store.sessions() as session:
        for key in (document_key, finding_key):
            traced = lineage(session, key)
            assert traced["found"] and traced["institution"] == "CLINIC01", key
            assert traced["document"]["institution"] == "CLINIC01" and traced["message"]["status"] == "processed"


def test_a_merge_into_a_person_with_a_valid_resident_id_links_the_merged_documents(etl):
    from hub.mpi.merge import merge

    ids = etl.deliver(_visit("M-1", ZHAO, 2), _visit("M-2", WANG, 2))
    etl.run()
    flags = etl.live("fact_document_quality", "message_row_id, linked_valid")
    assert dict(zip(flags["message_row_id"].astype(int), flags["linked_valid"].astype(int))) == {ids[0]: 0, ids[1]: 1}
    with etl.store.sessions() as session:
        persons = {row.message_row_id: row.person_id for row in session.query(RecordDocument)}
    with transaction(etl.store.sessions) as session:
        merge(session, survivor_id=persons[ids[1]], retired_id=persons[ids[0]], actor="test", reason="same person",
              now=utcnow())
    etl.run()
    flags = etl.live("fact_document_quality", "linked_valid")
    assert flags["linked_valid"].astype(int).tolist() == [1, 1]
