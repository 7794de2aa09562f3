"""``cda``: CDA R2 documents with WS/T 500 headers (template ids 2.16.156.10011.2.1.1.x) → canonical.

Mapped templates: 门(急)诊病历 (.22) → OutpatientVisit, 住院病案首页 (.52) → InpatientStay,
检验报告 (.27) → LabReport, 西药处方 (.24) → Prescription; any other template is quarantined
(``source.cda.template.unknown``).
The XPaths are listed in docs/adapters.md ("cda"). The institution in the canonical header is
always the agent's own organization (the hub checks it against the certificate), not the CDA
custodian, whose code is often a national institution code rather than the hub's.
"""
from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import Any, Callable, Iterator, Mapping

from lxml import etree

from protocol.errors import SecurityError
from protocol.xmlparse import FILE_LIMITS, parse_untrusted

from .base import Quarantine, SourceContext, SourceItem, source
from .documents import CHARGE_CATEGORIES, Patient, Record, finish
from .values import DEFAULT_OFFSET, SourceProblem, clean_text, decimal_text, iso_date, parse_datetime, person_name

V3 = "urn:hl7-org:v3"
NS = {"v3": V3}
DEPARTMENT_ROOT = "2.16.156.10011.1.26"  # WS/T 500 科室 identifier
WARD_ROOT = "2.16.156.10011.1.21"
PRESCRIPTION_NO_ROOT = "2.16.156.10011.1.20"  # 处方编号: on patientRole in .24, but not a person's id
ICD10_SYSTEM = "2.16.156.10011.2.3.3.11"  # WS/T 500 诊断代码表 (ICD-10), and its sub-tables .11.x
DEFAULT_CHARGE_CODES = {"DE07.00.004.00": "drugs"}  # 处方药品金额; sites add their own cost codes
_ADDRESS_PARTS = ("state", "city", "county", "township", "streetName", "houseNumber")
# Sections named in a quarantine's location (LOINC code, then the WS/T 500 name an operator knows).
SECTION_NAMES = {"29548-5": "诊断", "11535-2": "出院诊断", "48768-6": "费用", "30954-2": "检验", "10160-0": "用药",
                 "47519-4": "手术操作", "8648-8": "住院过程", "10154-3": "主诉"}
MAX_LOCATION = 100
_LOINC = re.compile(r"[0-9]{1,7}-[0-9]")
_ELEMENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,39}")  # a hostile file's odd names are never echoed
_PARSE_CODES = {"xml.forbidden": "source.cda.xml.forbidden", "transport.too_large": "source.file.too_large"}
_MALFORMED = "not a well-formed, allowed XML document (UTF-8 or GB 18030, no DTD or entities)"
# A file too large (as received, or once GBK / GB 18030 grows to UTF-8) is well-formed as far as
# anyone knows: its message must not send the operator looking for an encoding or DTD problem.
_PARSE_MESSAGES = {"transport.too_large": f"the file is too large: over {FILE_LIMITS.max_bytes // (1024 * 1024)} MB "
                                           "as received or once transcoded to UTF-8, or over a parser size limit"}


def _parse(payload: bytes) -> etree._Element:
    """The hub's one hardened parser, dropping the comments WS/T 500 templates are full of and reading
    the GBK / GB 18030 files Chinese HIS write (transcoded, under the same limits)."""
    try:
        root = parse_untrusted(payload, limits=FILE_LIMITS, drop_comments=True, legacy_chinese=True)
    except SecurityError as error:  # its detail never quotes the document
        raise SourceProblem(_PARSE_CODES.get(error.code, "source.cda.xml.malformed"),
                            _PARSE_MESSAGES.get(error.code, _MALFORMED)) from None
    if root.tag != f"{{{V3}}}ClinicalDocument":
        raise SourceProblem("source.cda.root.invalid", "the root is not an HL7 v3 ClinicalDocument", "/")
    return root


def section_label(code: str) -> str:
    """``section[30954-2 检验]``: the code the operator finds in the file, and the section's name."""
    if not _LOINC.fullmatch(code):
        return "section"
    return f"section[{code} {SECTION_NAMES[code]}]" if code in SECTION_NAMES else f"section[{code}]"


def location(found, *below: str) -> str:
    """Where a node (element or attribute) sits, as an operator finds it in the file: element names below the
    document or from its section, repeated ones numbered, then ``below``; at most 100 characters, never a value."""
    steps = list(reversed(below))  # built from the node up, reversed at the end
    element = found
    if not isinstance(found, etree._Element):  # an attribute value from XPath
        element = found.getparent()
        if found.is_attribute:
            steps.append(f"@{_plain(etree.QName(found.attrname).localname)}")
    while element is not None and element.getparent() is not None:
        name = etree.QName(element).localname
        if name == "section":
            steps.append(section_label(element.xpath("string(v3:code/@code)", namespaces=NS)))
            break
        same = list(element.getparent().iterchildren(element.tag))
        steps.append(f"{_plain(name)}[{same.index(element) + 1}]" if len(same) > 1 else _plain(name))
        element = element.getparent()
    steps.reverse()
    text = "/".join(steps)
    if len(text) <= MAX_LOCATION:
        return text
    head, tail = steps[:2], []  # the section and its entry, then as much of the end as fits
    for step in reversed(steps[2:]):
        if len("/".join([*head, "…", step, *tail])) > MAX_LOCATION:
            break
        tail.insert(0, step)
    return "/".join([*head, "…", *tail])[:MAX_LOCATION]


def _plain(name: str) -> str:
    return name if _ELEMENT_NAME.fullmatch(name) else "*"


class _Cda:
    """XPath access to one CDA document, with the source's options."""

    def __init__(self, root: etree._Element, options: Mapping[str, Any]):
        self.root, self.options = root, options
        self.timezone = options.get("timezone", DEFAULT_OFFSET)

    def all(self, path: str, node=None) -> list:
        return (node if node is not None else self.root).xpath(path, namespaces=NS)

    def first(self, path: str, node=None):
        """The first element or attribute value at ``path``, or None."""
        found = self.all(path, node)
        return found[0] if found else None

    def text(self, path: str, node=None) -> str:
        first = self.first(path, node)
        if first is None:
            return ""
        return clean_text(first if isinstance(first, str) else "".join(first.itertext()))

    def name(self, path: str) -> str:
        """A person's name: its family then given parts (joined as values.person_name says), else its text."""
        name = self.first(path)
        if name is None:
            return ""
        parts = self.all("v3:family", name) + self.all("v3:given", name)
        return person_name(*("".join(part.itertext()) for part in parts)) if parts else self.text(".", name)

    def time(self, path: str, *, missing: str, required: bool = True) -> str:
        """An ISO date-time from the attribute at ``path``; ``missing`` says where it was expected."""
        found = self.first(path)
        value = clean_text(found) if found is not None else ""
        if not value:
            if required:
                raise SourceProblem("source.cda.field.missing", "a required element is empty",
                                    location(found) if found is not None else missing)
            return ""
        return parse_datetime(value, field=location(found), default_offset=self.timezone,
                              code="source.cda.datetime.invalid").isoformat()

    def code(self, table: str, value: str) -> str:
        return self.options.get("codes", {}).get(table, {}).get(value, value)

    def section(self, loinc: str) -> str:  # an XPath
        return f"//v3:section[v3:code/@code='{loinc}']"


def _header(cda: _Cda) -> tuple[str, int, str, Patient, tuple[str, str] | None]:
    """(document id, version, effectiveTime, patient, practitioner) from the CDA header."""
    document_id = cda.text("/v3:ClinicalDocument/v3:id/@extension")
    if not document_id:
        raise SourceProblem("source.cda.field.missing", "a required element is empty", "id/@extension")
    version = cda.text("/v3:ClinicalDocument/v3:versionNumber/@value")
    effective = cda.time("/v3:ClinicalDocument/v3:effectiveTime/@value", missing="effectiveTime/@value")
    role = "/v3:ClinicalDocument/v3:recordTarget/v3:patientRole"
    # identifiers as the CDA holds them (spaces, a lower-case x): the hub normalizes them and tells the clinic
    ids = [(i.get("root"), i.get("extension")) for i in cda.all(f"{role}/v3:id | {role}/v3:patient/v3:id")
           if i.get("root") not in (None, "", PRESCRIPTION_NO_ROOT) and (i.get("extension") or "").strip()]
    patient = Patient(ids=ids, name=cda.name(f"{role}/v3:patient/v3:name"),
                      sex=cda.text(f"{role}/v3:patient/v3:administrativeGenderCode/@code"))
    birth = cda.first(f"{role}/v3:patient/v3:birthTime/@value")
    patient.birth_date = iso_date(birth, field=location(birth), code="source.cda.datetime.invalid") \
        if birth and birth.strip() else ""
    phone = cda.text(f"{role}/v3:telecom/@value").removeprefix("tel:")
    patient.telecom = phone if phone.lstrip("+").replace("-", "").isdigit() else ""
    address = cda.all(f"{role}/v3:addr")
    if address:
        parts = [cda.text(f"v3:{part}", address[0]) for part in _ADDRESS_PARTS]
        patient.address = ("".join(parts) if any(parts) else cda.text(".", address[0]))[:200]
    author = "/v3:ClinicalDocument/v3:author/v3:assignedAuthor"
    code = cda.text(f"{author}/v3:id/@extension")
    practitioner = (code, cda.name(f"{author}/v3:assignedPerson/v3:name")) if code else None
    return (document_id, int(version) if version.isdigit() and int(version) > 0 else 1,
            effective, patient, practitioner)


def _diagnoses(cda: _Cda, section: str, *, required: bool = True) -> list[dict]:
    """ICD-10 coded diagnosis observations of a section; the first is the principal one."""
    found = []
    for value in cda.all(f"{cda.section(section)}//v3:observation/v3:value[@code]"):
        system, name = value.get("codeSystem") or "", value.get("codeSystemName") or ""
        if system.startswith(ICD10_SYSTEM) or "ICD-10" in name.upper():
            found.append({"code": value.get("code"), "displayName": clean_text(value.get("displayName"))[:200] or None,
                          "primary": not found})
    if not found and required:
        raise SourceProblem("source.cda.section.missing", "no ICD-10 diagnosis in the diagnosis section",
                            section_label(section))
    return found


def _charges(cda: _Cda) -> dict[str, str]:
    """Cost observations of the 费用 section (48768-6) summed by category via ``charge_codes``;
    unmapped codes are ignored (a total next to its parts must not be counted twice)."""
    codes = {**DEFAULT_CHARGE_CODES, **cda.options.get("charge_codes", {})}
    totals: dict[str, Decimal] = {}
    for observation in cda.all(f"{cda.section('48768-6')}//v3:observation"):
        category = codes.get(cda.text("v3:code/@code", observation))
        amount = cda.first("v3:value/@value", observation)
        if category in CHARGE_CATEGORIES and amount and amount.strip():
            value = Decimal(decimal_text(amount, field=location(amount), places=2, code="source.cda.number.invalid"))
            totals[category] = totals.get(category, Decimal(0)) + value
    if not totals:
        if cda.options.get("missing_charges", "quarantine") != "zero":
            raise SourceProblem("source.cda.charges.missing", "no mapped cost in the cost section",
                                section_label("48768-6"))
        return {"other": "0.00"}
    return {category: f"{amount:.2f}" for category, amount in totals.items()}


def _department(cda: _Cda) -> str:
    code = cda.text(f"(//v3:componentOf//v3:id[@root='{DEPARTMENT_ROOT}']/@extension"
                    f" | //v3:id[@root='{DEPARTMENT_ROOT}']/@extension)[1]")
    if not code:
        raise SourceProblem("source.cda.field.missing", "a required element is empty",
                            f"id[@root={DEPARTMENT_ROOT}] (科室)")
    return cda.code("department", code)


def _encounter_time(cda: _Cda, edge: str, data_element: str, *, required: bool = True) -> str:
    encounter = "/v3:ClinicalDocument/v3:componentOf/v3:encompassingEncounter/v3:effectiveTime"
    path = f"({encounter}/v3:{edge}/@value | {encounter}[not(v3:low)]/@value" if edge == "low" else \
        f"({encounter}/v3:{edge}/@value"
    path += f" | //v3:observation[v3:code/@code='{data_element}']/v3:value/@value)[1]"
    return cda.time(path, required=required,
                    missing=f"encompassingEncounter/effectiveTime/{edge} or observation[{data_element}]")


def _outpatient(cda: _Cda, header: tuple) -> Record:
    document_id, version, effective, patient, practitioner = header
    body = {"visitTime": _encounter_time(cda, "low", "DE06.00.062.00"), "department": _department(cda),
            "diagnosis": _diagnoses(cda, "29548-5"), "charges": _charges(cda)}
    return Record("OutpatientVisit", document_id, version, effective, patient, body, practitioner)


def _inpatient(cda: _Cda, header: tuple) -> Record:
    document_id, version, effective, patient, practitioner = header
    procedures = [{"code": p.get("code"), "codeSystem": p.get("codeSystemName") or None,
                   "displayName": clean_text(p.get("displayName"))[:200] or None,
                   "date": _procedure_date(cda, p)}
                  for p in cda.all(f"{cda.section('47519-4')}//v3:procedure/v3:code[@code]")]
    days = cda.text("//v3:observation[v3:code/@code='DE06.00.310.00']/v3:value/@value")
    outcome = cda.text("//v3:observation[v3:code/@code='DE06.00.223.00']/v3:value/@code")
    body = {"admissionTime": _encounter_time(cda, "low", "DE06.00.092.00"),
            "dischargeTime": _encounter_time(cda, "high", "DE06.00.017.00", required=False),
            "department": _department(cda),
            "ward": cda.text(f"(//v3:id[@root='{WARD_ROOT}']/../v3:name)[1]")[:200],
            "bedDays": days if days.isdigit() else None,
            "dischargeOutcome": cda.code("discharge_outcome", outcome) if outcome else None,
            "diagnosis": _diagnoses(cda, "11535-2"), "procedure": procedures[:64], "charges": _charges(cda)}
    return Record("InpatientStay", document_id, version, effective, patient, body, practitioner)


def _procedure_date(cda: _Cda, code: etree._Element) -> str | None:
    when = cda.first("../v3:effectiveTime/@value | ../v3:effectiveTime/v3:low/@value", code)
    return iso_date(when, field=location(when), code="source.cda.datetime.invalid") if when and when.strip() else None


def _lab(cda: _Cda, header: tuple) -> Record:
    document_id, version, effective, patient, practitioner = header
    results = []
    for observation in cda.all(f"{cda.section('30954-2')}//v3:observation[v3:code/@code and v3:value]"):
        value = cda.text("v3:value/@value", observation) or cda.text("v3:value/@displayName", observation) \
            or cda.text("v3:value", observation)
        if not value:
            continue
        flag = cda.text("v3:interpretationCode/@code", observation)
        results.append({
            "test": {"code": cda.text("v3:code/@code", observation),
                     "displayName": cda.text("v3:code/@displayName", observation)[:200] or None},
            "value": value[:200], "unit": cda.text("v3:value/@unit", observation),
            "low": cda.text("v3:referenceRange/v3:observationRange/v3:value/v3:low/@value", observation) or None,
            "high": cda.text("v3:referenceRange/v3:observationRange/v3:value/v3:high/@value", observation) or None,
            "abnormalFlag": cda.code("abnormal_flag", flag) if flag else None})
    if not results:
        raise SourceProblem("source.cda.section.missing", "no result in the laboratory section",
                            section_label("30954-2"))
    specimen = cda.text("(//v3:specimenPlayingEntity/v3:code/@code)[1]")
    body = {"specimen": {"code": specimen} if specimen else None,
            "reportTime": cda.time("(/v3:ClinicalDocument/v3:author/v3:time/@value)[1]", required=False,
                                   missing="author/time/@value") or effective,
            "result": results[:500]}
    return Record("LabReport", document_id, version, effective, patient, body, practitioner)


def _prescription(cda: _Cda, header: tuple) -> Record:
    """西药处方 (.24): one item per substanceAdministration of the medication section (10160-0)."""
    document_id, version, effective, patient, practitioner = header
    items = [_drug_line(cda, entry) for entry in cda.all(f"{cda.section('10160-0')}//v3:substanceAdministration")]
    if not items:
        raise SourceProblem("source.cda.section.missing", "no drug in the medication section",
                            section_label("10160-0"))
    provider = "/v3:ClinicalDocument/v3:recordTarget/v3:patientRole/v3:providerOrganization"
    department = cda.text(f"{provider}/v3:id[@root='{DEPARTMENT_ROOT}']/@extension")
    # The published template often leaves the id empty and names the department: a named
    # department is used only when codes.department maps the name (a name is no hub code).
    department = cda.code("department", department) if department else \
        cda.options.get("codes", {}).get("department", {}).get(cda.text(f"{provider}/v3:name"))
    body = {"prescriptionTime": cda.time("(/v3:ClinicalDocument/v3:author/v3:time/@value)[1]", required=False,
                                         missing="author/time/@value") or effective, "department": department or None,
            "diagnosis": _diagnoses(cda, "29548-5", required=False), "item": items[:200]}
    return Record("Prescription", document_id, version, effective, patient, body, practitioner)


def _drug_line(cda: _Cda, entry: etree._Element) -> dict:
    drug = "v3:consumable/v3:manufacturedProduct/v3:manufacturedLabeledDrug"
    name = cda.text(f"{drug}/v3:name", entry)[:200]
    # Many HIS leave the drug code empty and give the generic name: codes.drug maps a code or a name
    # (a name that codes.drug does not map is no code).
    code = cda.text(f"{drug}/v3:code/@code", entry)
    code = cda.code("drug", code) if code else cda.options.get("codes", {}).get("drug", {}).get(name, "")
    if not code:
        raise SourceProblem("source.cda.field.missing", "a drug has no code",
                            location(entry, "consumable", "manufacturedProduct", "manufacturedLabeledDrug", "code"))
    total = "v3:entryRelationship/v3:observation[v3:code/@code='DE06.00.135.00']/v3:value"  # 药物使用总剂量
    quantity = cda.text(f"{total}/@value", entry)
    where = location(entry, "entryRelationship", "observation[DE06.00.135.00]", "value")
    if not quantity:
        raise SourceProblem("source.cda.field.missing", "a required element is empty", where)
    dose = " ".join(filter(None, (cda.text("v3:doseQuantity/@value", entry), cda.text("v3:doseQuantity/@unit", entry))))
    frequency = cda.text("v3:rateQuantity/@unit", entry) or cda.text("v3:rateQuantity/@value", entry)
    return {"drug": {"code": code, "displayName": name or None},
            "specification": cda.text("v3:entryRelationship/v3:observation[v3:code/@code='DE08.50.043.00']/v3:value",
                                      entry)[:200],
            "quantity": decimal_text(quantity, field=where, places=3, trim=True,
                                     code="source.cda.number.invalid"),
            "unit": cda.text(f"{total}/@unit", entry)[:200],
            "dosage": " ".join(filter(None, (dose, frequency, cda.text("v3:routeCode/@displayName", entry))))[:200]}


TEMPLATES: dict[str, Callable[[_Cda, tuple], Record]] = {
    "2.16.156.10011.2.1.1.22": _outpatient, "2.16.156.10011.2.1.1.52": _inpatient, "2.16.156.10011.2.1.1.27": _lab,
    "2.16.156.10011.2.1.1.24": _prescription,
}


@source("cda")
def cda(payload: bytes, context: SourceContext) -> Iterator[SourceItem]:
    fallback_key = "sha256:" + hashlib.sha256(payload).hexdigest()
    try:
        document = _Cda(_parse(payload), context.options)
        template = next((t for t in document.all("/v3:ClinicalDocument/v3:templateId/@root") if t in TEMPLATES), None)
        if template is None:
            raise SourceProblem("source.cda.template.unknown", "no mapped WS/T 500 template id", "templateId")
        header = _header(document)
    except SourceProblem as problem:
        yield SourceItem(key=fallback_key, problem=Quarantine(problem.code, problem.message, problem.field))
        return
    key = f"cda:{template}:{header[0]}:{header[1]}"
    yield finish(key, lambda: TEMPLATES[template](document, header), context)


__all__ = ["cda", "TEMPLATES", "SECTION_NAMES", "location", "section_label"]
