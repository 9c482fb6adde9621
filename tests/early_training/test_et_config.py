"""The settings file of the early-training tools: the example loads (one table per tool), ``uv`` runs from it,
``critical-lr`` hands its settings to the measurement, the command line overrides the file, and every bad file or
value is one error line naming the field (exit 2)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from verify.cli import main
from verify.early_training import critical as _critical
from verify.early_training.cli import EXAMPLE, SETTINGS, read_tool_config

REPO = Path(__file__).resolve().parents[2]
FILE = REPO / EXAMPLE


@pytest.mark.parametrize("tool", list(SETTINGS))
def test_the_example_file_loads_every_setting_of_each_tool(tool):
    values = read_tool_config(FILE, tool)
    assert set(values) == set(SETTINGS[tool])
    assert all(isinstance(values[k], kind) for k, kind in SETTINGS[tool].items())


def test_uv_runs_from_the_example_file(capsys):
    values = read_tool_config(FILE, "uv")
    assert main(["early-training", "uv", "--config", str(FILE), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {k: out[k] for k in values} == values
    assert out["c_loss"] == pytest.approx(out["c_loss_predicted"], rel=1e-3)   # E1's first-order c_loss at w=1024
    assert main(["early-training", "uv", "--config", str(FILE), "--width", "64", "--seed", "3", "--json"]) == 0
    over = json.loads(capsys.readouterr().out)
    assert (over["width"], over["seed"], over["steps"]) == (64, 3, values["steps"])


@pytest.fixture
def measured(monkeypatch):
    """``critical-lr`` with the measurement replaced by a recorder (a real measurement trains networks for
    minutes): the test sees the Setup the tool builds from the file and the options."""
    seen = []

    def record(setup, search, trajectories, notify, progress=None):
        seen.append(setup)
        return {"setup": {"depth": setup.depth, "width": setup.width}}

    monkeypatch.setattr(_critical, "measure", record)
    return seen


def test_critical_lr_builds_its_setup_from_the_example_file(measured, capsys):
    values = read_tool_config(FILE, "critical-lr")
    assert main(["early-training", "critical-lr", "--config", str(FILE), "--json"]) == 0
    (setup,) = measured
    for key, value in values.items():
        assert getattr(setup, key) == value, key
    assert main(["early-training", "critical-lr", "--config", str(FILE), "--depth", "2", "--zero-last-layer",
                 "--data", "synthetic", "--json"]) == 0
    over = measured[1]
    assert (over.depth, over.width, over.zero_last_layer, over.data) == (2, values["width"], True, "synthetic")


BAD = {
    "uv: wrong type": ("uv", "[uv]\nwidth = \"wide\"\n", "[uv] width"),
    "uv: zero width": ("uv", "[uv]\nwidth = 0\n", "[uv] width"),
    "uv: infinite target": ("uv", "[uv]\nwidth = 8\ntarget = nan\n", "[uv] target"),
    "uv: unknown key": ("uv", "[uv]\nwidht = 8\n", "[uv] widht"),
    "uv: no uv table": ("uv", "[critical-lr]\ndepth = 2\n", "--config"),
    "uv: width nowhere": ("uv", "[uv]\nseed = 1\n", "--width"),
    "critical-lr: data set": ("critical-lr", "[critical-lr]\ndepth = 2\nwidth = 8\ndata = \"mnist\"\n",
                              "[critical-lr] data"),
    "critical-lr: device": ("critical-lr", "[critical-lr]\ndepth = 2\nwidth = 8\ndevice = \"tpu\"\n",
                            "[critical-lr] device"),
    "critical-lr: flag as string": ("critical-lr", "[critical-lr]\nzero_last_layer = \"yes\"\n",
                                    "[critical-lr] zero_last_layer"),
    "critical-lr: negative seed": ("critical-lr", "[critical-lr]\nseed = -1\n", "[critical-lr] seed"),
    "critical-lr: unknown table": ("critical-lr", "[critical]\ndepth = 2\n", "[critical]"),
    "critical-lr: not toml": ("critical-lr", "[critical-lr\n", "--config"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_a_bad_file_is_one_error_line_naming_the_field(tmp_path, capsys, measured, case):
    tool, text, field = BAD[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["early-training", tool, "--config", str(path)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {field} = ") and "fix:" in err[0], err
    assert captured.out == "" and measured == []
