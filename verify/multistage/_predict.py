"""Numeric predictions of D1-D10 for one configuration.

Every number here comes from a derived SymPy expression through the one
lambdify bridge (:func:`theory.bridge.numeric`); nothing is restated by hand.
For non-whitened inputs the descent times come from the reduced flow of D8
(lambdified, integrated with :func:`scipy.integrate.solve_ivp`).
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from theory.multistage import critical_point, descent_time, gradient_flow, higher_order, initial_plateau, reduced_dynamics
from theory.bridge import numeric
from theory.multistage.symbols import C_0, K0, M_fx1, M_x2, alpha, alpha_1, delta, eta, m, q0, z_norm

from ._config import Config
from ._initialisation import growing_mode, initial_parameters

__all__ = ["predict", "reduced_flow_times"]

_SIGMA_IS_IDENTITY = 1e-10


def _f(expr, *args):
    return numeric(expr, args)


def reduced_flow_times(Sigma: np.ndarray, z: np.ndarray, beta0: np.ndarray, levels: list[float],
                       t_max: float = 1e6) -> list[float | None]:
    """Times at which the D8 reduced flow ``beta' = -(|b| I + b b^T/|b|)(Sigma b - z)`` brings K to ``levels``."""
    zSz = float(z @ np.linalg.solve(Sigma, z))

    def rhs(_t, b):
        nb = np.linalg.norm(b)
        g = Sigma @ b - z
        return -(nb * g + b * (b @ g) / nb)

    events = []
    for level in levels:
        ev = (lambda lv: (lambda _t, b: b @ z / zSz - lv))(level)
        ev.terminal = False
        events.append(ev)
    sol = solve_ivp(rhs, (0.0, t_max), beta0, method="LSODA", rtol=1e-10, atol=1e-14 * np.linalg.norm(beta0),
                    events=events)
    return [float(te[0]) if len(te) else None for te in sol.t_events]


def predict(config: Config) -> dict:
    """The predictions for one configuration as a JSON-ready dict."""
    data = config.dataset
    mo = data.moments
    act = config.activation
    width, a_exp, a1 = config.model.width, float(config.model.alpha), config.alpha_1
    method, lr, dlt = config.train.method, float(config.train.lr), float(config.analysis.delta)
    a, W = initial_parameters(width, data.dim, a_exp, config.train.seed)
    initial_loss = gradient_flow.risk(a, W, act, data.X, data.p, data.y)
    plateau_loss = float(_f(critical_point.R_star, sp.Symbol("E[f*^2]", positive=True),
                            sp.Symbol("z^T Sigma^-1 z", nonnegative=True))(mo["E_f2"], mo["z_Sinv_z"]))
    C1 = higher_order.constant_C1(act.C_L.upper, act.C0.upper, mo)
    out = {
        "config": config.as_dict(),
        "seeds": {"data": config.data.seed if data.kind == "sample" else None, "init": config.train.seed},
        "data": data.as_dict(),
        "activation": {"name": act.name, "expr": str(act.expr), "C_L": act.C_L.as_dict(), "C_0": act.C0.as_dict(),
                       "taylor_coefficients": [str(c) for c in act.taylor_coefficients(5)]},
        "method": method,
        "z_norm": data.z_norm,
        "initial_loss": initial_loss,
        "plateau_loss": plateau_loss,
        "C_1": C1,
        "applicable": True,
    }
    reasons = []
    if data.z_is_zero:
        reasons.append(f"z = 0 (|z| = {data.z_norm:.3g}): no growing linear mode, so no plateau exit, "
                       "descent or K dynamics are predicted (D4-D9 assume z != 0)")
    if method == "gd" and not data.z_is_zero and lr * data.z_norm >= 1:
        reasons.append(f"eta |z| = {lr * data.z_norm:.3g} >= 1: the GD linear map has eigenvalue "
                       "1 - eta |z| <= 0, outside the small-step analysis of D4/D9")
    if reasons:
        out["applicable"] = "; ".join(reasons)
        out.update({k: None for k in ("growth_rate", "K0", "K0_expected", "t_half", "T_d", "T_p")})
        return out

    zn = data.z_norm
    rate_expr = descent_time.rate_gd if method == "gd" else descent_time.rate_flow
    growth_rate = float(_f(rate_expr, z_norm, eta)(zn, lr))
    Sigma, z = mo["Sigma"], mo["z"]
    white = np.max(np.abs(Sigma - np.eye(data.dim))) <= _SIGMA_IS_IDENTITY
    u = growing_mode(a, W, z)
    beta_par = float(np.sum(u**2) / 2)          # beta . zhat once the decaying modes have died out
    k0 = beta_par * zn / mo["z_Sinv_z"]         # K = beta . z / z^T Sigma^-1 z
    k0_expected = float(_f(reduced_dynamics.K0_expected, m, alpha, z_norm)(width, a_exp, zn))
    r = descent_time.r
    if white:
        t_half = float(_f(descent_time.t_half, K0, r)(k0, growth_rate))
        T_d = float(_f(descent_time.T_d, K0, delta, r)(k0, dlt, growth_rate))
        times_from = "closed form of D9 (logistic law of D8)"
    elif method == "flow":
        t_half, T_d = reduced_flow_times(Sigma, z, beta_par * z / zn, [0.5, 1 - dlt])
        times_from = "reduced flow of D8 for general Sigma, integrated numerically"
    else:
        t_half = T_d = None
        times_from = "not predicted: gradient descent with non-whitened inputs"
    qmax0 = float(np.max(np.sqrt(a**2 + np.sum(W**2, axis=1))))
    T_p = float(_f(initial_plateau.T_p, m, alpha_1, q0, z_norm)(width, a1, qmax0, zn))
    T_p_applicable = True
    if T_p <= 0:
        T_p_applicable = (f"q_max(0) = {qmax0:.3g} is already above m^-alpha_1 = {width ** -a1:.3g}: there is no "
                          "initial plateau to predict at this width (D6 needs q_max(0) < m^-alpha_1)")
        T_p = None
    out.update({
        "growth_rate": growth_rate,
        "growth_rate_definition": "2 log(1 + eta |z|) / eta" if method == "gd" else "2 |z|",
        "K0": k0,
        "K0_expected": k0_expected,
        "t_half": t_half,
        "T_d": {"value": T_d, "delta": dlt},
        "times_from": times_from,
        "E_T_d": float(_f(descent_time.E_T_d, delta, alpha, m, z_norm, r)(dlt, a_exp, width, zn, growth_rate)),
        "dT_d_dalpha": float(_f(descent_time.slope_alpha, m, r)(width, growth_rate)),
        "dT_d_dlog_m": float(_f(descent_time.slope_log_m, alpha, r)(a_exp, growth_rate)),
        "T_p": {"value": T_p, "alpha_1": a1, "q_max0": qmax0, "applicable": T_p_applicable,
                "expected": float(_f(initial_plateau.T_p_expected, m, alpha, alpha_1, z_norm)(width, a_exp, a1, zn))},
        "plateau_loss_bound": float(_f(initial_plateau.loss_bound_at_exit, C_0, m, alpha_1, M_fx1, M_x2)(
            act.C0.upper, width, a1, mo["E_abs_f_x"], mo["E_x2"])),
    })
    return out
