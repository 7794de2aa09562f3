"""The body of every canonical document type, as data: element names in XSD order, each with a kind.

The kind says how a value is written (``documents``) and which row-map fields feed it
(``mapping``); adding a document type to the adapters is adding its line here. Element names and
order follow ``schemas/v1/<Type>.xsd`` (Cancellation is the agent's own business, not a source's).

Scalar kinds take one value: ``time`` / ``date`` / ``month`` (written as ``@value``), ``coded``
(``@code``), ``text``, ``count``, ``measure``, ``amount``, ``boolean`` (element text),
``identifier`` (a document id). Structured kinds: ``party`` (code, name), ``address`` (text,
division), ``pressure`` (systolic, diastolic), ``holder`` (code, name, kind), ``charges`` (one
``charges`` element of ``charge`` lines) and ``revenue`` (repeated ``revenue`` elements), both
with category → amount. List kinds collect one entry per row or split cell: ``diagnoses``,
``procedures``, ``results``, ``items`` (prescription / dispense lines), ``stock_items`` (drug
movement lines), ``contacts``.
"""
from __future__ import annotations

BODY: dict[str, tuple[tuple[str, str], ...]] = {
    "PersonRegistration": (("nationality", "coded"), ("ethnicity", "coded"), ("occupation", "coded"),
                           ("maritalStatus", "coded"), ("contact", "contacts")),
    "OutpatientVisit": (("visitTime", "time"), ("department", "coded"), ("emergency", "boolean"),
                        ("diagnosis", "diagnoses"), ("charges", "charges")),
    "InpatientStay": (("admissionTime", "time"), ("dischargeTime", "time"), ("department", "coded"),
                      ("ward", "text"), ("bedDays", "count"), ("dischargeOutcome", "coded"),
                      ("diagnosis", "diagnoses"), ("procedure", "procedures"), ("charges", "charges")),
    "LabReport": (("orderedBy", "party"), ("specimen", "coded"), ("reportTime", "time"), ("result", "results")),
    "Prescription": (("prescriptionTime", "time"), ("department", "coded"), ("diagnosis", "diagnoses"),
                     ("item", "items")),
    "Dispense": (("dispenseTime", "time"), ("prescriptionRef", "identifier"), ("item", "items")),
    "Immunization": (("vaccine", "coded"), ("doseNumber", "count"), ("administeredOn", "date"),
                     ("batchNumber", "text"), ("manufacturer", "text"), ("site", "coded")),
    "Referral": (("direction", "coded"), ("referralTime", "time"), ("toInstitution", "party"),
                 ("requestedDepartment", "coded"), ("reason", "text"), ("diagnosis", "diagnoses"),
                 ("summary", "text")),
    "InfectiousDiseaseReport": (("disease", "coded"), ("diseaseClass", "coded"), ("caseClassification", "coded"),
                                ("onsetDate", "date"), ("diagnosisDate", "date"), ("occupation", "coded"),
                                ("currentAddress", "address"), ("reportingDoctor", "party")),
    "MaternalCheckup": (("checkupType", "coded"), ("checkupDate", "date"), ("gestationalWeeks", "count"),
                        ("weightKg", "measure"), ("bloodPressure", "pressure"), ("fundalHeightCm", "measure"),
                        ("fetalHeartRate", "count"), ("highRisk", "boolean"), ("note", "text")),
    "ChildHealthCheckup": (("checkupDate", "date"), ("ageMonths", "count"), ("weightKg", "measure"),
                           ("heightCm", "measure"), ("headCircumferenceCm", "measure"),
                           ("developmentAssessment", "coded"), ("note", "text")),
    "DrugMovement": (("movementType", "coded"), ("movementTime", "time"), ("from", "holder"), ("to", "holder"),
                     ("item", "stock_items")),
    "InstitutionMonthlyStats": (("period", "month"), ("staffOnDuty", "count"), ("approvedBeds", "count"),
                                ("openBeds", "count"), ("fixedAssets", "amount"), ("outpatientVisits", "count"),
                                ("inpatientDischarges", "count"), ("revenue", "revenue")),
}
SUPPORTED_TYPES = frozenset(BODY)
# Institution documents: their header has no patient (schemas/v1/common.xsd, InstitutionHeader).
NO_PATIENT = frozenset({"DrugMovement", "InstitutionMonthlyStats"})
CHARGE_CATEGORIES = ("drugs", "examinations", "treatment", "other")
# Children of a drug line after <drug>, in XSD order; children named in DATE_CHILDREN are written as @value.
ITEM_CHILDREN = {
    "items": ("specification", "quantity", "unit", "amount", "batchNumber", "dosage"),
    "stock_items": ("specification", "batchNumber", "expiryDate", "quantity", "unit", "amount"),
}
DATE_CHILDREN = frozenset({"expiryDate"})
# A coded element that a source does not give is taken from the code list, as the hub checks it
# (bindings.json: diseaseClass must equal the class of the disease): (type, element) → (from
# element, code system, column).
DERIVED = {("InfectiousDiseaseReport", "diseaseClass"): ("disease", "notifiable-diseases", "class")}

__all__ = ["BODY", "SUPPORTED_TYPES", "NO_PATIENT", "CHARGE_CATEGORIES", "ITEM_CHILDREN", "DATE_CHILDREN", "DERIVED"]
