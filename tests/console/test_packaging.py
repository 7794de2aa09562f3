"""The console's templates and static files ship in the package: every file under them matches a
``package_data`` pattern of setup.cfg (one pattern per line: setuptools reads a comma list as one)."""
from __future__ import annotations

import configparser
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "hub" / "web" / "console"


def test_every_console_asset_is_package_data():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    patterns = [line.strip() for line in config["options.package_data"]["hub"].splitlines() if line.strip()]
    assert all("," not in pattern for pattern in patterns)
    files = [path.relative_to(ROOT / "hub").as_posix() for folder in ("templates", "static")
             for path in (CONSOLE / folder).rglob("*") if path.is_file()]
    assert any(name.endswith("echarts.min.js") for name in files) and any(name.endswith(".html") for name in files)
    missing = [name for name in files if not any(fnmatch(name, pattern) and name.count("/") == pattern.count("/")
                                                 for pattern in patterns)]
    assert missing == []


def test_echarts_is_vendored_with_its_licence_and_notice():
    vendor = CONSOLE / "static" / "vendor" / "echarts-6.1.0"
    assert {"echarts.min.js", "LICENSE", "NOTICE"} <= {path.name for path in vendor.iterdir()}
    assert "Apache License" in (vendor / "LICENSE").read_text()
