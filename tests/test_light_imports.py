"""Listing the claims needs no PyTorch: `python -m verify list` runs where torch is not installed.

The subprocess blocks every import of ``torch`` with a meta-path finder; the control shows the blocker
does stop a module that needs PyTorch.  ``list`` reads the committed claim index and imports neither
PyTorch nor SymPy nor Matplotlib (issue 23: it took 4-6 s importing every claim module; 0.3 s now,
benchmarks/README.md).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from waiting import HANG_S

ROOT = Path(__file__).resolve().parents[1]
BLOCK = """
import sys
class NoTorch:
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
sys.meta_path.insert(0, NoTorch())
"""


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], cwd=ROOT, capture_output=True, text=True,
                          timeout=HANG_S)


def test_list_runs_without_pytorch():
    done = _run("import runpy; sys.argv = ['verify', 'list']; runpy.run_module('verify', run_name='__main__')")
    assert done.returncode == 0, done.stderr
    for claim in ("D1-", "E1-", "Q1-", "Q3-"):
        assert claim in done.stdout
    assert "Traceback" not in done.stderr


def test_the_blocker_stops_what_needs_pytorch():
    done = _run("import verify.noisy_quadratic.spectrum_training")
    assert done.returncode != 0 and "torch is blocked" in done.stderr


def test_list_imports_no_sympy_torch_or_matplotlib():
    done = _run("from verify.cli import main\n"
                "assert main(['list']) == 0\n"
                "print(sorted(m for m in ('sympy', 'torch', 'matplotlib') if m in sys.modules), file=sys.stderr)")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr[-500:]
    assert "Q3-" in done.stdout and "E2-" in done.stdout


def test_the_judging_rules_import_no_scipy_stats():
    """``verify.stats`` imports ``scipy.stats`` on first use (0.2 s of every ``simulate``'s start-up went to it,
    through the prediction's import of D9-t-half's tolerance); the control calls a function that needs it."""
    done = _run("import verify.stats as s\n"
                "print('scipy.stats' in sys.modules, file=sys.stderr)\n"
                "s.fit_slope([0, 1, 2], [0, 1, 2.1])\n"
                "print('scipy.stats' in sys.modules, file=sys.stderr)")
    assert done.returncode == 0, done.stderr
    assert done.stderr.split() == ["False", "True"], done.stderr[-500:]
