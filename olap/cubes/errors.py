"""Errors of the cube layer: an ``OlapError`` with a ``cube.*`` code and the field at fault.

Messages are fixed text: a query's values (institution codes, filters) are never echoed.
"""
from __future__ import annotations

from ..errors import OlapError


class CubeError(OlapError):
    """A cube query cannot be answered as asked; ``field`` (a JSON pointer) says which part is wrong."""

    code = "cube.query.invalid"


__all__ = ["CubeError"]
