"""Canonical document schemas (XSD per version and type), code lists and examples: data only.

Layout: ``v<N>/<Type>.xsd`` + ``v<N>/common.xsd`` + ``v<N>/bindings.json`` (which field uses which
code list), ``codes/<system>.csv`` (code lists), ``examples/<Type>.xml``.
"""
from pathlib import Path

SCHEMAS_DIR = Path(__file__).resolve().parent
CODES_DIR = SCHEMAS_DIR / "codes"
EXAMPLES_DIR = SCHEMAS_DIR / "examples"
REFERENCE_DIR = SCHEMAS_DIR / "reference"  # population denominators (demo figures; see its README)

__all__ = ["SCHEMAS_DIR", "CODES_DIR", "EXAMPLES_DIR", "REFERENCE_DIR"]
