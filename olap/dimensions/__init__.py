"""Dimension frames (from code lists, the calendar and the registry) and their idempotent load."""
from .calendar import date_dimension
from .codes import (
    diagnosis_dimension, disease_dimension, division_dimension, drug_dimension, icd10_hierarchy, vaccine_dimension,
)
from .institutions import institution_dimension
from .load import DimensionLoad, load_dimension

__all__ = ["date_dimension", "diagnosis_dimension", "disease_dimension", "division_dimension", "drug_dimension",
           "icd10_hierarchy", "vaccine_dimension", "institution_dimension", "DimensionLoad", "load_dimension"]
