"""Adapters: canonical-document builders and the client side of the exchange (library, agent)."""
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"  # named source samples: HL7 v2, CDA, CSV (synthetic)

__all__ = ["SAMPLES_DIR"]
