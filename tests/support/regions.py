"""The generated synthetic regions a session shares (``hie region generate``, small size): generation is
deterministic, so every test reads the same files. Generating one took 3-5 s here; tests in several
folders generated their own (tests/region, tests/registry) — they take these instead.

``region_dir``        seed 11, the region the tests of tests/region read
``other_region_dir``  seed 12, for the tests that need a second, different region
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from hub.cli.main import main

SEED = 11


def _generated(out, seed: int):
    result = CliRunner().invoke(main, ["region", "generate", "--out", str(out), "--seed", str(seed), "--size", "small"])
    assert result.exit_code == 0, result.output
    assert "documents" in result.output and "residents" in result.output  # counts and time per stage are printed
    return out


@pytest.fixture(scope="session")
def region_dir(tmp_path_factory):
    return _generated(tmp_path_factory.mktemp("region") / "small", SEED)


@pytest.fixture(scope="session")
def other_region_dir(tmp_path_factory):
    return _generated(tmp_path_factory.mktemp("region") / "other", 12)
