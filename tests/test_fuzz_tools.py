"""Fuzzing the early-training and noisy-quadratic tools (``uv``, ``critical-lr``, ``stationary``) and their
``--config`` files: every input is answered with strict JSON or one error line (exit 2), never a traceback, and
within a bounded CPU time (seeded Hypothesis runs, a few hundred cases in all)."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theory.errors import InputError
from verify.cli import main
from waiting import cpu_seconds

_VALUES = st.sampled_from(["0", "1", "2", "-1", "-1e-3", "0.5", "1e-9", "1e-20", "1e308", "-1e308", "1e160",
                           "nan", "inf", "-inf", "x", "", "1e3", "64", "100000", str(2**63), str(2**70), "0x10",
                           "1_000", "3.5", "-0", "0.99", "0.999999", "1.0"])


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"{name} in JSON output")
    return json.loads(text, parse_constant=refuse)


def _answered(capsys, argv) -> None:
    with cpu_seconds() as used:             # CPU time: the load of other processes does not count
        try:
            code = main(argv)
        except SystemExit as exc:            # argparse: a malformed command line
            code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err and used() < 20, (argv, err)
    assert code in (0, 2), (argv, code, err)
    if code == 0:
        _strict(out)
    else:
        assert err.count("\n") == 1 and err.startswith("error: "), (argv, err)


_SETTINGS = dict(deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def tight(monkeypatch):
    # time estimates refuse anything above about ten seconds, so every accepted case is small
    monkeypatch.setenv("VERIFY_TIME_LIMIT_H", "0.003")
    monkeypatch.setenv("VERIFY_NO_CACHE", "1")


@settings(max_examples=120, **_SETTINGS)
@given(options=st.lists(st.tuples(st.sampled_from(["--lr", "--curvature", "--noise", "--momentum", "--chains",
                                                   "--steps", "--seed"]), _VALUES), min_size=1, max_size=5))
def test_fuzz_stationary_options(capsys, tight, options):
    argv = ["noisy-quadratic", "stationary", "--json", "--lr", "0.1", "--curvature", "1", "--noise", "1",
            "--chains", "64", "--steps", "200"]
    for option, value in options:
        argv += [f"{option}={value}"]
    _answered(capsys, argv)


@settings(max_examples=100, **_SETTINGS)
@given(options=st.lists(st.tuples(st.sampled_from(["--width", "--target", "--seed", "--steps"]), _VALUES),
                        min_size=1, max_size=4))
def test_fuzz_uv_options(capsys, tight, options):
    argv = ["early-training", "uv", "--json", "--width", "16"]
    for option, value in options:
        argv += [f"{option}={value}"]
    _answered(capsys, argv)


@settings(max_examples=80, **_SETTINGS)
@given(options=st.lists(st.tuples(st.sampled_from(["--depth", "--width", "--seed", "--steps", "--threads",
                                                   "--data", "--device"]),
                                  st.one_of(_VALUES, st.sampled_from(["digits", "mnist", "cuda", "cpu"]))),
                        min_size=1, max_size=4))
def test_fuzz_critical_lr_options_are_checked_before_any_network(capsys, tight, monkeypatch, options):
    """A stub stands in for the search itself: what is fuzzed is the checking before it."""
    from verify.early_training import critical as _critical

    def stub(*args, **kwargs):
        raise InputError("stub", "ran", "the options were accepted", "nothing")

    monkeypatch.setattr(_critical, "measure", stub)
    argv = ["early-training", "critical-lr", "--json", "--quiet", "--depth", "2", "--width", "8"]
    for option, value in options:
        argv += [f"{option}={value}"]
    _answered(capsys, argv)


_TABLES = {"uv": ["width", "target", "seed", "steps", "bogus"],
           "critical-lr": ["depth", "width", "seed", "steps", "data", "zero_last_layer", "device"],
           "stationary": ["lr", "curvature", "noise", "momentum", "chains", "steps", "seed"]}
_TOML_VALUES = st.one_of(st.integers(-3, 100), st.sampled_from([2**63, 2**70, 10**12]), st.floats(),
                         st.booleans(), st.sampled_from(['"x"', '"digits"', '"mnist"', "[1, 2]", "{a = 1}"]))


def _toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if v == v and abs(v) != float("inf") else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
    return str(v)


@settings(max_examples=120, **_SETTINGS)
@given(tool=st.sampled_from(sorted(_TABLES)), data=st.data())
def test_fuzz_tool_config_files(capsys, tight, monkeypatch, tmp_path, tool, data):
    from verify.early_training import critical as _critical

    monkeypatch.setattr(_critical, "measure", lambda *a, **k: (_ for _ in ()).throw(
        InputError("stub", "ran", "the options were accepted", "nothing")))
    table = data.draw(st.sampled_from([tool, tool, "other"]))
    keys = data.draw(st.lists(st.sampled_from(_TABLES[tool]), min_size=1, max_size=4, unique=True))
    lines = [f"[{table}]"] + [f"{k} = {_toml(data.draw(_TOML_VALUES))}" for k in keys]
    path = tmp_path / "settings.toml"
    path.write_text("\n".join(lines) + "\n")
    paper = "noisy-quadratic" if tool == "stationary" else "early-training"
    base = {"uv": {"width": "16"}, "critical-lr": {"depth": "2", "width": "8"},
            "stationary": {"chains": "64", "steps": "200"}}[tool]
    extra = [f"--{k}={v}" for k, v in base.items() if k not in keys or table != tool]
    quiet = ["--quiet"] if tool == "critical-lr" else []
    _answered(capsys, [paper, tool, "--json", *quiet, "--config", str(path)] + extra)
