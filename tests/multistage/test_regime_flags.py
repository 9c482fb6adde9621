"""predict says where its assumptions fail, and its JSON never holds NaN or infinities."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

import dataclasses
import functools

from theory.bridge import numeric
from theory.multistage import descent_time
from theory.multistage.symbols import K0 as K0_sym
from verify.multistage.claims import descent_time as d9
from verify.multistage.config import config_from_dict
from verify.multistage.prediction import predict
from verify.multistage.simulation import measure, simulate
from waiting import HANG_S

ROOT = Path(__file__).resolve().parents[2]


def _raw(**over):
    raw = {"model": {"activation": "tanh", "width": 200, "alpha": 1.0},
           "data": {"dim": 2, "quadrature": 8, "whiten": True},
           "target": {"expr": "tanh(2*x0) + 0.3*x1"},
           "train": {"method": "flow", "lr": 0.01, "t_max": 10.0, "seed": 1},
           "analysis": {"delta": 0.01}}
    for table, values in over.items():
        raw[table] = {**raw[table], **values}
    return raw


def _reject(name):
    raise ValueError(f"non-finite JSON constant {name}")


def _predict_json(tmp_path, raw) -> dict:
    lines = []
    for table, values in raw.items():
        lines.append(f"[{table}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    out = subprocess.run([sys.executable, "-m", "verify", "predict", "--config", str(path), "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=HANG_S)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout, parse_constant=_reject)


def test_large_K0_is_flagged_and_has_no_t_half(tmp_path):
    # the example: predicted t_half = -2.54 as applicable, simulation 2.04
    p = _predict_json(tmp_path, _raw(model={"width": 10, "alpha": 0.55},
                                     target={"expr": "0.2*x0 + x1**2"}))
    assert p["K0"] >= 0.5
    assert isinstance(p["applicable"], str) and "K0" in p["applicable"]
    assert p["t_half"] is None and "K0" in p["reasons"]["t_half"]


def test_moderate_K0_is_flagged_with_its_signed_error_estimate():
    p = predict(config_from_dict(_raw(model={"width": 50, "alpha": 0.55})))
    err = p["t_half_decaying_error"]
    assert p["K0"] < 0.5 and abs(err) > d9.T_HALF.value, (p["K0"], err)
    assert isinstance(p["applicable"], str) and f"{err:+.2%}" in p["applicable"]
    assert ("earlier" if err < 0 else "later") in p["applicable"]
    assert p["t_half"] is not None          # still reported, but flagged


def test_small_K0_is_applicable():
    p = predict(config_from_dict(_raw()))
    assert abs(p["t_half_decaying_error"]) <= d9.T_HALF.value and p["applicable"] is True
    # reasons only for nulls outside the K dynamics (the quadrature's data seed; T_p where q_max(0) is above
    # m^-alpha_1 at this width)
    assert not {"K0", "growth_rate", "t_half", "T_d", "T_d.value"} & set(p["reasons"]), p["reasons"]
    assert {"seeds.data", "data.seed"} <= set(p["reasons"])


def test_control_a_tolerance_below_the_estimate_flags_the_same_configuration(monkeypatch):
    """The flag compares the estimate with D9-t-half's tolerance: the same small-K0 configuration is flagged once
    that tolerance is below its (small) estimated error."""
    config = config_from_dict(_raw())
    err = predict(config)["t_half_decaying_error"]
    monkeypatch.setattr(d9, "T_HALF", dataclasses.replace(d9.T_HALF, value=abs(err) / 2))
    p = predict(config)
    assert isinstance(p["applicable"], str) and "decaying modes" in p["applicable"]


# the estimate against the simulator: sign and size (configurations where the flag fires and where it nearly does)
ESTIMATE_CASES = [(50, 0.55), (200, 0.7)]
#: the estimate neglects the perpendicular components of beta and the cubic terms of tanh: measured, it is within
#: 30 % of the simulated error here (-18.9 % vs -21.8 %, +1.7 % vs +1.3 %); half the actual error is the band
ESTIMATE_BAND = 0.5


@functools.lru_cache(maxsize=None)
def _actual_error(width, alpha):
    config = config_from_dict(_raw(model={"width": width, "alpha": alpha}, train={"t_max": 4.0}))
    p = predict(config)
    traj, obs, kernel = simulate(config, progress=False, grid=101)
    return p, p["t_half"] / measure(config, traj, obs, kernel)["t_half"] - 1


@pytest.mark.parametrize("width, alpha", ESTIMATE_CASES)
def test_t_half_error_estimate_has_the_simulated_sign_and_size(width, alpha):
    p, actual = _actual_error(width, alpha)
    assert abs(actual) > d9.T_HALF.value          # the flag's case: the logistic t_half is off beyond tolerance
    assert abs(p["t_half_decaying_error"] - actual) <= ESTIMATE_BAND * abs(actual), (p["t_half_decaying_error"], actual)


def test_control_the_earlier_estimate_has_the_wrong_sign_where_the_flag_fires():
    """The earlier estimate 4 K0^2 / ((1 - K0) log((1 - K0)/K0)) is positive for every K0 < 1/2, while at K0 = 0.3
    the logistic t_half is early (-22 %): it fails the same check."""
    p, actual = _actual_error(*ESTIMATE_CASES[0])
    old = float(numeric(4 * K0_sym**2 / ((1 - K0_sym) * sp.log((1 - K0_sym) / K0_sym)), (K0_sym,))(p["K0"]))
    assert actual < 0 < old
    assert abs(old - actual) > ESTIMATE_BAND * abs(actual), (old, actual)


@pytest.mark.parametrize("eta_z", [0.9, 1.0, 1.5, 2.1])
def test_gd_step_past_the_map_stability_keeps_the_map_times_with_a_flag(eta_z):
    zn = predict(config_from_dict(_raw()))["z_norm"]
    p = predict(config_from_dict(_raw(train={"method": "gd", "lr": eta_z / zn * (1 + 1e-12)})))
    assert p["t_half"] is not None and p["T_d"]["value"] is not None and p["growth_rate"] is not None
    if eta_z < 1:
        assert p["applicable"] is True
    else:   # control: the flag says what changes beyond eta|z| = 1
        assert isinstance(p["applicable"], str) and "eta |z|" in p["applicable"] and "oscillat" in p["applicable"]
    assert ("v_k modes grow" in str(p["applicable"])) == (eta_z >= 2)


def test_gd_map_times_past_eta_z_1_match_the_simulator():
    """At eta|z| = 1.1 D9's map still gives t_half (0.1 % on this configuration); control: the logistic law with
    the GD rate, the earlier prediction, is off by more than D9-t-half's tolerance."""
    zn = predict(config_from_dict(_raw()))["z_norm"]
    config = config_from_dict(_raw(model={"alpha": 1.5}, train={"method": "gd", "lr": 1.1 / zn, "t_max": 12.0}))
    p = predict(config)
    traj, obs, kernel = simulate(config, progress=False, grid=101)
    measured = measure(config, traj, obs, kernel)["t_half"]
    assert abs(p["t_half"] / measured - 1) <= d9.T_HALF.value
    logistic = float(numeric(descent_time.t_half.subs(descent_time.r, descent_time.rate_gd),
                             (K0_sym, descent_time.z_norm, descent_time.eta))(p["K0"], zn, config.train.lr))
    assert abs(logistic / measured - 1) > d9.T_HALF.value


@pytest.mark.parametrize("activation", ["sinh(s)", "s - s**3/3 + s**5/10"])
def test_infinite_C_L_is_flagged(tmp_path, activation):
    p = _predict_json(tmp_path, _raw(model={"activation": activation}))
    assert isinstance(p["applicable"], str) and "infinite" in p["applicable"]
    assert p["activation"]["C_L"] is not None


def test_tiny_z_gives_null_not_nan(tmp_path):
    # today's bug: target 1E-3*x0 printed "t_half": NaN
    p = _predict_json(tmp_path, _raw(target={"expr": "1E-3*x0"}))
    assert isinstance(p["applicable"], str)
    assert p["t_half"] is None and p["reasons"]["t_half"]


def test_control_the_json_check_rejects_nan():
    with pytest.raises(ValueError):
        json.loads('{"t_half": NaN}', parse_constant=_reject)


@pytest.mark.parametrize("claim_id", ["D3-higher-order-bound", "D5-growth-lemma"])
def test_infinite_C_0_makes_the_bounds_not_applicable(claim_id):
    """tanh(s) + 0.05 s^3 has sup |sigma'| infinite, so C_1 is infinite and D3's and D5's bounds say nothing: the
    claims are not applicable with predict's measured reason (before any simulation)."""
    from verify.multistage.context import Context
    from verify.registry import REGISTRY, load_papers

    load_papers()
    user = _raw(model={"activation": "tanh(s) + 0.05*s**3"})
    ctx = Context.make("quick", user=user)
    p = predict(ctx.config())
    assert p["C_1"] is None and "C_0" in p["reasons"]["C_1"] and "infinite" in p["reasons"]["C_1"]
    verdict = REGISTRY[claim_id].check(ctx)
    assert verdict.status == "not-applicable" and "C_0" in verdict.key["why"]
    assert not ctx._runs                         # refused before simulating


def test_control_finite_C_0_leaves_the_bounds_applicable():
    from verify.multistage.claims.higher_order import bound_not_applicable

    p = predict(config_from_dict(_raw()))
    assert p["C_1"] is not None and "C_1" not in p["reasons"]
    assert bound_not_applicable(config_from_dict(_raw())) is None
