"""Client of the hub's records service (/soap/records): resident query and record access.

Same signing and encryption as the exchange; every answer holding personal data arrives sealed
(encrypted for this organization, signed by the hub) and is verified and decrypted here.
"""
from __future__ import annotations

import json
from datetime import date

from lxml import etree

from protocol.ns import HIS, q
from protocol.sealed import open_sealed
from protocol.xmlparse import parse_untrusted

from ..errors import ResponseError
from .hub_client import HubClient

RECORDS = "urn:hie:records:v1"


def _present(**arguments) -> dict:
    return {name: (value.isoformat() if isinstance(value, date) else value)
            for name, value in arguments.items() if value is not None}


class RecordsClient(HubClient):
    """Read the health-record store as one member organization (URL: …/soap/records)."""

    namespace = RECORDS

    def _result(self, response: etree._Element) -> bytes:
        wrapper = response.find(f".//{q(HIS, 'Result')}")
        if wrapper is None:
            raise ResponseError("answer without a sealed Result")
        return open_sealed(wrapper, recipient=self.credentials, check_signer=self._check_hub_signer)

    def find_residents(self, *, identifier_root: str | None = None, identifier: str | None = None,
                       name: str | None = None, birth_date: date | None = None, sex: str | None = None,
                       purpose: str | None = None) -> list[dict]:
        """Persons by identifier (root + value) or demographics (name + birth date …)."""
        response = self._call("FindResidents", **_present(IdentifierRoot=identifier_root, Identifier=identifier,
                                                           Name=name, BirthDate=birth_date, Sex=sex, Purpose=purpose))
        return json.loads(self._result(response))

    def longitudinal_record(self, person_id: int, *, purpose: str | None = None) -> dict:
        """Every encounter, diagnosis, medication, lab … of the person, newest first."""
        response = self._call("GetLongitudinalRecord", **_present(PersonId=person_id, Purpose=purpose))
        return json.loads(self._result(response))

    def query_documents(self, person_id: int, *, document_type: str | None = None, institution: str | None = None,
                        date_from: date | None = None, date_to: date | None = None,
                        purpose: str | None = None) -> list[dict]:
        response = self._call("QueryDocuments", **_present(PersonId=person_id, DocumentType=document_type,
                                                            Institution=institution, From=date_from, To=date_to,
                                                            Purpose=purpose))
        return json.loads(self._result(response))

    def retrieve_document(self, *, institution: str, root: str, document_id: str,
                          purpose: str | None = None) -> etree._Element:
        response = self._call("RetrieveDocument", **_present(Institution=institution, Root=root,
                                                              DocumentId=document_id, Purpose=purpose))
        return parse_untrusted(self._result(response))


__all__ = ["RecordsClient", "RECORDS"]
