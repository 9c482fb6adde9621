"""Each input of the fault audit (trust boundaries, items 5, 6 and 8) is one line with exit status 2 (or, where
the input is valid, a clean answer), never a traceback, a hang or an allocation that cannot fit."""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from verify.cli import main

_CONFIG = """[model]
activation = "tanh"
width = {width}
alpha = {alpha}
[data]
dim = 3
quadrature = 6
[target]
expr = "{expr}"
[train]
t_max = 10.0
"""


def _one_line(capsys, argv, code=2):
    assert main(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.parametrize("argv, words", [
    (["early-training", "uv", "--width", "100000000"], "memory limit"),               # grew to 3 GB
    (["early-training", "uv", "--width", "1000000000000"], "memory limit"),           # a traceback
    (["early-training", "uv", "--width", str(2**63)], "memory limit"),                # a traceback
    (["early-training", "uv", "--width", "1000", "--steps", "1000000000"], "time limit"),   # ran on
    (["early-training", "critical-lr", "--depth", "100000", "--width", "100000"], "memory limit"),
    (["noisy-quadratic", "stationary", "--curvature", "1", "--noise", "1", "--lr", "0.1", "--chains",
      "1000000000000"], "--chains"),
    (["noisy-quadratic", "stationary", "--curvature", "1", "--noise", "1", "--lr", "-1e-3"], "--lr = -0.001"),
    (["noisy-quadratic", "stationary", "--curvature", "1", "--noise", "1", "--lr", "-inf"], "--lr = -inf"),
])
def test_tools_estimate_or_check_before_they_allocate(capsys, argv, words):
    assert words in _one_line(capsys, argv)


def test_a_tool_that_fits_still_runs_control(capsys):
    assert main(["early-training", "uv", "--width", "64"]) == 0
    assert "c_loss" in capsys.readouterr().out


@pytest.mark.parametrize("extra", [["--lr", "1e308"], ["--noise", "1e160"], ["--noise", "1e150"],
                                   ["--lr", "1e-20"], ["--lr", "1e-9"]])
def test_stationary_at_extreme_inputs_answers_without_simulating_what_overflows(capsys, extra):
    argv = ["noisy-quadratic", "stationary", "--curvature", "1", "--noise", "1", "--lr", "0.1"] + extra
    assert main(argv) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "nan" not in out.out.split("simulated", 1)[1]


def test_a_negative_value_is_a_value_not_an_option(capsys):
    assert main(["early-training", "uv", "--width", "64", "--target", "-1.5"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    # a target whose loss overflows float64 is refused, named as a value (not taken for an option)
    assert "--target = -1e+300" in _one_line(capsys, ["early-training", "uv", "--width", "64", "--target", "-1e300"])


def test_predict_at_width_one_and_a_huge_alpha(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(_CONFIG.format(width=1, alpha="1e308", expr="tanh(2*x0)"))
    code = main(["predict", "--config", str(path)])
    err = capsys.readouterr().err
    assert code in (0, 2) and "Traceback" not in err and "ZeroDivision" not in err


def test_a_target_whose_moments_overflow_is_one_line_without_warnings(tmp_path, capsys, recwarn):
    path = tmp_path / "c.toml"
    path.write_text(_CONFIG.format(width=100, alpha=1.0, expr="exp(100*x0)"))
    line = _one_line(capsys, ["predict", "--config", str(path)])
    assert "[target] expr" in line and ("overflow" in line or "not finite" in line)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_stages_refuses_a_smoothing_longer_than_the_curve_and_too_many_columns(tmp_path, capsys):
    curve = tmp_path / "c.csv"
    curve.write_text("t,loss\n" + "".join(f"{i},{np.exp(-i / 50) + 0.1}\n" for i in range(300)))
    assert "time span" in _one_line(capsys, ["stages", str(curve), "--smooth", "1e308"])
    wide = tmp_path / "w.csv"
    wide.write_text(",".join(["t", "loss"] + [f"c{i}" for i in range(2000)]) + "\n"
                    + "".join(",".join([str(r), "1"] + ["0"] * 2000) + "\n" for r in range(3)))
    assert "columns" in _one_line(capsys, ["stages", str(wide)])
    assert main(["stages", str(curve), "--smooth", "10", "--out", str(tmp_path / "s.png")]) == 0   # control


@pytest.fixture
def report_dir(tmp_path):
    from pathlib import Path

    src = Path(__file__).resolve().parent.parent / "reports" / "multistage" / "default-seed0"
    dst = tmp_path / "rep"
    dst.mkdir()
    (dst / "report.json").write_bytes((src / "report.json").read_bytes())
    (dst / "figures").mkdir()
    for f in (src / "figures").glob("*.png"):
        (dst / "figures" / f.name).write_bytes(f.read_bytes())
    return dst


def test_report_refuses_hostile_report_files(report_dir, capsys):
    path = report_dir / "report.json"
    good = path.read_bytes()
    path.write_text("[" * 100000 + "]" * 100000)
    assert "nested" in _one_line(capsys, ["report", str(report_dir)])
    path.write_text('{"schema": ' + "9" * 100000 + "}")
    assert "report.json" in _one_line(capsys, ["report", str(report_dir)])
    path.write_bytes(good)
    assert main(["report", str(path)]) == 0                           # the path of report.json itself is accepted
    assert (report_dir / "report.html").is_file()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_report_never_opens_a_figure_that_is_not_a_regular_file(report_dir, capsys):
    figures = sorted((report_dir / "figures").glob("*.png"))
    os.unlink(figures[0])
    os.mkfifo(figures[0])                                              # reading it would hang
    os.unlink(figures[1])
    os.symlink("/dev/zero", figures[1])                                # reading it would never end
    assert stat.S_ISFIFO(os.lstat(figures[0]).st_mode)
    assert main(["report", str(report_dir)]) == 0
    page = (report_dir / "report.html").read_text()
    assert page.count("is not a regular file") >= 2


def test_a_tower_of_exponentials_as_the_target_is_refused_at_once(tmp_path, capsys):
    # the audit saw exp(exp(exp(100))) run past 30 s; it is refused from its constant's size (CPU time, not wall)
    from waiting import cpu_seconds

    path = tmp_path / "c.toml"
    path.write_text(_CONFIG.format(width=100, alpha=1.0, expr="exp(exp(exp(100)))"))
    with cpu_seconds() as used:
        line = _one_line(capsys, ["predict", "--config", str(path)])
    assert "[target] expr" in line and "double-precision range" in line and used() < 10
