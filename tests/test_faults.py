"""Bad input, big configurations and failing outputs: one-line errors (exit 2), never a traceback or a hang.

Each test feeds one hostile input through the command line in-process (``verify.cli.main``) and checks the exit
status, that standard error is one line, and that JSON output is strict (no NaN or Infinity).  The last test
fuzzes ``predict`` configurations and ``simulate`` options with Hypothesis.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theory.errors import InputError
from verify.cli import main
from verify.multistage.cli import DEFAULT_CONFIG
from waiting import HANG_S, cpu_seconds

EXAMPLE = DEFAULT_CONFIG.read_text()
#: a small, fast configuration (width 20, 6^3 nodes) the hostile values are written into
SMALL = EXAMPLE.replace("width = 1000", "width = 20").replace("quadrature = 12", "quadrature = 6") \
    .replace("t_max = 60.0", "t_max = 2.0")


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"{name} in JSON output")
    return json.loads(text, parse_constant=refuse)


def edit(text: str, **values) -> str:
    """``text`` with each ``key = ...`` line replaced (the key must be present)."""
    lines = text.splitlines()
    for key, value in values.items():
        hits = [i for i, line in enumerate(lines) if line.split("=")[0].strip() == key]
        assert hits, key
        lines[hits[0]] = f"{key} = {value}"
    return "\n".join(lines) + "\n"


def run_cli(capsys, argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def refused(capsys, tmp_path, text: str, *fragments: str, tool: str = "predict", extra=()) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text)
    argv = [tool, "--config", path, "--json", *extra]
    if tool == "simulate" and "--out" not in extra:
        argv += ["--out", tmp_path / "out"]
    code, out, err = run_cli(capsys, argv)
    assert code == 2, (out[-500:], err)
    assert err.count("\n") == 1 and err.startswith("error: "), err
    for fragment in fragments:
        assert fragment in err, err
    return err


# ---------------------------------------------------------------------------------------------- expressions
@pytest.mark.parametrize("expr, fragment", [
    ("(2**64)**64", "double-precision range"),
    ("exp(1000)*x0", "double-precision range"),
    ("(-8)**(1/3)*x0", "non-real constant"),
    ("asin(2)*x0", "non-real constant"),
    ("sin(" * 200 + "x0" + ")" * 200, "nested"),
])
def test_hostile_target_expressions_are_one_line_errors(capsys, tmp_path, expr, fragment):
    refused(capsys, tmp_path, edit(SMALL, expr=f'"{expr}"'), "[target] expr", fragment)


def test_long_flat_sums_are_still_accepted():
    from theory.expressions import parse_expression
    import sympy as sp
    x = sp.Symbol("x0")
    assert parse_expression("+".join(["x0"] * 500), [x], "f") == 500 * x


def test_deeply_nested_activation_is_refused_quickly(monkeypatch):
    """Refused from the parsed expression, before an Activation (whose constants are the slow part) is made; a
    few CPU seconds at most (CPU time: the load of other processes does not count)."""
    from theory.multistage import activation

    monkeypatch.setattr(activation, "Activation", lambda *a: pytest.fail("an Activation was made before the refusal"))
    with cpu_seconds() as used, pytest.raises(InputError, match="nested functions"):
        activation.activation_from_spec("tanh(" * 8 + "s" + ")" * 8)
    assert used() < 5


def test_supremum_first_cover_stops_at_the_budget():
    """With no budget at all, the branch and bound still returns a true upper bound (one box for the rest)."""
    import mpmath
    import sympy as sp
    from theory.multistage.supremum import _Boxes, _branch_and_bound, _interval_function

    s = sp.Symbol("s", real=True)
    g = sp.diff(sp.tanh(sp.tanh(s)), s, 3)
    boxes = _Boxes(_interval_function(g, s), _interval_function(sp.diff(g, s), s))
    with mpmath.workdps(20):
        lower, upper, exhausted = _branch_and_bound(boxes, mpmath.mpf(-20), mpmath.mpf(20), mpmath.mpf(0), 1e-6,
                                                    time.process_time() - 1, 10_000)   # the budget is CPU time
    assert exhausted and boxes.count == 2 and upper >= 4.0 >= lower   # sup |(tanh o tanh)'''| is about 4.0


# ---------------------------------------------------------------------------------------------- configurations
def test_deep_toml_arrays_are_one_line_errors(capsys, tmp_path):
    refused(capsys, tmp_path, "[data]\nx = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply")


@pytest.mark.parametrize("values, fragments", [
    ({"quadrature": 1}, ("[data] quadrature", "singular")),
    ({"quadrature": "samples = 2", "whiten": "false"}, ("[data] samples", "singular")),
    ({"alpha": "1e308"}, ("[model] alpha", "underflows")),
    ({"alpha": 100, "width": 50}, ("[model] alpha", "set alpha below")),
    ({"delta": "5e-324"}, ("[analysis] delta",)),
    ({"dim": 10**9}, ("[data] dim",)),
    ({"width": 10**9}, ("[model] width", "VERIFY_MEMORY_GB")),
    ({"width": 10**30}, ("[model] width", "VERIFY_MEMORY_GB")),
    ({"method": '"gd"', "lr": 0.5, "t_max": 0.1}, ("[train] lr", "t_max")),
    ({"seed": 2**70}, ("seed",)),
])
def test_bad_configurations_are_one_line_errors(capsys, tmp_path, values, fragments):
    text = SMALL
    if isinstance(values.get("quadrature"), str):
        text = text.replace("quadrature = 6", values.pop("quadrature"))
    refused(capsys, tmp_path, edit(text, **values), *fragments)


def test_memory_is_estimated_before_the_data_are_built(capsys, tmp_path, monkeypatch):
    """quadrature = 83 at dim 3 (571,787 nodes) passes the node cap; its n x m matrices do not fit 3.5 GiB.  The
    refusal comes before the data are built (building them fails the test) and takes a few CPU seconds at most."""
    from verify.multistage import config as _config

    monkeypatch.setattr(_config, "make_data", lambda *a, **k: pytest.fail("the data were built before the refusal"))
    monkeypatch.setenv("VERIFY_MEMORY_GB", "3.5")
    with cpu_seconds() as used:
        refused(capsys, tmp_path, edit(EXAMPLE, quadrature=83), "[data] quadrature", "3.5 GiB", "VERIFY_MEMORY_GB")
        refused(capsys, tmp_path, edit(EXAMPLE, quadrature="10000000").replace("quadrature =", "samples ="),
                "[data] samples", "VERIFY_MEMORY_GB")
    assert used() < 5


def test_a_bad_memory_limit_is_named(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("VERIFY_MEMORY_GB", "lots")
    refused(capsys, tmp_path, SMALL, "VERIFY_MEMORY_GB")


def test_predictions_that_divide_by_zero_are_null_with_a_reason(capsys, tmp_path):
    """alpha = 24 at width 1000 (initial scale 1e-72): formulas overflow, the JSON holds null and reasons."""
    path = tmp_path / "c.toml"
    path.write_text(edit(EXAMPLE, alpha=24))
    code, out, err = run_cli(capsys, ["predict", "--config", path, "--json"])
    assert code == 0, err
    p = _strict(out)
    nulls = [k for k, v in p.items() if v is None]
    assert all(k in p["reasons"] for k in nulls)


def test_gd_with_a_tiny_step_is_refused_by_its_time_estimate(capsys, tmp_path):
    refused(capsys, tmp_path, edit(SMALL, method='"gd"', lr="1e-300"), "[train] lr", "VERIFY_TIME_LIMIT_H",
            tool="simulate")


# ---------------------------------------------------------------------------------------------- simulate options
@pytest.mark.parametrize("extra, fragment", [
    (["--k-levels", "nan"], "--k-levels"),
    (["--loss-levels", "-1", "inf"], "--loss-levels"),
    (["--loss-levels", "inf"], "--loss-levels"),
    (["--threads", "0"], "--threads"),
    (["--batch", "0"], "--batch"),
])
def test_bad_simulate_options_are_one_line_errors(capsys, tmp_path, extra, fragment):
    refused(capsys, tmp_path, SMALL, fragment, tool="simulate", extra=extra)
    assert not (tmp_path / "out").exists()


def test_grid_and_batch_are_estimated_before_the_run(capsys, tmp_path, monkeypatch):
    """Refused before the simulation starts (starting it fails the test), in a few CPU seconds at most."""
    from verify.multistage import simulation as _simulate

    monkeypatch.setattr(_simulate, "integrate", lambda *a, **k: pytest.fail("the run started before the refusal"))
    monkeypatch.setenv("VERIFY_TIME_LIMIT_H", "0.01")
    with cpu_seconds() as used:
        refused(capsys, tmp_path, edit(SMALL, width=1000), "--grid", tool="simulate", extra=["--grid", "100000"])
        refused(capsys, tmp_path, edit(SMALL, width=1000), "--batch", tool="simulate", extra=["--batch", "1000000"])
    assert used() < 5


def test_out_that_is_a_file_is_refused_before_the_work(capsys, tmp_path):
    target = tmp_path / "afile"
    target.write_text("x")
    refused(capsys, tmp_path, SMALL, "--out", "not a folder", tool="simulate", extra=["--out", target])
    assert target.read_text() == "x"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere")
def test_out_in_a_read_only_folder_is_refused_before_the_work(capsys, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        refused(capsys, tmp_path, SMALL, "--out", "not writable", tool="simulate", extra=["--out", locked / "run"])
    finally:
        locked.chmod(0o700)


def test_device_fallback_is_said_on_stderr(capsys, tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    path = tmp_path / "c.toml"
    path.write_text(edit(SMALL, t_max=0.5))
    code, out, err = run_cli(capsys, ["simulate", "--config", path, "--out", tmp_path / "o", "--device", "cuda",
                                      "--grid", "11"])
    assert code == 0 and "CUDA" in err and "CUDA" not in out


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_predict_to_a_full_disk_is_a_one_line_error(tmp_path):
    import subprocess
    import sys
    path = tmp_path / "c.toml"
    path.write_text(SMALL)
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "verify", "predict", "--config", str(path), "--json"],
                                stdout=full, stderr=subprocess.PIPE, text=True, timeout=HANG_S,
                                cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "standard output" in result.stderr


# ---------------------------------------------------------------------------------------------- engines
class _Quadratic:
    """A stand-in kernel: loss ``c |theta|^2 / 2`` with field ``-c theta`` (GD multiplies by ``1 - eta c``)."""

    name, device, variant, n, m, d = "test", "cpu", "test", 1, 1, 1
    size = 2

    def __init__(self, c):
        self.c, self.evaluations = c, 0

    def loss(self, theta):
        return 0.5 * self.c * float(theta @ theta)

    def loss_and_field(self, theta):
        self.evaluations += 1
        return self.loss(theta), -self.c * theta


def test_gd_growing_loss_is_diverged_by_the_relative_rule():
    """eta c = 5: theta is multiplied by 1 - eta c = -4, the loss by 16 a step, far below the absolute ceiling."""
    from verify.engines import DescentOptions, run_descent
    traj = run_descent(_Quadratic(50.0), np.array([1.0, 1.0]), 0.3, options=DescentOptions(lr=0.1, grid=4))
    assert traj.status == "diverged" and traj.diverged == pytest.approx(0.1)
    assert "10 times the initial loss" in traj.message


def test_gd_stable_run_completes():
    from verify.engines import DescentOptions, run_descent
    traj = run_descent(_Quadratic(1.0), np.array([1.0, 1.0]), 0.3, options=DescentOptions(lr=0.1, grid=4))
    assert traj.status == "completed"


# ---------------------------------------------------------------------------------------------- stages
def _curve_file(tmp_path, scale):
    t = np.linspace(0, 60, 301) * scale
    loss = 0.3 + 0.2 / (1 + np.exp(2 * (t / scale - 20)))
    path = tmp_path / "curve.csv"
    path.write_text("t,loss\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(t, loss)))
    return path


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_stages_on_extreme_time_scales_is_a_one_line_error(capsys, tmp_path, scale):
    code, out, err = run_cli(capsys, ["stages", _curve_file(tmp_path, scale), "--out", tmp_path])
    assert code == 2 and err.count("\n") == 1 and "rescale the time column" in err


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_stages_refuses_a_device_at_once(capsys, tmp_path):
    """Refused from its file type before anything is read (reading /dev/zero would never end)."""
    code, out, err = run_cli(capsys, ["stages", "/dev/zero", "--out", tmp_path])
    assert code == 2 and "not a regular file" in err


def test_stages_refuses_too_many_rows(tmp_path, monkeypatch):
    from verify.stages import curve as stages
    monkeypatch.setattr(stages, "MAX_ROWS", 50)
    path = tmp_path / "long.csv"
    path.write_text("t,loss\n" + "".join(f"{i},{1 + 1 / (i + 1)}\n" for i in range(60)))
    with pytest.raises(InputError, match="more than 50 rows"):
        stages.read_curve(path)


# ---------------------------------------------------------------------------------------------- fuzzing
_NUMBERS = st.one_of(
    st.integers(-3, 3), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0.0, 5e-324, 1e-300, 1e308, 0.5, 0.51]),
    st.sampled_from(["nan", "inf", "-inf"]), st.text(max_size=8), st.booleans(),
)
_EXPRESSIONS = st.sampled_from([
    "x0", "tanh(2*x0) - 0.3", "(2**64)**64", "(-8)**(1/3)", "x0**(1/3)", "sqrt(x0)", "log(x0)", "1/x0",
    "exp(exp(x0))", "x0**64", "9**9**9", "__import__('os')", "x0.real", "lambda: 1", "Max(x0)", "sin(" * 60 + "x0" +
    ")" * 60, "1e400*x0", "0*x0", "abs(x0)", "atanh(x0)", "x0 if x0 else 1", "[x0]", "", "   ",
])
_KEYS = {
    "model": ["activation", "width", "alpha", "bogus"],
    "data": ["dim", "quadrature", "samples", "whiten", "seed"],
    "target": ["expr"],
    "train": ["method", "lr", "t_max", "seed"],
    "analysis": ["delta", "alpha_1"],
}
_SAFE = {"model": {"width": 8}, "data": {"dim": 2, "quadrature": 4}}


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if np.isfinite(v) else ("nan" if np.isnan(v) else ("inf" if v > 0 else "-inf"))
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return v
    return json.dumps(v) if isinstance(v, str) else str(v)


@st.composite
def configurations(draw) -> str:
    tables = {t: dict(v) for t, v in _SAFE.items()}
    for _ in range(draw(st.integers(1, 4))):
        table = draw(st.sampled_from(sorted(_KEYS)))
        key = draw(st.sampled_from(_KEYS[table]))
        if key == "expr":
            value = draw(_EXPRESSIONS)
        elif key in ("activation", "method"):
            value = draw(st.sampled_from(["tanh", "sin", "relu", "tanh(tanh(s))", "s**3", "gd", "flow", 3]))
        elif key in ("width", "dim", "quadrature", "samples"):
            value = draw(st.one_of(st.integers(-2, 12), st.sampled_from([10**9, 2**70, 0.5, "x"])))
        else:
            value = draw(_NUMBERS)
        tables.setdefault(table, {})[key] = value
    return "".join(f"[{t}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in kv.items()) for t, kv in tables.items())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(text=configurations())
def test_fuzz_predict_configurations(capsys, tmp_path, text):
    path = tmp_path / "fuzz.toml"
    path.write_text(text)
    with cpu_seconds() as used:             # CPU time: the load of other processes does not count
        code, out, err = run_cli(capsys, ["predict", "--config", path, "--json"])
    assert used() < 20, text
    assert code in (0, 2), (text, err)
    if code == 0:
        _strict(out)
    else:
        assert err.count("\n") == 1 and err.startswith("error: "), (text, err)


_OPTIONS = st.lists(st.tuples(st.sampled_from(["--k-levels", "--loss-levels", "--threads", "--grid", "--batch",
                                               "--rtol", "--solver", "--backend", "--device"]),
                              st.sampled_from(["0", "-1", "nan", "inf", "1e308", "2", "x", "100000", "1000000",
                                               "cuda", "jax", "RK45", str(2**70)])), min_size=1, max_size=3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(options=_OPTIONS)
def test_fuzz_simulate_options_are_refused_or_accepted_before_work(capsys, tmp_path, monkeypatch, options):
    """Option checks run before the simulation: a stub simulation stands in for the run itself."""
    from verify.multistage import simulation as _simulate
    ran = []

    def stub(*args, **kwargs):
        ran.append(kwargs)
        raise InputError("stub", "ran", "the options were accepted", "nothing")

    monkeypatch.setattr(_simulate, "integrate", stub)       # what the simulate command runs first
    monkeypatch.setenv("VERIFY_TIME_LIMIT_H", "0.01")
    path = tmp_path / "c.toml"
    path.write_text(SMALL)
    argv = ["simulate", "--config", str(path), "--out", str(tmp_path / "o")]
    for option, value in options:
        argv += [option, value]
    try:
        code = main(argv)
    except SystemExit as exc:          # argparse: a value of the wrong type
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err, (argv, err)
    if not ran:
        assert err.count("\n") == 1 or "usage:" in err, (argv, err)
