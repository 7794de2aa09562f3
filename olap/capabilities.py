"""What a ClickHouse release can do: the features the mart's DDL and queries depend on."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    """Engine features that differ between ClickHouse 18.16 and current releases.

    Thresholds are the releases where a feature became generally available (not experimental):
    LowCardinality 19.0 (18.16 refuses it without ``allow_experimental_low_cardinality_type``),
    window functions 21.9, insert deduplication tokens for plain MergeTree 22.2,
    ``ReplacingMergeTree(version, is_deleted)`` 23.2.
    """

    version: tuple[int, ...]
    supports_lowcardinality: bool
    supports_window_functions: bool
    supports_insert_dedup: bool
    supports_is_deleted: bool

    @classmethod
    def for_version(cls, version: tuple[int, ...]) -> "Capabilities":
        """The capabilities of a ClickHouse release, e.g. ``(18, 16, 1)``."""
        return cls(
            version=version,
            supports_lowcardinality=version >= (19, 0),
            supports_window_functions=version >= (21, 9),
            supports_insert_dedup=version >= (22, 2),
            supports_is_deleted=version >= (23, 2),
        )


def parse_version(text: str) -> tuple[int, ...]:
    """``'18.16.1'`` or ``'26.9.2.1'`` -> a tuple of ints (what ``SELECT version()`` returns)."""
    numbers = re.findall(r"\d+", text)
    if not numbers:
        raise ValueError("not a ClickHouse version")
    return tuple(int(number) for number in numbers)


__all__ = ["Capabilities", "parse_version"]
