"""Terminology: the hub's code lists (ICD-10, GB/T 2260/2261, notifiable diseases, …) as concepts."""
from .codes import CodeSystem, Concept, code_systems
from .forms import has_form, well_formed
from .imports import CodeListError, Imported, import_code_list, importable
from .service import ancestors, lookup, systems, value_set

__all__ = ["Concept", "CodeSystem", "code_systems", "lookup", "value_set", "systems", "ancestors",
           "has_form", "well_formed", "CodeListError", "Imported", "import_code_list", "importable"]
