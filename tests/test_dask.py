"""Sweeps on Dask: a LocalCluster of two worker processes gives the same report.json as the local process pool,
and a second run of the same seed gives it again."""
from __future__ import annotations

import pytest

from verify.cli import main
from waiting import HANG_S

pytest.importorskip("distributed")


def test_a_local_dask_cluster_and_a_second_run_give_the_same_report_for_every_paper(tmp_path, capsys, monkeypatch):
    # cache off: every run computes afresh, so equal bytes mean the same seed gives the same JSON (no clock, no
    # worker-dependent order) on the process pool, again on it, and on Dask
    monkeypatch.setenv("VERIFY_NO_CACHE", "1")
    args = ["run", "D1", "D2", "E1-uv-map", "Q1-stationary-loss", "--quick", "--no-figures", "--workers", "2"]
    assert main(args + ["--out", str(tmp_path / "pool")]) == 0
    assert main(args + ["--out", str(tmp_path / "again")]) == 0
    assert main(args + ["--scheduler", "local", "--out", str(tmp_path / "dask")]) == 0
    for paper in ("multistage", "early-training", "noisy-quadratic"):
        pool = (tmp_path / "pool" / paper / "quick-seed0" / "report.json").read_bytes()
        for other in ("again", "dask"):
            assert (tmp_path / other / paper / "quick-seed0" / "report.json").read_bytes() == pool, (paper, other)


def test_the_local_default_never_imports_dask(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from verify.cli import main; "
            f"main(['run', 'D1', '--quick', '--no-figures', '--workers', '2', '--out', {str(tmp_path)!r}]); "
            "print('distributed' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=HANG_S)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr
