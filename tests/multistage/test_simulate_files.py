"""What ``simulate`` writes: NaN explained in the trajectory files, every null of the summary explained, and a
Ctrl-C after the integration keeps the finished trajectory (summary.json written, exit 130, no traceback)."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from verify.output import null_paths
from verify.cli import main
from verify.engines.trajectory import GENERIC_MISSING, Trajectory
from verify.multistage.cli import DEFAULT_CONFIG
from waiting import HANG_S, wait_until

REPO = Path(__file__).resolve().parents[2]
#: a small configuration (width 20, 6^3 nodes): t_max = 0.5 ends on the initial plateau, before K reaches 1/2
SMALL = (DEFAULT_CONFIG.read_text().replace("width = 1000", "width = 20").replace("quadrature = 12", "quadrature = 6")
         .replace("t_max = 60.0", "t_max = 0.5"))
#: a target with no linear part (z = 0): no K, no K0
Z_ZERO = SMALL.replace('expr = "tanh(2*x0) + 0.5*x1**2 + 0.4*x2 - 0.3"', 'expr = "0.5*x1**2 - 0.5"')
FILES = ("npz", "csv", "columns", "png", "summary")


def _simulate(capsys, tmp_path, text: str, name: str = "run", extra=()) -> tuple[int, dict, Path]:
    config = tmp_path / f"{name}.toml"
    config.write_text(text)
    out = tmp_path / name
    code = main(["simulate", "--config", str(config), "--out", str(out), "--grid", "41", "--json", *extra])
    stdout, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, json.loads(stdout, parse_constant=lambda c: pytest.fail(f"{c} in the JSON")), out


def _unexplained(result: dict, skip=()) -> list[str]:
    return [p for p in null_paths(result, skip=("reasons", *skip)) if p not in result["reasons"]]


# ------------------------------------------------------------------------------------------- NaN in the files
def test_the_trajectory_files_say_what_nan_means_per_series(capsys, tmp_path):
    code, summary, out = _simulate(capsys, tmp_path, SMALL)
    assert code == 0
    with np.load(out / "trajectory.npz") as saved:
        missing = json.loads(str(saved["missing"]))
        counts = {k: int(saved[k].size - np.count_nonzero(np.isfinite(saved[k])))
                  for k in saved.files if k not in ("missing", "storage")}
    # (with 41 recordings the remainder is evaluated at each: the next test makes gaps with a finer grid)
    assert {k for k, n in counts.items() if n} == set(missing)
    assert all(missing[k]["count"] == counts[k] for k in missing)
    sidecar = json.loads((out / "trajectory.columns.json").read_text())
    with open(out / "trajectory.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == sidecar["columns"] and sidecar["file"] == "trajectory.csv"
    empty = {c: sum(1 for r in rows[1:] if r[i] == "") for i, c in enumerate(rows[0])}
    assert {c for c, n in empty.items() if n} == set(sidecar["missing"])
    assert all(sidecar["missing"][c]["count"] == empty[c] for c in sidecar["missing"])
    assert summary["files"]["columns"] == str(out / "trajectory.columns.json")


def test_remainder_gaps_are_counted_and_explained(capsys, tmp_path):
    """301 recordings, the remainder evaluated at 101 of them: 200 NaN, each file says why."""
    code, summary, out = _simulate(capsys, tmp_path, SMALL, extra=["--grid", "301"])
    assert code == 0
    with np.load(out / "trajectory.npz") as saved:
        entry = json.loads(str(saved["missing"]))["obs_remainder_ratio"]
    assert entry["count"] == 200 and "101 evenly spaced recordings" in entry["means"]
    column = json.loads((out / "trajectory.columns.json").read_text())["missing"]["remainder_ratio"]
    assert column == entry


def test_save_gives_the_named_reason_or_the_generic_one(tmp_path):
    t = np.linspace(0.0, 1.0, 4)
    traj = Trajectory(1, 1, t, np.ones((4, 2)), np.array([1.0, 0.5, np.inf, 0.2]))
    obs = {"linear_deviation": np.array([0.0, 0.1, np.nan, np.nan]), "K": np.array([0.1, 0.2, 0.3, 0.4])}
    paths = traj.save(tmp_path, "x", obs, missing={"linear_deviation": "Q_lin overflows", "K": "never"})
    with np.load(paths["npz"]) as saved:
        missing = json.loads(str(saved["missing"]))
    assert missing == {"loss": {"count": 1, "means": GENERIC_MISSING},
                       "obs_linear_deviation": {"count": 2, "means": "Q_lin overflows"}}
    columns = json.loads(Path(paths["columns"]).read_text())
    assert columns["missing"] == {"loss": {"count": 1, "means": GENERIC_MISSING},
                                  "linear_deviation": {"count": 2, "means": "Q_lin overflows"}}


# ------------------------------------------------------------------------------------------- nulls explained
def test_a_short_run_explains_each_null(capsys, tmp_path):
    code, summary, _ = _simulate(capsys, tmp_path, SMALL)
    assert code == 0 and summary["complete"] is True
    assert summary["t_half"] is None and "before t_max = 0.5" in summary["reasons"]["t_half"]
    assert summary["T_d"]["value"] is None and "1 - delta" in summary["reasons"]["T_d.value"]
    assert summary["plateau_loss"] is None and "T_d" in summary["reasons"]["plateau_loss"]
    assert summary["seeds"]["data"] is None and "quadrature" in summary["reasons"]["seeds.data"]
    assert _unexplained(summary) == []
    on_disk = json.loads(Path(summary["files"]["summary"]).read_text())
    assert on_disk == summary


def test_z_zero_explains_the_missing_K(capsys, tmp_path):
    code, summary, _ = _simulate(capsys, tmp_path, Z_ZERO)
    assert code == 0
    assert summary["K0"] is None and "z = 0" in summary["reasons"]["K0"]
    assert summary["t_half"] is None and "z = 0" in summary["reasons"]["t_half"]
    assert _unexplained(summary) == []


@pytest.mark.parametrize("text", [SMALL, Z_ZERO, SMALL.replace("whiten = true", "whiten = false")
                                  .replace("quadrature = 6", "samples = 300"),
                                  SMALL.replace('method = "flow"', 'method = "gd"')])
def test_predict_explains_each_null(text, tmp_path):
    from verify.output import jsonable
    from verify.multistage.config import load_config
    from verify.multistage.prediction import predict

    path = tmp_path / "c.toml"
    path.write_text(text)
    p = jsonable(predict(load_config(path)))
    assert _unexplained(p, skip=("config",)) == []        # the config echo: null means "not given"


def test_control_an_unexplained_null_is_found():
    assert _unexplained({"a": {"b": None}, "c": None, "reasons": {"c": "why"}}) == ["a.b"]


# ------------------------------------------------------------------------------------------- Ctrl-C after the run
def _consistent(summary: dict, out: Path) -> None:
    """summary.json names exactly the files that exist, and is complete only if every file is there."""
    on_disk = json.loads((out / "summary.json").read_text())
    for kind in FILES:
        path = on_disk["files"][kind]
        if path is None:
            assert on_disk["reasons"][f"files.{kind}"]
        else:
            assert Path(path).is_file(), kind
    assert on_disk["complete"] == all(on_disk["files"][k] for k in FILES) == (on_disk["interrupted"] is None)
    assert summary == on_disk


def test_ctrl_c_while_the_figure_is_drawn_keeps_the_trajectory(capsys, tmp_path, monkeypatch):
    from verify.report import figures

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(figures, "loss_figure", interrupted)
    code, summary, out = _simulate(capsys, tmp_path, SMALL)
    assert code == 130
    assert summary["status"] == "completed" and summary["complete"] is False
    assert "loss.png" in summary["interrupted"] and summary["files"]["png"] is None
    assert not (out / "loss.png").exists()
    with np.load(out / "trajectory.npz") as saved:
        assert len(saved["t"]) == 41 and "obs_K" in saved.files
    _consistent(summary, out)


def test_ctrl_c_while_the_observables_are_computed_keeps_the_trajectory(capsys, tmp_path, monkeypatch):
    from verify.multistage import simulation as simulate_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(simulate_module, "observe", interrupted)
    code, summary, out = _simulate(capsys, tmp_path, SMALL)
    assert code == 130 and "observables" in summary["interrupted"]
    with np.load(out / "trajectory.npz") as saved:
        assert len(saved["t"]) == 41 and not [k for k in saved.files if k.startswith("obs_")]
    assert summary["T_p"]["value"] is None and "observables" in summary["reasons"]["T_p.value"]
    _consistent(summary, out)


def test_ctrl_c_while_the_files_are_written_is_held_until_they_are_whole(capsys, tmp_path, monkeypatch):
    """A real SIGINT in the middle of Trajectory.save: the NPZ, CSV and columns file are still written whole."""
    original = Trajectory.save

    def save(self, *args, **kwargs):
        signal.raise_signal(signal.SIGINT)      # to this thread: the handler has run when this returns
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Trajectory, "save", save)
    code, summary, out = _simulate(capsys, tmp_path, SMALL)
    assert code == 130 and "trajectory files" in summary["interrupted"]
    assert all(summary["files"][k] for k in ("npz", "csv", "columns", "summary")) and summary["files"]["png"] is None
    _consistent(summary, out)


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery")
def test_ctrl_c_once_the_trajectory_is_saved_exits_130_with_a_summary(tmp_path):
    """A real Ctrl-C, sent as soon as trajectory.npz appears (after the integration): exit 130, no traceback, and
    summary.json consistent with the files.  Sent too late (the run already finished), it is tried again.  The
    test watches for the file, whatever the machine's speed (HANG_S only stops a hung test)."""
    config = tmp_path / "c.toml"
    config.write_text(SMALL.replace("width = 20", "width = 200"))
    for attempt in range(3):
        out = tmp_path / f"run{attempt}"
        proc = subprocess.Popen([sys.executable, "-m", "verify", "simulate", "--config", str(config), "--out",
                                 str(out), "--grid", "301", "--no-progress"], cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: (out / "trajectory.npz").exists() or proc.poll() is not None, "trajectory.npz",
                       poll=0.005)
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=HANG_S)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert "Traceback" not in stderr, stderr
        summary = json.loads((out / "summary.json").read_text())
        _consistent(summary, out)
        if proc.returncode == 0:            # finished before the signal: complete, every file there
            assert summary["complete"] is True
            continue
        assert proc.returncode == 130 and summary["complete"] is False and summary["status"] == "completed"
        assert summary["interrupted"].startswith("after the integration")
        with np.load(out / "trajectory.npz") as saved:
            assert len(saved["t"]) == 301
        return
    pytest.fail("the run always finished before the signal arrived")


def test_the_readme_names_every_file_simulate_writes(capsys, tmp_path):
    readme = (REPO / "README.md").read_text()
    code, summary, _ = _simulate(capsys, tmp_path, SMALL)
    names = [Path(path).name for path in summary["files"].values()]
    assert len(names) == len(FILES) and all(f"`{name}`" in readme for name in names)
    assert 'npz["missing"]' in readme and "`reasons`" in readme
