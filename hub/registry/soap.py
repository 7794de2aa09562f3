"""Registry and terminology service (SOAP, behind the security gate), after WS/T 790 and IHE CSD/HPD/SVS.

Like the other services, operations read their arguments from the gate's ``VerifiedRequest``
(``verified.content``), never from spyne's view of the envelope; spyne's declarations give the WSDL.
Only the bureau role registers institutions; an institution registers its own departments and staff.
"""
from __future__ import annotations

from spyne import ComplexModel, ServiceBase, Unicode, rpc

from protocol.errors import HubError
from protocol.ns import q
from schemas import terminology

from ..exchange.gate import Service
from ..exchange.operation import operation_context
from ..store.db import transaction
from . import access, service, staff
from .actor import Actor

NAMESPACE = "urn:hie:registry:v1"
OPERATIONS = frozenset({"RegisterInstitution", "QueryInstitutions", "RegisterDepartment", "QueryDepartments",
                        "RegisterPractitioner", "QueryPractitioners", "LookupCode", "ListValueSet"})
SERVICE = Service(NAMESPACE, OPERATIONS)


class InstitutionInfo(ComplexModel):
    __namespace__ = NAMESPACE
    _type_info = [("Code", Unicode(min_occurs=1)), ("Name", Unicode(min_occurs=1)), ("Kind", Unicode(min_occurs=1)),
                  ("Level", Unicode), ("DivisionCode", Unicode(min_occurs=1)), ("ParentCode", Unicode),
                  ("Status", Unicode)]


class DepartmentInfo(ComplexModel):
    __namespace__ = NAMESPACE
    _type_info = [("InstitutionCode", Unicode(min_occurs=1)), ("Code", Unicode(min_occurs=1)),
                  ("Name", Unicode(min_occurs=1)), ("StandardCode", Unicode(min_occurs=1)), ("Status", Unicode)]


class PractitionerInfo(ComplexModel):
    __namespace__ = NAMESPACE
    _type_info = [("InstitutionCode", Unicode(min_occurs=1)), ("Code", Unicode(min_occurs=1)),
                  ("Name", Unicode(min_occurs=1)), ("TitleCode", Unicode), ("DepartmentCode", Unicode),
                  ("Status", Unicode)]


class ConceptInfo(ComplexModel):
    __namespace__ = NAMESPACE
    _type_info = [("System", Unicode), ("Code", Unicode), ("Display", Unicode), ("Parent", Unicode)]


# element of the request → keyword of the service function
_INSTITUTION = {"Code": "code", "Name": "name", "Kind": "kind", "Level": "level", "DivisionCode": "division_code",
                "ParentCode": "parent_code", "Status": "status"}
_DEPARTMENT = {"InstitutionCode": "institution_code", "Code": "code", "Name": "name",
               "StandardCode": "standard_code", "Status": "status"}
_PRACTITIONER = {"InstitutionCode": "institution_code", "Code": "code", "Name": "name", "TitleCode": "title_code",
                 "DepartmentCode": "department_code", "Status": "status"}


def _arg(parent, name: str) -> str | None:
    text = None if parent is None else parent.findtext(q(NAMESPACE, name))
    return text.strip() if text and text.strip() else None


def _entry(verified, element: str, mapping: dict[str, str]) -> dict:
    """The entry's fields as service keywords (absent → None, which the service checks); absent Status is
    left out, so a new entry is active and a registered one keeps its status."""
    holder = verified.content.find(q(NAMESPACE, element))
    if holder is None:
        raise HubError("registry.invalid", "entry missing", field=f"/{verified.operation}/{element}")
    values = {keyword: _arg(holder, name) for name, keyword in mapping.items()}
    if values.get("status") is None:
        values.pop("status", None)
    return values


def _institution_info(row) -> InstitutionInfo:
    return InstitutionInfo(Code=row.code, Name=row.name, Kind=row.kind, Level=row.level,
                           DivisionCode=row.division_code, ParentCode=row.parent_code, Status=row.status)


def _department_info(row) -> DepartmentInfo:
    return DepartmentInfo(InstitutionCode=row.institution_code, Code=row.code, Name=row.name,
                          StandardCode=row.standard_code, Status=row.status)


def _practitioner_info(row) -> PractitionerInfo:
    return PractitionerInfo(InstitutionCode=row.institution_code, Code=row.code, Name=row.name,
                            TitleCode=row.title_code, DepartmentCode=row.department_code, Status=row.status)


def _concept_info(concept) -> ConceptInfo:
    return ConceptInfo(System=concept.system, Code=concept.code, Display=concept.display, Parent=concept.parent)


def _may_edit_staff_of(session, verified, institution_code: str | None) -> None:
    if verified.member != institution_code and access.role_of(session, verified.member) != "bureau":
        raise HubError("access.denied", "an institution edits only its own departments and practitioners")


class RegistryService(ServiceBase):
    """机构、科室、人员注册与术语服务 (institution, department, practitioner registries; terminology)."""

    @rpc(InstitutionInfo.customize(min_occurs=1), _returns=InstitutionInfo, _out_variable_name="Institution")
    def RegisterInstitution(ctx, Institution):
        hub, verified, client = operation_context(ctx)
        values = _entry(verified, "Institution", _INSTITUTION)
        with transaction(hub.sessions) as session:
            if access.role_of(session, verified.member) != "bureau":
                raise HubError("access.denied", "only the bureau registers institutions")
            row = service.register_institution(session, actor=Actor(verified.member, verified, client), **values)
            return _institution_info(row)

    @rpc(Unicode, Unicode, Unicode, Unicode, _returns=InstitutionInfo.customize(max_occurs="unbounded"),
         _out_variable_name="Institution")
    def QueryInstitutions(ctx, Division, Kind, Name, Parent):
        hub, verified, _client = operation_context(ctx)
        content = verified.content
        with hub.sessions() as session:
            rows = service.query_institutions(session, division=_arg(content, "Division"),
                                              kind=_arg(content, "Kind"), q=_arg(content, "Name"),
                                              parent=_arg(content, "Parent"), limit=service.MAX_RESULTS)
            return [_institution_info(row) for row in rows]

    @rpc(DepartmentInfo.customize(min_occurs=1), _returns=DepartmentInfo, _out_variable_name="Department")
    def RegisterDepartment(ctx, Department):
        hub, verified, client = operation_context(ctx)
        values = _entry(verified, "Department", _DEPARTMENT)
        with transaction(hub.sessions) as session:
            _may_edit_staff_of(session, verified, values.get("institution_code"))
            row = staff.register_department(session, actor=Actor(verified.member, verified, client), **values)
            return _department_info(row)

    @rpc(Unicode(min_occurs=1), _returns=DepartmentInfo.customize(max_occurs="unbounded"),
         _out_variable_name="Department")
    def QueryDepartments(ctx, InstitutionCode):
        hub, verified, _client = operation_context(ctx)
        with hub.sessions() as session:
            rows = staff.query_departments(session, institution_code=_arg(verified.content, "InstitutionCode"))
            return [_department_info(row) for row in rows]

    @rpc(PractitionerInfo.customize(min_occurs=1), _returns=PractitionerInfo, _out_variable_name="Practitioner")
    def RegisterPractitioner(ctx, Practitioner):
        hub, verified, client = operation_context(ctx)
        values = _entry(verified, "Practitioner", _PRACTITIONER)
        with transaction(hub.sessions) as session:
            _may_edit_staff_of(session, verified, values.get("institution_code"))
            row = staff.register_practitioner(session, actor=Actor(verified.member, verified, client), **values)
            return _practitioner_info(row)

    @rpc(Unicode(min_occurs=1), Unicode, _returns=PractitionerInfo.customize(max_occurs="unbounded"),
         _out_variable_name="Practitioner")
    def QueryPractitioners(ctx, InstitutionCode, DepartmentCode):
        hub, verified, _client = operation_context(ctx)
        content = verified.content
        with hub.sessions() as session:
            rows = staff.query_practitioners(session, institution_code=_arg(content, "InstitutionCode"),
                                               department_code=_arg(content, "DepartmentCode"))
            return [_practitioner_info(row) for row in rows]

    @rpc(Unicode(min_occurs=1), Unicode(min_occurs=1), _returns=ConceptInfo, _out_variable_name="Concept")
    def LookupCode(ctx, System, Code):
        _hub, verified, _client = operation_context(ctx)
        concept = terminology.lookup(_arg(verified.content, "System") or "", _arg(verified.content, "Code") or "")
        if concept is None:
            raise HubError("registry.not_found", "unknown code system or code")
        return _concept_info(concept)

    @rpc(Unicode(min_occurs=1), _returns=ConceptInfo.customize(max_occurs="unbounded"), _out_variable_name="Concept")
    def ListValueSet(ctx, System):
        _hub, verified, _client = operation_context(ctx)
        concepts = terminology.value_set(_arg(verified.content, "System") or "")
        if not concepts:
            raise HubError("registry.not_found", "unknown code system")
        return [_concept_info(concept) for concept in concepts]


__all__ = ["RegistryService", "NAMESPACE", "OPERATIONS", "SERVICE", "InstitutionInfo", "DepartmentInfo",
           "PractitionerInfo", "ConceptInfo"]
