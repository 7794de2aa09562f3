"""Terminology look-ups: the verbs the validator, normalizers and the registry service use."""
from __future__ import annotations

from .codes import Concept, code_systems


def systems() -> list[str]:
    """Names of the loaded code systems, sorted."""
    return sorted(code_systems())


def value_set(system: str) -> list[Concept]:
    """All concepts of a code system in list order (empty for an unknown system)."""
    loaded = code_systems().get(system)
    return [] if loaded is None else list(loaded.concepts)


def lookup(system: str, code: str) -> Concept | None:
    """The concept with this code in this system, or None."""
    loaded = code_systems().get(system)
    return None if loaded is None else loaded.by_code.get(code)


def ancestors(system: str, code: str) -> list[Concept]:
    """The parents of a concept, nearest first (stops at an unknown parent)."""
    chain: list[Concept] = []
    concept = lookup(system, code)
    while concept is not None and concept.parent and len(chain) < 32:
        concept = lookup(system, concept.parent)
        if concept is not None:
            chain.append(concept)
    return chain


__all__ = ["systems", "value_set", "lookup", "ancestors"]
