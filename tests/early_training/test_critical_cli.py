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
                 "--steps", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip() == "CUDA is not available: running on the CPU"
    assert "c_loss" in captured.out and "training runs" in captured.out


@pytest.mark.parametrize("args,field", [
    (["--depth", "0", "--width", "8"], "--depth"), (["--depth", "2", "--width", "0"], "--width"),
    (["--depth", "2", "--width", "8", "--steps", "-1"], "--steps"),
    (["--depth", "2", "--width", "8", "--data", "cifar"], "--data"),
    (["--depth", "x", "--width", "8"], "--depth"),
])
def test_bad_input_is_one_line_exit_2(capsys, args, field):
    assert main(["early-training", "critical-lr", *args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field} = ") and "fix:" in lines[0]
    assert captured.out == ""
