"""support/bytecode.py: under PYTHONDONTWRITEBYTECODE, a process the tests start compiles a module once
into the shared prefix and loads it from there next time; the source tree gets no __pycache__."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import os, subprocess, sys
from tests.support.bytecode import share_bytecode
share_bytecode()
run = lambda: subprocess.run([sys.executable, "-c", "import clinic_module"], env=os.environ, check=True)
run(); run()
"""


def test_a_child_process_caches_its_modules_under_the_prefix_and_not_in_the_tree(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "clinic_module.py").write_text("VISITS = 3\n", encoding="utf-8")
    prefix = tmp_path / "bytecode"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(prefix),
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(source)])}
    subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=ROOT, check=True, timeout=60)
    cached = list(prefix.rglob("clinic_module.*.pyc"))
    assert len(cached) == 1 and cached[0].parent.as_posix().endswith(source.as_posix())
    assert not (source / "__pycache__").exists()


def test_without_the_variable_nothing_changes(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    probe = ("import os, sys; from tests.support.bytecode import share_bytecode; "
             "print(share_bytecode(), sys.pycache_prefix, 'PYTHONPYCACHEPREFIX' in os.environ)")
    out = subprocess.run([sys.executable, "-c", probe], env={**env, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                         capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.split() == ["None", "None", "False"]
