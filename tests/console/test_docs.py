"""docs/console.md describes what the console has: a line of its module table for every module of
``hub/web/console`` and a section for every page of the menu (``pages.NAVIGATION``)."""
from __future__ import annotations

from pathlib import Path

from hub.web.console.pages import NAVIGATION

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docs" / "console.md").read_text(encoding="utf-8")


def test_every_module_has_a_line_in_the_module_table():
    table = TEXT.split("## ", 1)[0]
    modules = sorted(path.name for path in (ROOT / "hub" / "web" / "console").glob("*.py")
                     if path.name != "__init__.py")
    assert [name for name in modules if f"`{name}`" not in table] == []


def test_every_page_of_the_menu_has_a_section():
    headings = [line for line in TEXT.splitlines() if line.startswith("#")]
    assert [item.url for item in NAVIGATION if not any(f"`{item.url}`" in line for line in headings)] == []
