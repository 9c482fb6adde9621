"""A paper from outside the project (issue 22): a separately installed package registers a paper through the
entry-point group ``dynamics_verifier.papers`` and then appears in ``list``, ``all``, the index and the reports
like the built-in three.

The fixture package (tests/data/outside_paper: one derivation, one claim, its negative and calibrated controls)
is installed with pip into a folder of this test, put on the path of the commands run here; nothing is
installed into the test environment itself.  Control: a package whose entry point registers no paper is left
out with one line naming it, and the built-in papers still list.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "data" / "outside_paper"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    # pip builds in a copy (a build writes egg-info beside the sources)
    subprocess.run(["cp", "-r", str(FIXTURE), str(build / "pkg")], check=True)
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *isolation,
                           "--target", str(target), str(build / "pkg")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return target


def _verify(site: Path, *args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]), "VERIFY_NO_CACHE": "1"}
    return subprocess.run([sys.executable, "-m", "verify", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_an_installed_paper_lists_runs_and_reports_like_a_built_in_one(site, tmp_path):
    listed = _verify(site, "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "[toy-flow]" in listed.stdout and "T1-decay-rate" in listed.stdout and "[multistage]" in listed.stdout
    assert "T1   decay" in listed.stdout                        # its derivation, as the built-in ones list

    out = tmp_path / "reports"
    ran = _verify(site, "all", "--paper", "toy-flow", "--quick", "--out", str(out), "--json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["papers"][0]["claims"] == {"T1-decay-rate": "passed"}
    report = json.loads((out / "toy-flow" / "quick-seed0" / "report.json").read_text())
    claim = report["claims"][0]
    assert report["paper"]["key"] == "toy-flow" and claim["status"] == "passed"
    assert claim["details"]["derivation_identities_verified"] is True
    assert (out / "toy-flow" / "quick-seed0" / "report.html").is_file()
    assert "toy-flow" in (out / "index.md").read_text()

    # its controls ran and failed, as every built-in claim's must
    assert claim["negative_control"]["status"] == "failed"
    assert claim["calibrated_control"]["status"] == "failed"

    derived = _verify(site, "run", "T1", "--quick", "--out", str(tmp_path / "claims"), cwd=tmp_path)
    assert derived.returncode == 0, derived.stderr


def test_a_package_that_registers_no_paper_is_left_out_with_one_line_control(site, tmp_path):
    broken = tmp_path / "broken_site"
    (broken / "nothing_here").mkdir(parents=True)
    (broken / "nothing_here" / "__init__.py").write_text("")
    info = broken / "nothing_here-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nothing-here\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[dynamics_verifier.papers]\nghost = nothing_here\n")
    env_site = Path(str(site) + os.pathsep + str(broken))
    listed = _verify(env_site, "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    notes = [ln for ln in listed.stderr.splitlines() if "ghost" in ln]
    assert len(notes) == 1 and "registered no paper" in notes[0] and "Traceback" not in listed.stderr
    assert "[toy-flow]" in listed.stdout and "[multistage]" in listed.stdout and "ghost" not in listed.stdout
