"""One small region per test session: generation is deterministic, so every test reads the same files."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from hub.cli.main import main

SEED = 11


@pytest.fixture(scope="session")
def region_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("region") / "small"
    result = CliRunner().invoke(main, ["region", "generate", "--out", str(out), "--seed", str(SEED), "--size", "small"])
    assert result.exit_code == 0, result.output
    assert "documents" in result.output and "residents" in result.output  # counts and time per stage are printed
    return out
