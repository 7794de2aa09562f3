"""The cube registry: adding a cube is adding its declaration to one of these tuples."""
from __future__ import annotations

from .errors import CubeError
from .hospital import HOSPITAL_CUBES
from .model import Cube
from .public_health import PUBLIC_HEALTH_CUBES
from .quality import QUALITY_CUBES

CUBES: dict[str, Cube] = {cube.name: cube for cube in (*HOSPITAL_CUBES, *PUBLIC_HEALTH_CUBES, *QUALITY_CUBES)}


def get_cube(name: str) -> Cube:
    """The cube called ``name`` (``cube.not_found`` otherwise)."""
    cube = CUBES.get(name) if isinstance(name, str) else None
    if cube is None:
        raise CubeError("cube.not_found", "no such cube")
    return cube


def describe_all() -> list[dict]:
    """Every declaration as plain JSON, in registry order."""
    return [cube.describe() for cube in CUBES.values()]


__all__ = ["CUBES", "get_cube", "describe_all"]
