"""A clinic HIS that writes HL7 v2 files: one ADT^A03 message per finished outpatient visit.

What the HIS writes is what the agent's ``hl7v2`` source reads (docs/adapters.md, "hl7v2"): the
patient in PID (resident ID typed ``NNCHN``, the member's outpatient number typed ``PI``), the
visit in PV1 (the HIS's own department code, mapped in the agent's ``[sources.codes.department]``),
the diagnoses in DG1, each charge category in FT1 (the HIS's own fee codes, mapped in
``[sources.codes.charge_category]``) and the HIS's own document number and revision in a Z-segment
(``ZDC``), so the agent's document has the region's document id and version (1, or a corrected
visit's). MSH-18 names the character set the file is written in (``UNICODE UTF-8`` or
``GB 18030-2000``).
"""
from __future__ import annotations

from datetime import datetime

from .channel_visit import VisitRecord
from .model import CLINIC_DEPARTMENTS

OUTPATIENT_NO_TYPE = "PI"  # HL7 table 0203: patient internal identifier (the member's 门诊号)
# the HIS's own codes: registry department code → HIS department code; charge category → fee code
DEPARTMENTS = {"QK": "QKMZ", "YF": "YFBJ", "EB": "ETBJ"}
FEES = {"drugs": ("XY01", "西药费"), "examinations": ("JC01", "检查费"), "treatment": ("ZL01", "治疗费"),
        "other": ("QT01", "其他费")}
CHARSETS = {"utf-8": "UNICODE UTF-8", "gb18030": "GB 18030-2000"}
SEX = {"1": "M", "2": "F", "0": "U", "9": "O"}  # GB/T 2261.1 → HL7 0001 (the agent maps them back)


def _escape(value: str) -> str:
    """A value with the HL7 delimiters escaped (escape character first)."""
    for raw, escaped in (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\")):
        value = value.replace(raw, escaped)
    return value


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y%m%d%H%M%S}"


def _segment(name: str, fields: dict[int, str]) -> str:
    """``name|f1|f2…`` with the numbered fields in place and the others empty."""
    return "|".join([name, *(fields.get(number, "") for number in range(1, max(fields) + 1))])


def message(visit: VisitRecord, *, member: str, encoding: str) -> str:
    """The ADT^A03 message of ``visit`` (segments separated by CR)."""
    ids = [f"{_escape(visit.resident_id)}^^^^NNCHN"] if visit.resident_id else []
    ids.append(f"{_escape(visit.outpatient_no)}^^^^{OUTPATIENT_NO_TYPE}")
    department = DEPARTMENTS[visit.department]
    doctor = f"{_escape(visit.practitioner[0])}^{_escape(visit.practitioner[1])}"
    # a corrected visit is sent again as the next revision of the same visit, in a message of its own
    control = visit.record_id if visit.version == 1 else f"{visit.record_id}-{visit.version}"
    settled = _stamp(visit.settled)
    msh = (f"MSH|^~\\&|HIS|{member}|HIE|HUB|{settled}+0800||ADT^A03^ADT_A03|{_escape(control)}|P|2.5|||||CHN|"
           f"{CHARSETS[encoding]}")
    segments = [
        msh,
        _segment("EVN", {1: "A03", 2: settled}),
        _segment("PID", {1: "1", 3: "~".join(ids), 5: f"{_escape(visit.name[:1])}^{_escape(visit.name[1:])}^^^^^L",
                         7: visit.birth_date.replace("-", ""), 8: SEX.get(visit.sex or "", ""),
                         11: f"{_escape(visit.address)}^^^^^^^^{visit.division or ''}" if visit.address else "",
                         13: _escape(visit.phone or "")}),
        _segment("PV1", {1: "1", 2: "E" if visit.emergency else "O", 3: f"{department}^^^{member}",
                         7: doctor, 10: department, 19: _escape(visit.record_id), 44: _stamp(visit.visit_time)}),
        *(_segment("DG1", {1: str(number), 3: f"{_escape(code)}^^I10", 6: "F"})
          for number, code in enumerate(visit.diagnoses, start=1)),
        *(_segment("FT1", {1: str(number), 4: settled, 6: "CG", 7: "^".join(FEES[category]), 10: "1", 11: amount})
          for number, (category, amount) in enumerate(visit.charges, start=1)),
        _segment("ZDC", {1: _escape(visit.record_id), 2: str(visit.version)}),
    ]
    return "\r".join(segments)


def hl7_file(visits: list[VisitRecord], *, member: str, encoding: str) -> bytes:
    """The bytes of one HL7 file holding ``visits`` in the given character set."""
    return "".join(message(visit, member=member, encoding=encoding) + "\r\n" for visit in visits).encode(encoding)


def source_section(*, encoding: str) -> str:
    """The ``[[sources]]`` entry of the agent's TOML that reads these files."""
    departments = "\n".join(f'{DEPARTMENTS[code]} = "{standard}"' for code, _, standard, _ in CLINIC_DEPARTMENTS)
    fees = "\n".join(f'{code} = "{category}"' for category, (code, _) in FEES.items())
    return f'''[[sources]]
name = "his-hl7"
kind = "hl7v2"
folder = "hl7-in"
pattern = "*.hl7"
settle_seconds = 0
default_charset = "{CHARSETS[encoding]}"
[sources.identifier_types]
{OUTPATIENT_NO_TYPE} = "2.16.156.10011.1.11"
[sources.codes.department]
{departments}
[sources.codes.charge_category]
{fees}
[sources.fields]
document_id = "ZDC-1"
version = "ZDC-2"
'''


__all__ = ["DEPARTMENTS", "FEES", "CHARSETS", "message", "hl7_file", "source_section"]
