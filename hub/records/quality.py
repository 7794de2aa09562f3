"""Plausibility rules: what is wrong in a valid document, found after it is normalized.

A rule looks at the document's header and normalized rows and yields ``Finding``s (warning severity:
the document is stored, the finding is kept beside it and sent back in the acknowledgement) or raises
a ``RecordError`` (error severity: what cannot be stored safely, e.g. a stay that ends before it
starts would make bed-days negative). Every code is registered (``protocol.findings`` for warnings,
``protocol.errors.FAULTS`` for errors) and has a line in ``docs/data-quality.md``; a field is a path,
never a value. Rules are registered with ``@rule`` (every document) or ``@rule(types=(…))`` (documents
of those types only: the rule is not even called for the others) and run in registration order.

    @rule(types=("OutpatientVisit",))
    def my_rule(header, normalized):
        if ...:
            yield Finding("record.….implausible", f"/{header.type_name}/…")

One rule needs more than the document: ``event_in_future`` compares the event times with the arrival of
the message (``findings_of(..., received_at=…)``; a stable time, so a rerun finds the same), and is
called by ``findings_of`` after the registered rules.

Dates are compared as the region's calendar days (China Standard Time): a birth date is a local day,
and a visit at 01:00 on the day of birth is on that day, not the UTC day before.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Callable, Iterable, Iterator

from protocol.errors import RecordError
from protocol.findings import EVENT_TIME_TOLERANCE, Finding
from schemas.terminology import lookup

from .header import DocumentHeader
from .normalizers import Normalized

Rule = Callable[[DocumentHeader, Normalized], Iterable[Finding]]
RULES: list[Rule] = []  # every rule, in registration order
_APPLIES: dict[Rule, frozenset[str] | None] = {}  # rule → the document types it is for (None: all)
_FOR_TYPE: dict[str, tuple[int, list[Rule]]] = {}  # type → (len(RULES) when built, its rules)
FINDING_TABLE = "record_finding"
MAX_AGE_YEARS = 120
CHINA = timezone(timedelta(hours=8), "CST")
BIRTH_DATE = "header/patient/birthDate/@value"

# Where each document type keeps the times of what it records: (row table, column, field below the
# root). The fields are the XSD's; a repeated element (a stay's procedures) gets its position.
EVENT_TIMES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "OutpatientVisit": (("record_encounter", "start_time", "body/visitTime/@value"),),
    "InpatientStay": (("record_encounter", "start_time", "body/admissionTime/@value"),
                      ("record_encounter", "end_time", "body/dischargeTime/@value"),
                      ("record_procedure", "performed_on", "body/procedure/@date")),
    "LabReport": (("record_lab_result", "reported_at", "body/reportTime/@value"),),
    "Prescription": (("record_medication", "at", "body/prescriptionTime/@value"),),
    "Dispense": (("record_medication", "at", "body/dispenseTime/@value"),),
    "Referral": (("record_referral", "referred_at", "body/referralTime/@value"),),
    "InfectiousDiseaseReport": (("record_disease_report", "onset_date", "body/onsetDate/@value"),
                                ("record_disease_report", "diagnosis_date", "body/diagnosisDate/@value")),
    "Immunization": (("record_immunization", "administered_on", "body/administeredOn/@value"),),
    "MaternalCheckup": (("record_maternal_checkup", "checkup_date", "body/checkupDate/@value"),),
    "ChildHealthCheckup": (("record_child_checkup", "checkup_date", "body/checkupDate/@value"),),
}

# Ages the national programmes define (国家基本公共卫生服务规范, 第三版):
MATERNAL_AGE = (10, 60)      # a pregnant or postpartum woman; outside: a wrong birth date or a wrong patient
CHILD_CHECKUP_MONTHS = 84    # 0-6 岁儿童健康管理: under 7, as the child cube counts (age_months < 84)
PROGRAMME_AGE = 18           # 国家免疫规划 catch-up (补种) ends at 18 (儿童免疫程序及说明, 2021 年版)
ADULT_VACCINES = frozenset({"HepB"})  # on the national list but also given to adults at risk (same code)

# Ceilings of an encounter's total charges (¥). The national mean was about ¥360 per outpatient visit
# and ¥10,300 per inpatient stay in 2023 (国家卫生健康统计公报). The outpatient ceiling is ~3,000 times
# the mean and above a year's supply of the dearest outpatient drugs at list price; the inpatient one is
# above the dearest single treatments (CAR-T ≈ ¥1.2 million, months of ICU with ECMO). Above them the
# amount is a typing slip (extra digits, cents typed as yuan), and one such document would outweigh an
# institution's month of revenue in the cubes: refused, like a stay that ends before it starts.
CHARGE_CEILINGS = {"OutpatientVisit": Decimal("1000000"), "InpatientStay": Decimal("10000000")}


def rule(function: Rule | None = None, *, types: Iterable[str] | None = None):
    """Register a rule, for every document (``@rule``) or for documents of ``types`` only."""
    def register(check: Rule) -> Rule:
        RULES.append(check)
        _APPLIES[check] = None if types is None else frozenset(types)
        return check
    return register if function is None else register(function)


def rules_for(type_name: str) -> list[Rule]:
    """The rules a document of ``type_name`` goes through (worked out once per type)."""
    known = _FOR_TYPE.get(type_name)
    if known is None or known[0] != len(RULES):
        known = _FOR_TYPE[type_name] = (len(RULES), [check for check in RULES
                                                      if _APPLIES.get(check) is None or type_name in _APPLIES[check]])
    return known[1]


def findings_of(header: DocumentHeader, normalized: Normalized, *, received_at: datetime | None = None) -> list[Finding]:
    """Every rule's findings for one document (raises ``RecordError`` for an error-severity rule);
    with ``received_at`` (when its message arrived, aware) also the events dated after it."""
    found: list[Finding] = []
    for check in rules_for(header.type_name):
        found.extend(check(header, normalized))
    if received_at is not None and header.type_name in EVENT_TIMES:
        found.extend(event_in_future(header, normalized, received_at=received_at))
    return found


def finding_rows(findings: list[Finding]) -> list[tuple[str, dict]]:
    """The document's ``record_finding`` rows (stored with its other normalized rows)."""
    return [(FINDING_TABLE, {"code": finding.code, "field": finding.field}) for finding in findings]


def local_day(value: date | datetime | None) -> date | None:
    """The region's calendar day of a time (an aware datetime) or a date."""
    if isinstance(value, datetime):
        return value.astimezone(CHINA).date()
    return value


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _age_years(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _age_months(birth: date, on: date) -> int:
    return (on.year - birth.year) * 12 + on.month - birth.month - (on.day < birth.day)


def _first(normalized: Normalized, table: str) -> dict | None:
    return next((values for name, values in normalized.rows if name == table), None)


def _field(header: DocumentHeader, path: str, index: int, count: int) -> str:
    element, _, attribute = path.rpartition("/")
    return f"/{header.type_name}/{element}[{index}]/{attribute}" if count > 1 else f"/{header.type_name}/{path}"


def _before(header: DocumentHeader, normalized: Normalized, day: date) -> Iterator[str]:
    """The fields of the document's event times that fall on a local day before ``day``."""
    start = datetime.combine(day, time(0), CHINA)  # an aware time compares with the rows' UTC times directly
    for table, column, path in EVENT_TIMES[header.type_name]:
        values = [row[column] for name, row in normalized.rows if name == table]
        for index, value in enumerate(values, start=1):
            if value is not None and (value < start if isinstance(value, datetime) else value < day):
                yield _field(header, path, index, len(values))


def _plausible_birth(header: DocumentHeader) -> date | None:
    """The patient's birth date when ``birth_date`` found nothing wrong with it (else None: one defect,
    one finding)."""
    patient = header.patient
    birth = None if patient is None else patient.birth_date
    if birth is None:
        return None
    when = local_day(header.effective_time)
    if birth > when or (when.year - birth.year >= MAX_AGE_YEARS and birth < _years_before(when, MAX_AGE_YEARS)):
        return None
    return birth


@rule
def birth_date(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """A birth date after the document, or more than 120 years before it (a typed 1013 for 2013)."""
    patient = header.patient
    if patient is not None and patient.birth_date is not None and _plausible_birth(header) is None:
        yield Finding("record.patient.birth_date.implausible", f"/{header.type_name}/{BIRTH_DATE}")


@rule(types=EVENT_TIMES)
def event_before_birth(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """A visit, report, dose or checkup dated before the patient was born (stored: counted on its day)."""
    birth = _plausible_birth(header)
    if birth is not None:
        for field in _before(header, normalized, birth):
            yield Finding("record.event.before_birth", field)


def event_in_future(header: DocumentHeader, normalized: Normalized, *, received_at: datetime) -> Iterable[Finding]:
    """A visit, report, dose or checkup dated after its message arrived (more than the tolerance: a clock
    a little fast is not a defect): a typed 2062 for 2026. A warning: the document is stored and counted on
    its (wrong) day, the finding is counted and sent back so the sender corrects the date; the timeliness
    figures never count it as on time (docs/data-quality.md)."""
    limit = received_at + EVENT_TIME_TOLERANCE
    last_day = local_day(limit)  # a date-only event (a dose, a checkup) may fall on the arrival's day
    for table, column, path in EVENT_TIMES[header.type_name]:
        values = [row[column] for name, row in normalized.rows if name == table]
        for index, value in enumerate(values, start=1):
            if value is not None and (value > limit if isinstance(value, datetime) else value > last_day):
                yield Finding("record.event.in_future", _field(header, path, index, len(values)))


@rule(types=("InpatientStay",))
def discharge_before_admission(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """An inpatient stay that ends before it starts: refused (its length and bed-days would be negative)."""
    stay = _first(normalized, "record_encounter")
    if stay["end_time"] is not None and stay["end_time"] < stay["start_time"]:
        raise RecordError("record.stay.discharge_before_admission", "discharge time is before admission time",
                          field="/InpatientStay/body/dischargeTime/@value")
    return ()


@rule(types=("InpatientStay",))
def procedure_outside_stay(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """A stay's procedure dated before admission or after discharge (stored: procedures count by stay)."""
    stay = _first(normalized, "record_encounter")
    first, last = local_day(stay["start_time"]), local_day(stay["end_time"])
    procedures = [row["performed_on"] for name, row in normalized.rows if name == "record_procedure"]
    for index, day in enumerate(procedures, start=1):
        if day is not None and (day < first or (last is not None and day > last)):
            yield Finding("record.procedure.outside_stay", _field(header, "body/procedure/@date", index, len(procedures)))


@rule(types=("InfectiousDiseaseReport",))
def onset_after_diagnosis(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """A disease report whose onset is after its diagnosis (stored: cases count by diagnosis date)."""
    report = _first(normalized, "record_disease_report")
    if report["onset_date"] > report["diagnosis_date"]:
        yield Finding("record.disease.onset_after_diagnosis", "/InfectiousDiseaseReport/body/onsetDate/@value")


# The report card (传染病报告卡) beyond its XSD, after the national card and its filling instructions as the hub
# reads them; docs/data-quality.md has a line per rule. Fields the card needs by disease class: missing, the
# card is kept and counted (a clinical fact is never lost for a gap), the finding tells the sender what to add.
CARD = "/InfectiousDiseaseReport"
CARD_FIELDS = {  # field → (where it is missing, the classes that need it)
    "name": ("header/patient/name", "AB"),
    "resident_id": ("header/patient/id", "AB"),      # 有效证件号: a resident ID, valid or kept as invalid
    "occupation": ("body/occupation", "AB"),        # 人群分类
    "sex": ("header/patient/sex", "ABC"),
    "birth_date": ("header/patient/birthDate", "ABC"),  # 出生日期: the cube's age bands
}
# Case classifications (schemas/codes/case-classification.csv) a disease may be reported as; the others
# 1 疑似, 2 临床诊断, 3 确诊. A card of another classification counts what cannot be a case of its disease:
# refused (record.disease.classification.not_allowed), the sender corrects the classification.
CARRIERS = frozenset({"1", "2", "3", "4"})        # 4 病原携带者: diseases whose carriers are reported
SCREENED = frozenset({"1", "2", "3", "5"})        # 5 阳性检测结果: blood-screening and test-found positives
CLASSIFICATIONS: dict[str, frozenset[str]] = {
    "102": CARRIERS, "212": CARRIERS, "21201": CARRIERS, "21202": CARRIERS, "214": CARRIERS,  # 霍乱 痢疾 伤寒
    "20302": SCREENED, "20303": SCREENED, "222": SCREENED, "227": SCREENED,  # 乙肝 丙肝 梅毒 新冠
    "202": frozenset({"3", "5"}),  # 艾滋病/HIV: reported only after a confirmatory test (实验室确证)
}
DEFAULT_CLASSIFICATIONS = frozenset({"1", "2", "3"})


def _has_card_field(header: DocumentHeader, report: dict, field: str) -> bool:
    patient = header.patient
    if field == "occupation":
        return bool(report["occupation_code"])
    if patient is None:
        return False
    if field == "resident_id":
        return any(kind.startswith("resident_id") for kind, _, _ in patient.identifiers)
    return bool(getattr(patient, field))


@rule(types=("InfectiousDiseaseReport",))
def card_fields(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """A field the national card needs for the disease's class is missing (kept: the case still counts)."""
    report = _first(normalized, "record_disease_report")
    for field, (path, classes) in CARD_FIELDS.items():
        if report["disease_class"] in classes and not _has_card_field(header, report, field):
            yield Finding("record.disease.card.incomplete", f"{CARD}/{path}")


@rule(types=("InfectiousDiseaseReport",))
def card_classification(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """A case classification the disease cannot be reported as (a carrier of measles, a suspected HIV case):
    refused, it would count what cannot be a case."""
    report = _first(normalized, "record_disease_report")
    if report["case_classification"] not in CLASSIFICATIONS.get(report["disease_code"], DEFAULT_CLASSIFICATIONS):
        raise RecordError("record.disease.classification.not_allowed",
                          "the case classification is not one this disease is reported as",
                          field=f"{CARD}/body/caseClassification/@code")
    return ()


@rule(types=("InfectiousDiseaseReport",))
def card_reported_before_diagnosis(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """A card filled in (its effective time) on a day before the diagnosis it reports (kept: counted by diagnosis)."""
    if local_day(header.effective_time) < _first(normalized, "record_disease_report")["diagnosis_date"]:
        yield Finding("record.disease.report_before_diagnosis", f"{CARD}/body/diagnosisDate/@value")


@rule(types=("InfectiousDiseaseReport",))
def card_district(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """The current address names a city or province, not a county-level district (kept: counted for that
    division, but outside every district's outbreak detection)."""
    division = _first(normalized, "record_disease_report")["division"]
    known = lookup("divisions", division)
    if (known.extra.get("level") != "district") if known is not None else division.endswith("00"):
        yield Finding("record.disease.division.not_district", f"{CARD}/body/currentAddress/@division")


@rule(types=("MaternalCheckup",))
def maternal_age(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """A maternal checkup of a patient under 10 or over 60 (stored: most often a wrong birth date)."""
    birth = _plausible_birth(header)
    if birth is not None:
        age = _age_years(birth, _first(normalized, "record_maternal_checkup")["checkup_date"])
        if not MATERNAL_AGE[0] <= age <= MATERNAL_AGE[1]:
            yield Finding("record.maternal.age.inconsistent", f"/MaternalCheckup/{BIRTH_DATE}")


@rule(types=("ChildHealthCheckup",))
def child_checkup_age(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """A child health checkup at 7 or more, by the birth date or the declared age (the child cube leaves it out)."""
    birth, row = _plausible_birth(header), _first(normalized, "record_child_checkup")
    if birth is not None and _age_months(birth, row["checkup_date"]) >= CHILD_CHECKUP_MONTHS:
        yield Finding("record.child_checkup.age.inconsistent", f"/ChildHealthCheckup/{BIRTH_DATE}")
    if row["age_months"] >= CHILD_CHECKUP_MONTHS:
        yield Finding("record.child_checkup.age.inconsistent", "/ChildHealthCheckup/body/ageMonths")


@rule(types=("Immunization",))
def programme_vaccine_age(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """A national-programme vaccine given at 18 or more (HepB excepted: adults at risk get it too)."""
    birth, row = _plausible_birth(header), _first(normalized, "record_immunization")
    if birth is None or row["vaccine_code"] in ADULT_VACCINES:
        return
    vaccine = lookup("vaccines", row["vaccine_code"])
    if vaccine is not None and vaccine.extra.get("programme") == "national" \
            and _age_years(birth, row["administered_on"]) >= PROGRAMME_AGE:
        yield Finding("record.immunization.age.inconsistent", f"/Immunization/{BIRTH_DATE}")


@rule(types=CHARGE_CEILINGS)
def charges_ceiling(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """An encounter whose charges exceed a ceiling no real bill reaches: refused (it would swamp the revenue)."""
    if _first(normalized, "record_encounter")["total_amount"] > CHARGE_CEILINGS[header.type_name]:
        raise RecordError("record.charges.implausible", "total charges exceed the ceiling for this document type",
                          field=f"/{header.type_name}/body/charges")
    return ()


@rule
def address_division(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """The patient's address names a division not in the hub's GB/T 2260 list (kept as sent)."""
    patient = header.patient
    if patient is not None and patient.division is not None and lookup("divisions", patient.division) is None:
        yield Finding("record.patient.division.unknown", f"/{header.type_name}/header/patient/address/@division")


__all__ = ["RULES", "Rule", "rule", "rules_for", "findings_of", "finding_rows", "local_day", "FINDING_TABLE",
           "event_in_future"]
