"""``python -m verify early-training critical-lr``: output and one-line errors."""
from __future__ import annotations

import json

import pytest

from verify.cli import main


def test_json_reports_lambda0_constants_runs_and_trajectories(capsys):
    assert main(["early-training", "critical-lr", "--depth", "2", "--width", "8", "--seed", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["setup"]["lambda0"] > 0 and out["training_runs"] > 0
    assert out["c_loss"] is not None
    for name, run in out["trajectories"].items():
        assert len(run["loss"]) >= 2 and run["sharpness_ratio"][0] == 1.0


def test_cuda_without_a_gpu_is_a_one_line_notice(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["early-training", "critical-lr", "--depth", "2", "--width", "4", "--device", "cuda",
                 "--steps", "2", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip() == "CUDA is not available: running on the CPU"    # said even with --quiet
    assert "c_loss" in captured.out and "training runs" in captured.out


@pytest.mark.parametrize("args,field", [
    (["--depth", "0", "--width", "8"], "--depth"), (["--depth", "2", "--width", "0"], "--width"),
    (["--depth", "2", "--width", "8", "--steps", "-1"], "--steps"),
    (["--depth", "2", "--width", "8", "--data", "cifar"], "--data"),
    (["--depth", "x", "--width", "8"], "--depth"),
    (["--depth", "2", "--width", "8", "--threads", "0"], "--threads"),
    (["--depth", "2", "--width", "8", "--threads", "two"], "--threads"),
])
def test_bad_input_is_one_line_exit_2(capsys, args, field):
    assert main(["early-training", "critical-lr", *args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field} = ") and "fix:" in lines[0]
    assert captured.out == ""


def test_the_search_runs_on_pinned_threads_and_restores_them(monkeypatch, capsys):
    """critical-lr pins PyTorch's and the BLAS's threads (default 1, --threads N) while it measures, as the claims
    do, and leaves PyTorch's setting as it found it.  Control: --threads 2 is what the search sees then."""
    import torch
    from threadpoolctl import threadpool_info

    import verify.early_training.critical as critical

    seen = []

    def fake_measure(setup, search, trajectories, notify, progress=None):
        blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
        seen.append((torch.get_num_threads(), blas))
        raise SystemExit(0)

    monkeypatch.setattr(critical, "measure", fake_measure)
    before = torch.get_num_threads()
    for extra, want in (([], 1), (["--threads", "2"], 2)):
        with pytest.raises(SystemExit):
            main(["early-training", "critical-lr", "--depth", "2", "--width", "8", *extra])
        threads, blas = seen[-1]
        assert threads == want and all(n == want for n in blas)
        assert torch.get_num_threads() == before


def test_critical_lr_says_its_estimate_and_every_search_pass_unless_quiet(capsys):
    # issue 23: a depth-4, width-64 search printed nothing for 952 s on a loaded machine
    from verify.cli import main

    assert main(["early-training", "critical-lr", "--depth", "2", "--width", "8", "--json"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("critical-lr: depth 2, width 8: estimated about")
    passes = [ln for ln in err if ln.startswith(("  c_loss:", "  c_max:", "  c_sharp:"))]
    assert len(passes) >= 6 and {ln.split(":")[0].strip() for ln in passes} == {"c_loss", "c_max", "c_sharp"}
    assert main(["early-training", "critical-lr", "--depth", "2", "--width", "8", "--json", "--quiet"]) == 0
    assert capsys.readouterr().err == ""
