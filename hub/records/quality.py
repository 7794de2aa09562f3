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

Cost (every document goes through these, ``bench.records``): what several rules need is worked out once
per document (the plausible birth date: a one-entry memo by the header's identity; the event times in
one pass over the rows), and a bound is
put in UTC before it is compared with the rows' UTC times (two aware datetimes of different zones
compare through ``utcoffset`` calls: ~7k instructions a comparison, against ~0 for the same zone).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Callable, Iterable

from protocol.errors import RecordError
from protocol.findings import EVENT_TIME_TOLERANCE, Finding
from schemas.terminology import lookup

from .header import DocumentHeader
from .normalizers import Normalized

Rule = Callable[[DocumentHeader, Normalized], Iterable[Finding]]
RULES: list[Rule] = []  # every rule, in registration order
_APPLIES: dict[Rule, frozenset[str] | None] = {}  # rule → the document types it is for (None: all)
_FOR_TYPE: dict[str, tuple[int, list[Rule]]] = {}  # type → (len(RULES) when built, its rules)
# type → (len(RULES) when built, its rules before event_before_birth, the rules after it, its EVENT_TIMES or
# None, whether event_before_birth is among its rules): what ``findings_of`` runs, bound once per type
_PLANS: dict[str, tuple[int, tuple[Rule, ...], tuple[Rule, ...], tuple | None, bool]] = {}
FINDING_TABLE = "record_finding"
MAX_AGE_YEARS = 120
CHINA = timezone(timedelta(hours=8), "CST")
_CHINA_MIDNIGHT_UTC_HOUR = 16  # 00:00 in China (UTC+8, all year) is 16:00 UTC the day before
_ONE_DAY = timedelta(days=1)
BIRTH_DATE = "header/patient/birthDate/@value"
_MIDNIGHT = time(0)

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

_birth_memo: tuple = (None, None)  # (header, its plausible birth date) of the last document: headers are immutable
_limit_memo: tuple = (None, None)  # (received_at, the latest event time not in the future): a batch shares one



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


def _plan(type_name: str) -> tuple[int, tuple[Rule, ...], tuple[Rule, ...], tuple | None, bool]:
    plan = _PLANS.get(type_name)
    if plan is None or plan[0] != len(RULES):
        checks = rules_for(type_name)
        fused = event_before_birth in checks and type_name in EVENT_TIMES
        at = checks.index(event_before_birth) if fused else len(checks)
        plan = _PLANS[type_name] = (len(RULES), tuple(checks[:at]), tuple(checks[at + 1:]),
                                    EVENT_TIMES.get(type_name), fused)
    return plan


def findings_of(header: DocumentHeader, normalized: Normalized, *, received_at: datetime | None = None) -> list[Finding]:
    """Every rule's findings for one document (raises ``RecordError`` for an error-severity rule);
    with ``received_at`` (when its message arrived, aware) also the events dated after it.

    The same findings, in the same order, as calling ``rules_for``'s rules and then ``event_in_future``;
    the two event rules are run here on one reading of the event times (``bench.records``: ~7 µs a
    document through the generic calls, 4–5 µs this way)."""
    plan = _PLANS.get(header.type_name)
    if plan is None or plan[0] != len(RULES):
        plan = _plan(header.type_name)
    _count, first, rest, times, fused = plan
    found: list[Finding] = []
    for check in first:
        result = check(header, normalized)
        if result:  # most rules find nothing and return ()
            found.extend(result)
    if times is None:
        for check in rest:
            result = check(header, normalized)
            if result:
                found.extend(result)
        return found
    events = _events_in(times, normalized.rows)
    if fused:
        birth = _plausible_birth(header)
        if birth is not None:
            found.extend(_before(header, events, birth))
    for check in rest:
        result = check(header, normalized)
        if result:
            found.extend(result)
    if received_at is not None:
        found.extend(_late(header, events, received_at))
    return found


def finding_rows(findings: list[Finding]) -> list[tuple[str, dict]]:
    """The document's ``record_finding`` rows (stored with its other normalized rows)."""
    return [(FINDING_TABLE, {"code": finding.code, "field": finding.field}) for finding in findings]


def local_day(value: date | datetime | None) -> date | None:
    """The region's calendar day of a time (an aware datetime) or a date."""
    if isinstance(value, datetime):
        if value.tzinfo is timezone.utc:  # the rows' zone: China's day is the UTC day until 16:00 UTC (no DST)
            return value.date() if value.hour < _CHINA_MIDNIGHT_UTC_HOUR else value.date() + _ONE_DAY
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
    for name, values in normalized.rows:  # a loop, not next(genexpr): an unfinished generator is finalized
        if name == table:
            return values
    return None


def _field(header: DocumentHeader, path: str, index: int, count: int) -> str:
    element, _, attribute = path.rpartition("/")
    return f"/{header.type_name}/{element}[{index}]/{attribute}" if count > 1 else f"/{header.type_name}/{path}"


def _events_in(times: tuple[tuple[str, str, str], ...], rows: list) -> list[tuple[str, list]]:
    """(field, values in document order) of each of ``times`` (a type's ``EVENT_TIMES``) in ``rows``.

    Loops, not comprehensions: in Python 3.11 each comprehension makes a function object (callgrind: ~2k
    instructions a document less this way, with the plain loops of ``_before`` and ``_late``)."""
    events = []
    for table, column, path in times:
        values = []
        for name, row in rows:
            if name == table:
                values.append(row[column])
        events.append((path, values))
    return events


def _before(header: DocumentHeader, events: list[tuple[str, list]], day: date) -> list[Finding]:
    """``record.event.before_birth`` for each event time (``_events_in``) on a local day before ``day``."""
    start = None
    found = []
    for path, values in events:
        index = 0  # counted by hand: enumerate(start=1) is a keyword call and an object per event time
        for value in values:
            index += 1
            if value is None or (value.year > day.year and (type(value) is date or value.tzinfo is timezone.utc)):
                continue  # a (UTC) year after the day's: its local day is after it too
            if isinstance(value, datetime):
                if start is None:  # in UTC, as the rows' times are: they then compare directly
                    start = datetime.combine(day, _MIDNIGHT, CHINA).astimezone(timezone.utc)
                early = value < start
            else:
                early = value < day
            if early:
                found.append(Finding("record.event.before_birth", _field(header, path, index, len(values))))
    return found


def _plausible_birth(header: DocumentHeader) -> date | None:
    """The patient's birth date when ``birth_date`` found nothing wrong with it (else None: one defect,
    one finding); worked out once per document (several rules ask)."""
    global _birth_memo
    memo = _birth_memo
    if memo[0] is header:
        return memo[1]
    patient = header.patient
    birth = None if patient is None else patient.birth_date
    effective = header.effective_time
    # a UTC time's local year is its year or the next: born in an earlier year and under 119 years before
    # it, the birth is plausible without working out the local day (the everyday document)
    surely = birth is not None and effective.tzinfo is timezone.utc and birth.year < effective.year \
        and effective.year + 1 - birth.year < MAX_AGE_YEARS
    if birth is not None and not surely:
        when = local_day(header.effective_time)
        if birth > when or (when.year - birth.year >= MAX_AGE_YEARS and birth < _years_before(when, MAX_AGE_YEARS)):
            birth = None
    _birth_memo = (header, birth)
    return birth


@rule
def birth_date(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """A birth date after the document, or more than 120 years before it (a typed 1013 for 2013)."""
    patient = header.patient
    if patient is None or patient.birth_date is None or _plausible_birth(header) is not None:
        return ()
    return (Finding("record.patient.birth_date.implausible", f"/{header.type_name}/{BIRTH_DATE}"),)


@rule(types=EVENT_TIMES)
def event_before_birth(header: DocumentHeader, normalized: Normalized) -> Iterable[Finding]:
    """A visit, report, dose or checkup dated before the patient was born (stored: counted on its day)."""
    birth = _plausible_birth(header)
    if birth is None:
        return ()
    return _before(header, _events_in(EVENT_TIMES[header.type_name], normalized.rows), birth)


def event_in_future(header: DocumentHeader, normalized: Normalized, *, received_at: datetime) -> Iterable[Finding]:
    """A visit, report, dose or checkup dated after its message arrived (more than the tolerance: a clock
    a little fast is not a defect): a typed 2062 for 2026. A warning: the document is stored and counted on
    its (wrong) day, the finding is counted and sent back so the sender corrects the date; the timeliness
    figures never count it as on time (docs/data-quality.md)."""
    return _late(header, _events_in(EVENT_TIMES[header.type_name], normalized.rows), received_at)


def _late(header: DocumentHeader, events: list[tuple[str, list]], received_at: datetime) -> list[Finding]:
    """``record.event.in_future`` for each event time (``_events_in``) after ``received_at`` and the tolerance."""
    global _limit_memo
    if _limit_memo[0] is received_at:
        limit = _limit_memo[1]
    else:
        limit = received_at + EVENT_TIME_TOLERANCE
        if limit.tzinfo is not timezone.utc:
            limit = limit.astimezone(timezone.utc)  # the rows' zone: compared directly
        _limit_memo = (received_at, limit)
    last_day = None
    found = []
    for path, values in events:
        index = 0
        for value in values:
            index += 1
            if value is None:
                continue
            if isinstance(value, datetime):
                late = value > limit
            else:
                if last_day is None:  # a date-only event (a dose, a checkup) may fall on the arrival's day
                    last_day = local_day(limit)
                late = value > last_day
            if late:
                found.append(Finding("record.event.in_future", _field(header, path, index, len(values))))
    return found


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
    return [Finding("record.procedure.outside_stay", _field(header, "body/procedure/@date", index, len(procedures)))
            for index, day in enumerate(procedures, start=1)
            if day is not None and (day < first or (last is not None and day > last))]


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
        return ()
    vaccine = lookup("vaccines", row["vaccine_code"])
    if vaccine is not None and vaccine.extra.get("programme") == "national" \
            and _age_years(birth, row["administered_on"]) >= PROGRAMME_AGE:
        return (Finding("record.immunization.age.inconsistent", f"/Immunization/{BIRTH_DATE}"),)
    return ()


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
    if patient is None or patient.division is None or lookup("divisions", patient.division) is not None:
        return ()
    return (Finding("record.patient.division.unknown", f"/{header.type_name}/header/patient/address/@division"),)


__all__ = ["RULES", "Rule", "rule", "rules_for", "findings_of", "finding_rows", "local_day", "FINDING_TABLE",
           "event_in_future"]
