"""The noisy-quadratic command line: stationary output, unstable parameters, one-line errors, derive."""
from __future__ import annotations

import json

import numpy as np
import pytest

from verify.cli import main
from verify.noisy_quadratic.cli import point_stream_key, stationary_summary
from verify.noisy_quadratic.simulation import simulate


def test_stationary_json_within_interval(capsys):
    assert main(["noisy-quadratic", "stationary", "--lr", "0.05", "--curvature", "1", "--noise", "1",
                 "--momentum", "0.9", "--chains", "512", "--steps", "2000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stable"] is True and out["exact"] == pytest.approx(0.05 * 1.9 / (0.1 * 1.85))
    lo, hi = out["simulated"]["interval_95"]
    assert lo - 3 * out["simulated"]["stderr"] < out["exact"] < hi + 3 * out["simulated"]["stderr"]
    assert out["approximation"] < lo                         # the approximation is far below
    assert out["relaxation_rate"] == pytest.approx(0.9 ** 0.5)


def test_unstable_is_reported_not_an_error(capsys):
    assert main(["noisy-quadratic", "stationary", "--lr", "2.5", "--curvature", "1", "--noise", "1",
                 "--momentum", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stable"] is False and out["simulated"] is None and "1.5" in out["region"]


@pytest.mark.parametrize("args,field", [
    (["--noise", "-1"], "--noise"), (["--momentum", "1"], "--momentum"), (["--momentum", "-0.1"], "--momentum"),
    (["--chains", "0"], "--chains"), (["--lr", "x"], "--lr"), (["--steps", "0"], "--steps"),
])
def test_bad_input_one_line_exit_2(capsys, args, field):
    base = {"--lr": "0.1", "--curvature": "1", "--noise": "1"}
    extra = dict(zip(args[::2], args[1::2]))
    flat = [t for kv in {**base, **extra}.items() for t in kv]
    assert main(["noisy-quadratic", "stationary", *flat]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {field} = ") and "fix:" in err[0]


def test_derive_json(capsys):
    assert main(["noisy-quadratic", "derive", "Q2", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)[0]
    assert rec["key"] == "Q2" and all(rec["identities"].values())


# ---------------------------------------------------------------------------
# the approximation's pole (issue 21): reported, not a ZeroDivisionError


@pytest.mark.parametrize("json_out", [True, False])
def test_stationary_at_the_approximations_pole_has_no_traceback(capsys, json_out):
    """At alpha lambda = 1 - gamma^2 (0.75 at gamma = 0.5) the approximation is unbounded: null with the reason,
    the exact floor (alpha lambda^2 sigma^2 (1 + gamma) / ((1 - gamma)(1 + gamma - alpha lambda)) = 3) printed."""
    args = ["noisy-quadratic", "stationary", "--lr", "0.75", "--curvature", "1", "--noise", "1", "--momentum", "0.5",
            "--chains", "64", "--steps", "200"]
    assert main(args + (["--json"] if json_out else [])) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and not captured.err.strip()
    if json_out:
        out = json.loads(captured.out)
        assert out["approximation"] is None and "at its pole" in out["approximation_note"]
        assert out["approximation_pole"] == pytest.approx(0.75, rel=4 * np.finfo(float).eps)
        assert out["exact"] == pytest.approx(3.0, rel=16 * np.finfo(float).eps)
        assert out["simulated"] is not None
    else:
        assert "unbounded" in captured.out and "exact            3" in captured.out


def test_approximation_on_both_sides_of_the_pole_and_within_rounding_of_it():
    """Control: just below the pole the approximation is finite and large, beyond it null (negative); an ulp
    either side of the pole gives no error either."""
    below = stationary_summary(0.74, 1.0, 1.0, 0.5, chains=16, steps=20)
    beyond = stationary_summary(0.76, 1.0, 1.0, 0.5, chains=16, steps=20)
    assert below["approximation"] == pytest.approx(0.74 / 0.01, rel=1e-9) and below["approximation_note"] == "finite"
    assert beyond["approximation"] is None and "beyond its pole" in beyond["approximation_note"]
    for lr in (np.nextafter(0.75, 0.0), np.nextafter(0.75, 1.0), 0.375):     # 0.375 x curvature 2: the pole
        out = stationary_summary(float(lr), 2.0 if lr == 0.375 else 1.0, 1.0, 0.5, chains=16, steps=20)
        assert out["stable"] and out["exact"] > 0
        assert out["approximation"] is None or out["approximation"] > 1e12


# ---------------------------------------------------------------------------
# each point its own noise stream (issue 21)


def _correlation(a, b) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def test_each_point_of_a_simulation_draws_its_own_stream():
    """Two points of one simulation: per-chain time averages uncorrelated (|r| < 0.15, 1024 chains: about 5
    standard errors of a zero correlation), and a point's numbers do not depend on the points simulated with it.
    Control: the two points simulated in two calls on one stream (what the tool did before) correlate above 0.9."""
    kw = dict(chains=1024, steps=400, burn_in=100, seed=0, spawn_key=(9,))
    both = simulate([0.10, 0.11], 1.0, 1.0, **kw)
    assert abs(_correlation(both.chain_means[0], both.chain_means[1])) < 0.15
    alone = simulate(0.10, 1.0, 1.0, **kw)
    assert np.array_equal(alone.chain_means[0], both.chain_means[0])
    other = simulate(0.11, 1.0, 1.0, **kw)           # control: the same stream for a second point
    assert _correlation(alone.chain_means[0], other.chain_means[0]) > 0.9


def test_the_stationary_tool_gives_each_point_its_own_stream():
    """The tool keys a point's stream by its parameters: two points with one seed draw independent noise (|r| <
    0.15 between their per-chain averages); one point twice gives the same numbers; control: one key for both
    points correlates above 0.9."""
    key_a, key_b = point_stream_key(0.10, 1.0, 1.0, 0.5), point_stream_key(0.11, 1.0, 1.0, 0.5)
    assert key_a != key_b and key_a == point_stream_key(0.10, 1.0, 1.0, 0.5)
    kw = dict(chains=1024, steps=400, burn_in=100, seed=0)
    a = simulate(0.10, 1.0, 1.0, 0.5, spawn_key=key_a, **kw).chain_means[0]
    b = simulate(0.11, 1.0, 1.0, 0.5, spawn_key=key_b, **kw).chain_means[0]
    shared = simulate(0.11, 1.0, 1.0, 0.5, spawn_key=key_a, **kw).chain_means[0]
    assert abs(_correlation(a, b)) < 0.15
    assert _correlation(a, shared) > 0.9
    first = stationary_summary(0.1, 1.0, 1.0, 0.5, chains=64, steps=100)
    again = stationary_summary(0.1, 1.0, 1.0, 0.5, chains=64, steps=100)
    assert first["simulated"] == again["simulated"] and str(key_a[0]) in first["simulated"]["noise_stream"]


@pytest.mark.parametrize("args", [
    ["--lr", "0.1", "--noise", "1e300"],                              # x^2 overflows: inf, reported
    ["--lr", "1e300", "--curvature", "1e-300", "--momentum", "0.5"],  # the floor underflows to 0
    ["--lr", "5e-324"],                                               # rho rounds to 1: not simulated
    ["--lr", "1e-12", "--momentum", "0.9"],                           # a burn-in of 4.6e11 steps: not simulated
    ["--lr", "1.4999999999999998", "--momentum", "0.5"],              # an ulp inside the stability edge
    ["--lr", "0.9999999999999999", "--noise", "1e200"],               # the derived floor overflows
])
def test_stationary_has_no_traceback_at_extreme_finite_inputs(capsys, args):
    """Issue 21: no traceback at any finite input: overflow, underflow and points too slow to simulate are
    reported (exit 0), the derived values printed where float64 holds them."""
    base = {"--curvature": "1", "--noise": "1", "--chains": "16", "--steps": "50"}
    extra = dict(zip(args[::2], args[1::2]))
    flat = [t for kv in {**base, **extra}.items() for t in kv]
    assert main(["noisy-quadratic", "stationary", *flat, "--json"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    out = json.loads(captured.out)
    assert out["stable"] is True
    assert out["simulated"] is not None or out["simulation_note"].startswith("not run: ")
