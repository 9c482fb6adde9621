"""A fourth paper in the tree takes at most seven files (issue 22): its theory package (data and one derivation),
its verify package (one ``Paper(...)`` declaration, a context, a claims package with one claim module) and its key
in ``theory.PAPERS``.  The test writes exactly those files into a copy of ``theory/`` and ``verify/``, writes the
claim index again (generated, as ``docs/adding.md`` says) and runs ``list`` and ``run`` on the copy: the claim is
listed, passes, and its controls fail.  The derivation and the claim are those of the outside-paper fixture
(``tests/data/outside_paper``), moved into the tree.  Control: a copy in which the claims module is named after
no derivation lists no claim of the paper."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "outside_paper" / "toy_flow"

THEORY_INIT = '''"""A toy paper in the tree: exponential decay of the linear flow."""
from __future__ import annotations

from .. import derivation_functions

KEY = "toy-decay"
ARXIV = "none (a test paper)"
TITLE = "Exponential decay of the linear flow (a toy paper in the tree)"
LABEL = "derivation of a toy result"
LATEX_NAMES: dict = {}
DERIVATIONS = {"T1": "decay"}

module, derive = derivation_functions(__name__, DERIVATIONS, LABEL, LATEX_NAMES)
'''

VERIFY_INIT = '''"""Checks of the toy paper."""
from __future__ import annotations

import theory.toy_decay as _theory

from ..registry import Paper, register_paper

KEY = _theory.KEY

PAPER = register_paper(Paper(key=KEY, package=__name__, label="check of a toy derivation",
                             heuristic_label="measurement of a toy statement", make_context=".context:Context.make"))
'''

CONTEXT = '''"""What the toy paper's claim checks receive."""
from __future__ import annotations

from dataclasses import dataclass

from theory.toy_decay import KEY

from ..registry import claims_for
from ..seeds import SeededContext

claim = claims_for(KEY)


@dataclass
class Context(SeededContext):
    PROFILES = {"quick": "quick", "default": "default", "full": "full"}

    def config(self) -> dict:
        return {"profile": self.profile, "seed": self.seed}
'''


def _claim_module() -> str:
    """The fixture's claim module, moved into the tree (its imports are the only change)."""
    text = (FIXTURE / "claims.py").read_text()
    assert "from . import decay, theory\n" in text
    return text.replace("from . import decay, theory\n", "import theory.toy_decay as theory\nfrom theory.toy_decay import decay\n")


def fourth_paper(dest: Path, claims_name: str = "decay") -> list[Path]:
    """Copy ``theory/`` and ``verify/`` to ``dest`` and add the toy paper; return the files written or edited."""
    for top in ("theory", "verify"):
        shutil.copytree(ROOT / top, dest / top, ignore=shutil.ignore_patterns("__pycache__"))
    files = {
        dest / "theory" / "toy_decay" / "__init__.py": THEORY_INIT,
        dest / "theory" / "toy_decay" / "decay.py": (FIXTURE / "decay.py").read_text(),
        dest / "verify" / "toy_decay" / "__init__.py": VERIFY_INIT,
        dest / "verify" / "toy_decay" / "context.py": CONTEXT,
        dest / "verify" / "toy_decay" / "claims" / "__init__.py": '"""The toy paper\'s claims."""\n',
        dest / "verify" / "toy_decay" / "claims" / f"{claims_name}.py": _claim_module(),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    papers = dest / "theory" / "__init__.py"
    source = papers.read_text()
    assert '    "noisy-quadratic": "noisy_quadratic",\n}' in source
    papers.write_text(source.replace('    "noisy-quadratic": "noisy_quadratic",\n}',
                                     '    "noisy-quadratic": "noisy_quadratic",\n    "toy-decay": "toy_decay",\n}'))
    return [*files, papers]


def _verify(dest: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(dest), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], cwd=dest, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_a_fourth_paper_takes_seven_files(tmp_path):
    written = fourth_paper(tmp_path)
    assert len(written) <= 7
    index = _verify(tmp_path, "-m", "verify.claim_index")
    assert index.returncode == 0, index.stderr
    listed = _verify(tmp_path, "-m", "verify", "list")
    assert listed.returncode == 0 and "T1-decay-rate" in listed.stdout and "toy-decay" in listed.stdout, listed
    run = _verify(tmp_path, "-m", "verify", "run", "T1-decay-rate", "--quick", "--no-cache", "--out", "out")
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(next((tmp_path / "out" / "toy-decay").glob("*/report.json")).read_text())
    (verdict,) = report["claims"]
    assert verdict["claim"] == "T1-decay-rate" and verdict["status"] == "passed"
    assert verdict["negative_control"]["status"] == "failed"
    assert verdict["calibrated_control"]["status"] == "failed"


@pytest.mark.slow
def test_a_claim_module_named_after_no_derivation_is_not_run_control(tmp_path):
    fourth_paper(tmp_path, claims_name="stray")
    assert _verify(tmp_path, "-m", "verify.claim_index").returncode == 0
    listed = _verify(tmp_path, "-m", "verify", "list")
    assert listed.returncode == 0 and "T1-decay-rate" not in listed.stdout
