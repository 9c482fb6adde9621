"""What ``simulate`` records at each size (issue 25, target 3): the size rule of large runs, the opt-in D3
remainder and per-neuron series, the NPZ's precision and compression, and the choice recorded in the NPZ itself
(its entry ``storage``) and in the summary (``outputs``)."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from theory.errors import InputError
from verify.cli import main
from verify.engines.trajectory import Trajectory
from verify.multistage import cli as _cli
from verify.multistage.config import config_from_dict

from test_simulate_files import SMALL


def _run(capsys, tmp_path, name: str, *extra) -> tuple[int, dict, dict, str]:
    """A small simulation (width 20, 216 nodes, t to 0.5); returns (exit status, summary, NPZ arrays, stderr)."""
    config = tmp_path / "small.toml"
    config.write_text(SMALL)
    out = tmp_path / name
    code = main(["simulate", "--config", str(config), "--out", str(out), "--json", *extra])
    stdout, err = capsys.readouterr()
    summary = json.loads(stdout)
    with np.load(out / "trajectory.npz") as saved:
        arrays = {k: saved[k] for k in saved.files}
    return code, summary, arrays, err


def _storage(arrays: dict) -> dict:
    return json.loads(str(arrays["storage"]))


def _config(width: int, samples: int):
    return config_from_dict({"model": {"activation": "tanh", "width": width, "alpha": 1.0},
                             "data": {"dim": 3, "samples": samples, "whiten": True, "seed": 0},
                             "target": {"expr": "tanh(2*x0) + 0.4*x2 - 0.3"},
                             "train": {"method": "flow", "t_max": 1.0, "seed": 1}})


# ------------------------------------------------------------------------------------------- the size rule
def test_small_runs_keep_every_output_and_large_runs_leave_out_what_scales():
    small, large = _config(1000, 3999), _config(1000, 4000)       # n x m on either side of 4e6
    assert _cli.LARGE_RUN_FROM == 4e6
    assert {k: _cli.output_plan(small)[k] for k in ("grid", "remainder", "per_neuron", "large")} == \
        {"grid": 301, "remainder": True, "per_neuron": True, "large": False}
    plan = _cli.output_plan(large)
    assert {k: plan[k] for k in ("grid", "remainder", "per_neuron", "large")} == \
        {"grid": 101, "remainder": False, "per_neuron": False, "large": True}
    assert "4e+06" in plan["rule"] and "large run" in plan["rule"] and "--remainder" in plan["rule"]
    given = _cli.output_plan(large, grid=301, remainder=True)
    assert (given["grid"], given["remainder"], given["per_neuron"]) == (301, True, False)
    assert "given on the command line: grid, remainder" in given["rule"]
    assert given["storage"] == {"size_rule": given["rule"], "recordings": 301, "remainder": True, "per_neuron": False}


def test_the_help_states_the_size_and_the_rule(capsys):
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--grid", "--remainder", "--per-neuron", "--npz-dtype", "--npz-compress"):
        assert option in text
    assert text.count("n x m >= 4e+06") >= 3 and "101 for a large run" in text


def test_a_large_run_records_the_rule_in_its_files_and_says_it(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(_cli, "LARGE_RUN_FROM", 1.0)        # the small configuration counts as large
    code, summary, arrays, err = _run(capsys, tmp_path, "large")
    assert code == 0
    assert len(arrays["t"]) == arrays["theta"].shape[0] == 101
    assert "obs_alignment" not in arrays and "obs_amplitude" not in arrays and "obs_q_max" in arrays
    assert np.all(np.isnan(arrays["obs_remainder_ratio"]))
    assert "remainder = False" in json.loads(str(arrays["missing"]))["obs_remainder_ratio"]["means"]
    storage = _storage(arrays)
    assert (storage["recordings"], storage["remainder"], storage["per_neuron"]) == (101, False, False)
    assert "large run" in storage["size_rule"] and storage["size_rule"] in err
    assert summary["outputs"] == {"recordings": 101, "remainder": False, "per_neuron": False, "npz_dtype": "float64",
                                  "npz_compressed": False, "size_rule": storage["size_rule"]}


def test_the_options_turn_a_large_run_s_outputs_back_on(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(_cli, "LARGE_RUN_FROM", 1.0)
    code, summary, arrays, err = _run(capsys, tmp_path, "asked", "--grid", "41", "--remainder", "--per-neuron")
    assert code == 0 and arrays["obs_alignment"].shape == (41, 20)
    assert np.isfinite(arrays["obs_remainder_ratio"]).all()
    storage = _storage(arrays)
    assert (storage["recordings"], storage["remainder"], storage["per_neuron"]) == (41, True, True)
    assert "given on the command line: grid, remainder, per_neuron" in storage["size_rule"]


def test_a_small_run_records_its_defaults_and_the_options_turn_them_off(capsys, tmp_path):
    code, summary, arrays, err = _run(capsys, tmp_path, "default", "--grid", "41")
    assert code == 0 and "large run" not in err
    assert arrays["obs_alignment"].shape == (41, 20) and np.isfinite(arrays["obs_remainder_ratio"]).all()
    assert _storage(arrays) == {"dtype": "float64", "compressed": False, "single_precision": [],
                                "field_dtype": "float64", "size_rule": summary["outputs"]["size_rule"],
                                "recordings": 41, "remainder": True, "per_neuron": True}
    code, summary, off, _ = _run(capsys, tmp_path, "off", "--grid", "41", "--no-remainder", "--no-per-neuron")
    assert code == 0 and "obs_alignment" not in off and np.all(np.isnan(off["obs_remainder_ratio"]))
    assert (summary["outputs"]["remainder"], summary["outputs"]["per_neuron"]) == (False, False)
    np.testing.assert_array_equal(off["theta"], arrays["theta"])       # the trajectory itself is the same run
    np.testing.assert_array_equal(off["obs_q_max"], arrays["obs_q_max"])


# ------------------------------------------------------------------------------------------- the NPZ's storage
def test_float32_storage_holds_the_rounded_states_and_says_so(capsys, tmp_path):
    _, _, double, _ = _run(capsys, tmp_path, "f64", "--grid", "41")
    code, summary, single, _ = _run(capsys, tmp_path, "f32", "--grid", "41", "--npz-dtype", "float32")
    assert code == 0 and summary["outputs"]["npz_dtype"] == "float32"
    storage = _storage(single)
    assert storage["dtype"] == "float32" and {"theta", "loss", "obs_K"} <= set(storage["single_precision"])
    assert "t" not in storage["single_precision"] and single["t"].dtype == np.float64
    assert single["theta"].dtype == np.float32 and single["obs_alignment"].dtype == np.float32
    np.testing.assert_array_equal(single["t"], double["t"])
    np.testing.assert_array_equal(single["theta"], double["theta"].astype(np.float32))
    # the CSV keeps the double values
    assert (tmp_path / "f32" / "trajectory.csv").read_text() == (tmp_path / "f64" / "trajectory.csv").read_text()


def test_compressed_storage_is_deflated_and_says_so(capsys, tmp_path):
    _, _, plain, _ = _run(capsys, tmp_path, "plain", "--grid", "41")
    code, summary, packed, _ = _run(capsys, tmp_path, "packed", "--grid", "41", "--npz-compress")
    assert code == 0 and summary["outputs"]["npz_compressed"] is True and _storage(packed)["compressed"] is True
    with zipfile.ZipFile(tmp_path / "packed" / "trajectory.npz") as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}
    with zipfile.ZipFile(tmp_path / "plain" / "trajectory.npz") as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}
    for key in ("theta", "loss", "obs_alignment"):
        np.testing.assert_array_equal(packed[key], plain[key])


def test_a_double_beyond_float32_is_counted_as_not_finite(tmp_path):
    traj = Trajectory(1, 1, np.linspace(0.0, 1.0, 3), np.array([[1.0, 2.0], [1e300, 2.0], [3.0, 4.0]]),
                      np.array([1.0, 0.5, 0.2]))
    with np.load(traj.save(tmp_path, "x", {}, dtype="float32")["npz"]) as saved:
        assert saved["theta"].dtype == np.float32 and np.isinf(saved["theta"][1, 0])
        assert json.loads(str(saved["missing"]))["theta"]["count"] == 1
    with np.load(traj.save(tmp_path, "y", {})["npz"]) as saved:
        assert "theta" not in json.loads(str(saved["missing"]))


def test_a_bad_precision_is_one_line_naming_option_value_and_fix(capsys, tmp_path):
    config = tmp_path / "small.toml"
    config.write_text(SMALL)
    code = main(["simulate", "--config", str(config), "--out", str(tmp_path / "x"), "--npz-dtype", "float16"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "Traceback" not in err and not (tmp_path / "x").exists()
    line = [ln for ln in err.splitlines() if "--npz-dtype" in ln]
    assert len(line) == 1 and "'float16'" in line[0] and "float64, float32" in line[0] and "fix:" in line[0]
    with pytest.raises(InputError, match="npz_dtype"):
        Trajectory(1, 1, np.zeros(1), np.zeros((1, 2)), np.zeros(1)).save(tmp_path, "z", dtype="float16")
