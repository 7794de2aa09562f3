"""The demo's synthetic immunizations (hub/cli/demo_visits.py): valid documents (XSD and code lists)
of invented children at the clinics, enough per district and month that the maternal-and-child page's
immunization card shows numbers (five children or more) rather than a withheld cell."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timezone

from lxml import etree

from hub.cli.demo_visits import DOSES_PER_MONTH, SENDERS, documents
from schemas.validation import validate

DOC = "{urn:hie:doc:v1}"
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)


def test_the_clinics_vaccinate_five_or_more_invented_children_a_month_in_each_district():
    districts = {member: district for member, _, district in SENDERS}
    children: dict[tuple[str, str], set[str]] = defaultdict(set)
    doses = 0
    for member, made in documents(now=NOW).items():
        for doc in made:
            if etree.QName(doc).localname != "Immunization":
                continue
            assert member.startswith("CLINIC") and "-SYN-IM-" in doc.find(f"{DOC}header/{DOC}id").get("extension")
            validate(doc)
            patient = doc.find(f"{DOC}header/{DOC}patient")
            assert patient.findtext(f"{DOC}name").startswith("合成")
            assert date.fromisoformat(patient.find(f"{DOC}birthDate").get("value")).year >= 2020  # a child
            given = doc.find(f"{DOC}body/{DOC}administeredOn").get("value")
            children[districts[member], given[:7]].add(patient.find(f"{DOC}id").get("extension"))
            doses += 1
    assert doses == 3 * 3 * DOSES_PER_MONTH  # three clinics, this month and the two before
    assert {month for _, month in children} == {"2026-09", "2026-10", "2026-11"}
    assert all(len(persons) >= 5 for persons in children.values()), {k: len(v) for k, v in children.items()}
