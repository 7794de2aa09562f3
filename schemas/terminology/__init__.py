"""Terminology: the hub's code lists (ICD-10, GB/T 2260/2261, notifiable diseases, …) as concepts."""
from .codes import AdditionsSource, CodeSystem, Concept, code_systems, generation, load_code_systems, use_additions
from .forms import has_form, well_formed
from .imports import CodeListError, Imported, importable, read_import
from .service import ancestors, lookup, systems, value_set

__all__ = ["Concept", "CodeSystem", "AdditionsSource", "code_systems", "load_code_systems", "use_additions",
           "generation", "lookup", "value_set", "systems", "ancestors", "has_form", "well_formed", "CodeListError",
           "Imported", "read_import", "importable"]
