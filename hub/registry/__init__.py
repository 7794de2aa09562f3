"""Registries of the region (WS/T 790; IHE CSD/HPD): divisions, institutions, departments, practitioners,
and the bureau role's identified-access grants. See docs/registries.md.

Service functions live here; ``hub.registry.soap`` (spyne) and ``hub.web.registry`` (FastAPI) are the
transports and are imported by the application, not by this package.
"""
from .access import (
    create_grant,
    get_grant,
    get_grant_or_raise,
    has_identified_grant,
    query_grants,
    revoke_grant,
    role_of,
)
from .actor import HUB_OPERATOR, Actor
from .hierarchy import InstitutionChain, chain_of
from .importing import ImportCounts, RegistryEntry, import_entries, read_entries
from .models import TABLES, AccessGrant, Department, DivisionPopulation, Institution, Practitioner, Region
from .population import PopulationCounts, import_population, query_population, read_population_file
from .regions import get_region, get_region_or_raise, region_children, region_path, subtree_codes, sync_regions
from .seed import seed_demo
from .service import (
    create_institution,
    get_institution,
    get_institution_or_raise,
    query_institutions,
    register_institution,
    update_institution,
)
from .staff import (
    create_department,
    create_practitioner,
    get_department,
    get_department_or_raise,
    get_practitioner,
    get_practitioner_or_raise,
    query_departments,
    query_practitioners,
    register_department,
    register_practitioner,
    update_department,
    update_practitioner,
)

__all__ = [
    "Actor", "HUB_OPERATOR", "TABLES", "Region", "Institution", "Department", "Practitioner", "AccessGrant",
    "role_of", "has_identified_grant", "get_grant", "get_grant_or_raise", "query_grants", "create_grant",
    "revoke_grant", "get_region", "get_region_or_raise", "region_children", "region_path", "subtree_codes",
    "sync_regions", "seed_demo", "InstitutionChain", "chain_of", "get_institution", "get_institution_or_raise",
    "create_institution", "update_institution", "register_institution", "query_institutions", "get_department",
    "get_department_or_raise", "create_department", "update_department", "register_department",
    "query_departments", "get_practitioner", "get_practitioner_or_raise", "create_practitioner",
    "update_practitioner", "register_practitioner", "query_practitioners", "RegistryEntry", "ImportCounts",
    "read_entries", "import_entries", "DivisionPopulation", "PopulationCounts", "read_population_file",
    "import_population", "query_population",
]
