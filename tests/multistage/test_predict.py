"""The predictions (verify/multistage/prediction.py): numeric oracles (closed forms, a second ODE solver), properties.

Oracle: the logistic closed form of D8/D9 for the reduced flow of D8 when ``z`` is an eigenvector
of ``Sigma`` (then ``beta`` stays along ``z`` and ``K' = 2|z| K (1 - K)`` whatever the eigenvalue:
derived in the test below).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from theory.bridge import numeric
from theory.multistage import descent_time, initial_plateau
from theory.multistage.symbols import C_0, K0 as K0_sym, M_fx1, M_x2, Q, delta as delta_sym, m
from verify.multistage import linear_stage
from verify.multistage.config import config_from_dict
from verify.multistage.initialisation import growing_mode, initial_parameters
from verify.multistage.prediction import predict, reduced_flow_times
from verify.multistage.claims.descent_time import T_HALF

from strategies import ACTIVATIONS, float_function, log_uniform_int

#: The D8 reduced flow is integrated by LSODA at rtol 1e-10; event times carry that error
#: amplified by ~10 e-folds of growth (observed 1e-9 relative).
REDUCED_FLOW_RTOL = 1e-7

#: The bound sum of moments over the same point set that the risk uses: round-off only.
RISK_ROUNDOFF = 1e-12


# ---------------------------------------------------------------------------
# predictions


def _config(**tables):
    base = {"model": {"activation": "sin", "width": 800, "alpha": 1.0},
            "data": {"dim": 3, "quadrature": 8},
            "target": {"expr": "tanh(2*x0) + 0.5*x1**2 + 0.4*x2 - 0.3"},
            "train": {"method": "flow", "seed": 3}}
    for name, table in tables.items():
        base[name] = {**base.get(name, {}), **table}
    return config_from_dict(base)


def test_predict_flow_whitened_matches_the_closed_form():
    config = _config(model={"activation": "tanh"})
    p = predict(config)
    assert p["applicable"] is True
    zn = p["z_norm"]
    assert p["growth_rate"] == pytest.approx(2 * zn, rel=1e-14)
    # K0 recomputed here from the same seeded initialisation (whitened: z^T Sigma^-1 z = |z|^2)
    a, W = initial_parameters(800, 3, 1.0, 3)
    u = growing_mode(a, W, config.dataset.z)
    K0 = np.sum(u**2) / (2 * zn)
    assert p["K0"] == pytest.approx(K0, rel=1e-12)
    assert p["t_half"] == pytest.approx(np.log(1 / K0 - 1) / p["growth_rate"], rel=1e-12)
    delta = p["T_d"]["delta"]
    # D9's T_d without the O(1/m) plateau shift; the reported T_d has D10's carrying capacity K_eq > 1 (tanh)
    assert p["T_d"]["without_shift"] == pytest.approx(np.log((1 - K0) * (1 - delta) / (K0 * delta)) / (2 * zn),
                                                      rel=1e-12)
    K_eq = p["K_eq"]
    assert K_eq > 1 and p["T_d"]["capacity_law"] == pytest.approx(
        np.log((1 - delta) * (K_eq - K0) / (K0 * (K_eq - 1 + delta))) / (2 * zn), rel=1e-12)
    # the reported T_d is D10's approach law (tanh: its rate at K_eq is below 2|z|, so K arrives later than under
    # the capacity law), by D10's first-order bias up to the rho^2 part, which the error estimate is twice of
    T = p["T_d"]
    mo = config.dataset.moments
    bias = -(-2) * (p["m_rho"] / 800) * mo["E_s4"] * np.log((1 - K0) / delta) / 4      # g3 = -2
    assert T["value"] > T["capacity_law"]
    assert abs(T["first_order"] - T["capacity_law"] - bias) <= 0.2 * bias     # beyond first order: 6 % here
    assert T["error_estimate"] == pytest.approx(2 * abs(T["value"] - T["first_order"]), rel=1e-12)
    assert "approach law" in p["times_from"]
    assert 0 < p["K0"] < 1
    assert p["plateau_loss"] == pytest.approx(0.5 * (config.dataset.moments["E_f2"]
                                                     - config.dataset.moments["z_Sinv_z"]), rel=1e-12)
    # negative control: the GD rate would give a different half-way time
    assert abs(np.log(1 / K0 - 1) / (2 * np.log1p(0.5 * zn) / 0.5) - p["t_half"]) > 1e-3 * p["t_half"]


@pytest.mark.parametrize("lr", [0.01, 0.2])
def test_predict_gd_rate(lr):
    p = predict(_config(train={"method": "gd", "lr": lr}))
    zn = p["z_norm"]
    assert p["growth_rate"] == pytest.approx(2 * np.log1p(lr * zn) / lr, rel=1e-13)
    assert p["growth_rate"] < 2 * zn
    # under GD t_half is D9's map iterated from K0 (not the logistic law with the GD rate, which is the control)
    k, n = p["K0"], 0
    while k < 0.5:
        k_prev, k = k, k * (1 + lr * zn * (1 - k / p["K_eq"])) ** 2
        n += 1
    assert p["t_half"] == pytest.approx((n - 1 + (0.5 - k_prev) / (k - k_prev)) * lr, rel=1e-12)
    logistic = np.log(1 / p["K0"] - 1) / p["growth_rate"]
    assert (p["t_half"] == pytest.approx(logistic, rel=2e-3)) == (lr * zn < 0.05)


@pytest.mark.parametrize("lr", [1e-6, 1e-9, 1e-12])
def test_predict_gd_rate_keeps_its_digits_at_small_steps(lr):
    """The GD rate 2 log(1 + eta|z|) / eta through log1p: with log it lost eps / (eta|z|) of itself (1e-7 at
    eta|z| = 1e-9, 2e-5 at 1e-12); the control is that rate through log, off by more than the band."""
    p = predict(_config(train={"method": "gd", "lr": lr}))
    zn = p["z_norm"]
    exact = 2 * math.log1p(lr * zn) / lr
    assert p["growth_rate"] == pytest.approx(exact, rel=1e-14)
    through_log = float(numeric(descent_time.rate_gd, (descent_time.z_norm, descent_time.eta))(zn, lr))
    assert (through_log == pytest.approx(exact, rel=1e-14)) == (lr > 1e-6)


def test_predict_flags_inapplicable_configurations():
    big_step = predict(_config(train={"method": "gd", "lr": 5.0}))
    assert isinstance(big_step["applicable"], str) and "eta |z|" in big_step["applicable"]
    # past eta|z| = 1 the map's first passages are kept, with the flag saying that no plateau at K = 1 follows
    assert big_step["t_half"] is not None and "oscillates" in big_step["applicable"]
    even = predict(_config(target={"expr": "x0**2 + x1*x2"}))
    assert isinstance(even["applicable"], str) and "z = 0" in even["applicable"]
    assert even["growth_rate"] is None and even["K0"] is None


def test_predict_non_whitened_samples_use_the_reduced_flow():
    config = _config(data={"quadrature": None, "samples": 300, "whiten": False, "seed": 2})
    p = predict(config)
    assert p["times_from"].startswith("t_half: reduced flow")
    mo = config.dataset.moments
    Sigma, z = mo["Sigma"], mo["z"]
    assert np.max(np.abs(Sigma - np.eye(3))) > 0.01            # really not whitened
    # independent integrator (DOP853) of the same reduced flow: K(t_half) = 1/2
    from scipy.integrate import solve_ivp
    zn = np.linalg.norm(z)
    beta0 = p["K0"] * mo["z_Sinv_z"] / zn * z / zn               # K0 = beta0 . z / z^T Sigma^-1 z

    def rhs(_t, b):
        g = Sigma @ b - z
        nb = np.linalg.norm(b)
        return -(nb * g + b * (b @ g) / nb)

    sol = solve_ivp(rhs, (0, p["t_half"]), beta0, method="DOP853", rtol=1e-11, atol=1e-16)
    K_end = sol.y[:, -1] @ z / mo["z_Sinv_z"]
    assert K_end == pytest.approx(0.5, rel=REDUCED_FLOW_RTOL * 10)
    assert p["T_d"]["value"] > p["t_half"]
    # T_d.without_shift is D8's reduced flow, from the same integrator: K(T_d.without_shift) = 1 - delta
    sol = solve_ivp(rhs, (0, p["T_d"]["without_shift"]), beta0, method="DOP853", rtol=1e-11, atol=1e-16)
    assert sol.y[:, -1] @ z / mo["z_Sinv_z"] == pytest.approx(1 - p["T_d"]["delta"], rel=REDUCED_FLOW_RTOL * 10)


def _reduced_times_for_eigen_direction(lams, K0, zn=0.8, delta=0.01):
    """z = zn e1 is an eigenvector of Sigma = diag(lams): beta = b e1 stays on it and
    b' = -2 b (lam1 b - zn); with K = lam1 b / zn this is K' = 2 zn K (1 - K) for every lam1."""
    Sigma = np.diag(lams)
    z = np.zeros(len(lams))
    z[0] = zn
    b0 = K0 * zn / lams[0]
    return reduced_flow_times(Sigma, z, b0 * z / zn, [0.5, 1 - delta])


@pytest.mark.parametrize("lams", [[1.0, 1.0, 1.0], [2.0, 0.5, 3.0], [0.3, 1.0]])
@pytest.mark.parametrize("K0", [1e-2, 1e-4])
def test_reduced_flow_reproduces_the_closed_form(lams, K0):
    zn, delta = 0.8, 0.01
    t_half, T_d = _reduced_times_for_eigen_direction(lams, K0, zn, delta)
    r = 2 * zn
    expected_half = float(numeric(descent_time.t_half, (K0_sym, descent_time.r))(K0, r))
    expected_T_d = float(numeric(descent_time.T_d, (K0_sym, delta_sym, descent_time.r))(K0, delta, r))
    assert t_half == pytest.approx(expected_half, rel=REDUCED_FLOW_RTOL)
    assert T_d == pytest.approx(expected_T_d, rel=REDUCED_FLOW_RTOL)
    # negative control: a rate 5 % off is far outside the tolerance
    assert abs(t_half - expected_half / 1.05) > 1e3 * REDUCED_FLOW_RTOL * expected_half


def test_predicted_plateau_length_is_positive_or_flagged():
    p = predict(_config(model={"alpha": 0.75, "width": 1000}))
    T_p = p["T_p"]
    flagged = p["applicable"] is not True or T_p.get("applicable", True) is not True
    assert flagged or T_p["value"] > 0
    assert flagged and T_p["value"] is None     # this configuration has q_max(0) > m^-alpha_1


# ---------------------------------------------------------------------------
# property: predictions for random targets and widths


def _decimal(draw, lo: int, hi: int) -> str:
    return f"{draw(st.integers(lo, hi)) / 10:.1f}"


@st.composite
def prediction_configs(draw):
    c0, c1 = _decimal(draw, -15, 15), _decimal(draw, -15, 15)
    c, k, b, e0 = _decimal(draw, -10, 10), _decimal(draw, 5, 25), _decimal(draw, -5, 5), _decimal(draw, -5, 5)
    expr = f"{c0}*x0 + {c1}*x1 + {c}*tanh({k}*x0) + {b}*x1**2 + {e0}"
    rule = draw(st.sampled_from([{"quadrature": 6}, {"quadrature": 9}, {"samples": 150}]))
    method = draw(st.sampled_from(["flow", "gd"]))
    raw = {
        "model": {"activation": draw(st.sampled_from(ACTIVATIONS)), "width": log_uniform_int(draw, 200, 20000),
                  "alpha": draw(st.floats(0.75, 2.0))},
        "data": {"dim": 2, "whiten": True, "seed": draw(st.integers(0, 1000)), **rule},
        "target": {"expr": expr},
        "train": {"method": method, "lr": draw(st.floats(0.001, 0.3)), "seed": draw(st.integers(0, 10**6))},
        "analysis": {"delta": draw(st.floats(0.001, 0.2))},
    }
    return config_from_dict(raw)


@pytest.mark.usefixtures("memoised_suprema")
@settings(deadline=None, max_examples=max(5, settings().max_examples // 2))
@given(prediction_configs())
def test_predictions_are_consistent(config):
    p = predict(config)
    note(f"{config.target.expr} {config.model} {config.train.method}")
    data = config.dataset
    mo = data.moments
    # the secondary-plateau level: 0 <= R* = 1/2 E f*^2 - 1/2 z^T Sigma^-1 z <= 1/2 E f*^2
    assert -RISK_ROUNDOFF <= p["plateau_loss"] <= 0.5 * mo["E_f2"] + RISK_ROUNDOFF
    # the initial loss is 1/2 E f*^2 up to the D6 bound at Q = q_max(0) (|f_0| <= C_0 m Q^2 |x| / 2)
    a, W = initial_parameters(config.model.width, 2, config.model.alpha, config.train.seed)
    qmax0 = float(np.max(np.hypot(a, np.linalg.norm(W, axis=1))))
    bound = float_function(initial_plateau.loss_bound, C_0, m, Q, M_fx1, M_x2)(
        config.activation.C0.upper, config.model.width, qmax0, mo["E_abs_f_x"], mo["E_x2"])
    assert abs(p["initial_loss"] - 0.5 * mo["E_f2"]) <= bound + RISK_ROUNDOFF
    if p["applicable"] is not True:
        # the regime flags: no growing mode, an unstable GD step, K0 not small, or an infinite C_L
        assert (data.z_is_zero or (config.train.method == "gd" and config.train.lr * data.z_norm >= 1)
                or (p["K0"] is not None and p["K0"] >= 0.5)
                or abs(p["t_half_decaying_error"]) > T_HALF.value or not config.activation.C_L.finite), \
            p["applicable"]
        return
    zn, lr = p["z_norm"], config.train.lr
    want_rate = 2 * zn if config.train.method == "flow" else 2 * math.log1p(lr * zn) / lr
    assert p["growth_rate"] == pytest.approx(want_rate, rel=1e-12)
    K0_expected = config.model.width ** (1 - 2 * config.model.alpha) / (2 * zn)
    assert p["K0_expected"] == pytest.approx(K0_expected, rel=1e-12)
    assume(K0_expected < 0.05)     # "m large": the chi-square factor K0 / E K0 stays far below 20
    assert 0 < p["K0"] < 1
    if config.train.method == "flow":
        assert p["t_half"] == pytest.approx(math.log(1 / p["K0"] - 1) / p["growth_rate"], rel=1e-12)
    else:   # D9's discrete map under GD (with D10's carrying capacity), iterated from K0
        k, n = p["K0"], 0
        while k < 0.5:
            k_prev, k = k, k * (1 + lr * zn * (1 - k / p["K_eq"])) ** 2
            n += 1
        assert p["t_half"] == pytest.approx((n - 1 + (0.5 - k_prev) / (k - k_prev)) * lr, rel=1e-12)
    assert p["T_d"]["value"] > p["t_half"] > 0
    assert p["dT_d_dalpha"] == pytest.approx(2 * math.log(config.model.width) / p["growth_rate"], rel=1e-12)
    assert p["T_p"]["q_max0"] == pytest.approx(qmax0, rel=1e-14)
    level = config.model.width ** (-config.alpha_1)
    T_p_grow = math.log(level / qmax0) / zn
    if T_p_grow > 0:
        T_p = p["T_p"]["value"]
        assert p["T_p"]["growth_only"] == pytest.approx(T_p_grow, rel=1e-12, abs=1e-12)
        assert p["T_p"]["applicable"] is True and T_p >= T_p_grow * (1 - 1e-12)   # only u_k grows: later
        u, v, pk = linear_stage.modes(a, W, data.z)
        lr = config.train.lr
        if config.train.method == "flow":   # independent of brentq: the explicit per-neuron root, min over k
            T_k = float_function(initial_plateau.T_k_flow, initial_plateau.u_k, initial_plateau.v_k,
                                 initial_plateau.p_k, Q, initial_plateau.z_norm)
            assert T_p == pytest.approx(float(np.min(T_k(u, v, pk, level, zn))), rel=1e-9)
        if config.train.method == "flow":   # the linear flow is at the level at T_p and below it just before
            assert linear_stage.q_max_linear(T_p, u, v, pk, zn) == pytest.approx(level, rel=1e-9)
            assert T_p < 1e-3 or linear_stage.q_max_linear(T_p * (1 - 1e-6), u, v, pk, zn) < level
        else:   # GD: the iterates on either side of T_p bracket the level (T_p is read off between them)
            n_hi = max(math.ceil(T_p / lr - 1e-9), 1)
            below, above = (linear_stage.q_max_linear(k * lr, u, v, pk, zn, "gd", lr) for k in (n_hi - 1, n_hi))
            assert below < level * (1 + 1e-12) and above >= level * (1 - 1e-12)
    else:   # no initial plateau left to predict: flagged, no number
        assert p["T_p"]["value"] is None and "no initial plateau" in p["T_p"]["applicable"]


@pytest.mark.parametrize("lr", [1e-6, 1e-17])
def test_predict_refuses_the_gd_map_at_a_flow_sized_step(lr):
    """At a step this small D9's GD map would need more than a million steps (at 1e-17 its rate rounds to
    zero and the count is infinite): no GD times are predicted and the reason names the flow."""
    p = predict(_config(train={"method": "gd", "lr": lr}))
    assert p["t_half"] is None and p["T_d"]["value"] is None
    assert "gradient-flow limit" in p["reasons"]["t_half"]
    if lr < 1e-16:     # the closed form's first passage is refused too (it looped for ever before)
        assert p["T_p"]["value"] is None and "rounds to 1" in p["T_p"]["applicable"]
    else:
        assert p["T_p"]["value"] > 0


def test_predict_keeps_the_gd_map_at_the_largest_small_step():
    """The control: at lr = 1e-4 the map needs fewer than a million steps and is iterated."""
    p = predict(_config(train={"method": "gd", "lr": 1e-4}))
    assert p["t_half"] is not None and "t_half" not in p["reasons"]
