"""``replace_section``: a benchmark's own section of ``bench/RESULTS.md``, replaced on each run.

A section is a level-2 heading (``## …``) and everything up to the next level-2 heading. The bench
that owns it writes the heading and the body; a run replaces the section in place (the rest of the
file, other benches' sections included, stays byte for byte), or appends it when it is not there yet.
"""
from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def replace_section(text: str, heading: str, body: str) -> str:
    """``text`` with the section under ``## heading`` replaced by ``body`` (appended if absent)."""
    title = f"## {heading}"
    lines = text.splitlines(keepends=True)
    section = f"{title}\n\n{body.strip()}\n"
    start = next((i for i, line in enumerate(lines) if line.rstrip("\n") == title), None)
    if start is None:
        return text.rstrip("\n") + "\n\n" + section
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    after = "".join(lines[end:])
    return "".join(lines[:start]) + section + ("\n" + after if after else "")


def write_section(heading: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section ``## heading`` of the results file at ``path``."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    path.write_text(replace_section(text, heading, body), encoding="utf-8")


__all__ = ["RESULTS", "replace_section", "write_section"]
