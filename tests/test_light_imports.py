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


def test_the_command_line_parser_imports_no_numpy_or_jsonschema():
    """``--help`` and ``list`` build the whole parser: the stages subcommand and the papers' one-line titles (the
    report's section model) without NumPy, the stage detector or ``jsonschema`` (0.16-0.17 s before, 0.08 s
    now); the control asks the same packages for what needs them (the detector, a report's validation)."""
    done = _run("import contextlib, io\n"
                "from verify.cli import main\n"
                "with contextlib.redirect_stdout(io.StringIO()):\n"
                "    try:\n"
                "        main(['--help'])\n"
                "    except SystemExit:\n"
                "        pass\n"
                "heavy = ('numpy', 'jsonschema', 'verify.stages.detect')\n"
                "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
                "from verify.stages import detect_stages\n"
                "from verify.report import validate_report\n"
                "try:\n"
                "    validate_report({})\n"
                "except Exception:\n"
                "    pass\n"
                "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-2:] == ["[]", "['jsonschema', 'numpy', 'verify.stages.detect']"], done.stderr[-500:]
