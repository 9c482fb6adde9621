"""Sweeps on Dask: a LocalCluster of two worker processes gives the same report.json as the local process pool."""
from __future__ import annotations

import pytest

from verify.cli import main
from waiting import HANG_S

pytest.importorskip("distributed")


def test_a_local_dask_cluster_gives_the_same_report_as_the_process_pool(tmp_path, capsys):
    args = ["run", "D1", "D2", "E1-uv-map", "--quick", "--no-figures", "--workers", "2"]
    assert main(args + ["--out", str(tmp_path / "pool")]) == 0
    assert main(args + ["--scheduler", "local", "--out", str(tmp_path / "dask")]) == 0
    for paper in ("multistage", "early-training"):
        pool = (tmp_path / "pool" / paper / "quick-seed0" / "report.json").read_bytes()
        dask = (tmp_path / "dask" / paper / "quick-seed0" / "report.json").read_bytes()
        assert pool == dask, paper


def test_the_local_default_never_imports_dask(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from verify.cli import main; "
            f"main(['run', 'D1', '--quick', '--no-figures', '--workers', '2', '--out', {str(tmp_path)!r}]); "
            "print('distributed' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=HANG_S)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr
