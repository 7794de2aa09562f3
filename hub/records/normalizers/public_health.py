"""Public-health documents: referral, infectious disease report, immunization, maternal and child care."""
from __future__ import annotations

from schemas.reader import Reader, parse_date, parse_datetime, parse_decimal, parse_int

from ..header import DocumentHeader
from . import Normalized, normalizer
from .encounters import diagnoses


@normalizer("Referral")
def referral(doc, header: DocumentHeader, r: Reader) -> Normalized:
    at = parse_datetime(r.attr(doc, "body/referralTime"))
    return Normalized([("record_referral", {
        "direction": r.code(doc, "body/direction"), "to_institution": r.code(doc, "body/toInstitution"),
        "department_code": r.code(doc, "body/requestedDepartment"), "reason": r.text(doc, "body/reason") or "",
        "summary": r.text(doc, "body/summary"), "referred_at": at}),
        *diagnoses(doc, r, at=at, context="Referral")])


@normalizer("InfectiousDiseaseReport")
def disease_report(doc, header: DocumentHeader, r: Reader) -> Normalized:
    return Normalized([("record_disease_report", {
        "disease_code": r.code(doc, "body/disease"), "disease_class": r.code(doc, "body/diseaseClass"),
        "case_classification": r.code(doc, "body/caseClassification"),
        "onset_date": parse_date(r.attr(doc, "body/onsetDate")),
        "diagnosis_date": parse_date(r.attr(doc, "body/diagnosisDate")),
        "occupation_code": r.code(doc, "body/occupation"),
        "division": r.attr(doc, "body/currentAddress", "division"), "reported_at": header.effective_time})])


@normalizer("Immunization")
def immunization(doc, header: DocumentHeader, r: Reader) -> Normalized:
    return Normalized([("record_immunization", {
        "vaccine_code": r.code(doc, "body/vaccine"), "dose_number": parse_int(r.text(doc, "body/doseNumber")),
        "administered_on": parse_date(r.attr(doc, "body/administeredOn")),
        "batch_number": r.text(doc, "body/batchNumber"), "manufacturer": r.text(doc, "body/manufacturer")})])


@normalizer("MaternalCheckup")
def maternal_checkup(doc, header: DocumentHeader, r: Reader) -> Normalized:
    pressure = r.find(doc, "body/bloodPressure")
    return Normalized([("record_maternal_checkup", {
        "checkup_type": r.code(doc, "body/checkupType"), "checkup_date": parse_date(r.attr(doc, "body/checkupDate")),
        "gestational_weeks": parse_int(r.text(doc, "body/gestationalWeeks")),
        "weight_kg": parse_decimal(r.text(doc, "body/weightKg")),
        "systolic": None if pressure is None else parse_int(pressure.get("systolic")),
        "diastolic": None if pressure is None else parse_int(pressure.get("diastolic")),
        "high_risk": r.text(doc, "body/highRisk") == "true"})])


@normalizer("ChildHealthCheckup")
def child_checkup(doc, header: DocumentHeader, r: Reader) -> Normalized:
    return Normalized([("record_child_checkup", {
        "checkup_date": parse_date(r.attr(doc, "body/checkupDate")), "age_months": parse_int(r.text(doc, "body/ageMonths")),
        "weight_kg": parse_decimal(r.text(doc, "body/weightKg")), "height_cm": parse_decimal(r.text(doc, "body/heightCm")),
        "head_circumference_cm": parse_decimal(r.text(doc, "body/headCircumferenceCm")),
        "development": r.code(doc, "body/developmentAssessment")})])
