"""Numeric predictions of D1-D10 for one configuration.

Every number here comes from a derived SymPy expression through the one
lambdify bridge (:func:`theory.bridge.numeric`); nothing is restated by hand.
For non-whitened inputs t_half comes from the reduced flow of D8 and T_d
from D10's condensed flow for a general input covariance (both integrated
with :func:`scipy.integrate.solve_ivp`); for gradient descent t_half comes
from iterating D9's map with D10's fixed point, ``K_(n+1) = K_n (1 + eta|z|(1
- K_n/K_eq))^2``, and T_d from the map of D10's approach law; for the flow with
whitened inputs t_half from D9's logistic law and T_d from D10's approach law
``dK/dt = 2|z| K q(K)``.  ``T_d.error_estimate`` is D10's estimate of T_d's
next-order error and ``T_d.applicable`` says whether it is within
``T_D_RELATIVE``.

Regime flags: ``applicable`` is ``True`` or a string naming every assumption
that fails (``z = 0``; ``eta |z| >= 1`` under gradient descent, where the map's times are kept; ``K0``
not small, judged by the derived, signed error the neglected decaying modes cause in ``t_half``
(:data:`theory.multistage.descent_time.t_half_decaying_error`) against D9-t-half's tolerance;
``sup |sigma'''|`` infinite).  A prediction that would be NaN or
infinite is ``None``, and ``reasons[path]`` says why (``path``: the dotted
path of the ``None``, e.g. ``t_half`` or ``T_d.value``; the ``config`` echo
is the input as read, where ``None`` means "not given"); the output never
holds NaN or infinities.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.codegen.rewriting import log1p_opt, optimize
from scipy.integrate import quad, solve_ivp

from theory.multistage import critical_point, descent_time, initial_plateau, reduced_dynamics
from theory.bridge import numeric
from theory.multistage.symbols import C_0, K0, M_fx1, M_x2, alpha, alpha_1, delta, eta, m, q0, z_norm
from theory.multistage.symbols import E_f2 as E_f2_sym, z_Sinv_z as z_Sinv_z_sym

from ..output import finite_or_none
from .config import Config
from .field import constant_C1, risk
from .initialisation import decaying_mode, growing_mode, initial_parameters
from .linear_stage import first_passage, modes

__all__ = ["predict", "reduced_flow_times", "cubic_reduced_flow_times", "gd_map_times", "law_time", "T_D_RELATIVE"]

_SIGMA_IS_IDENTITY = 1e-10
#: relative error of T_d (delta = 0.01) that the D10-descent-time claim tolerates; a T_d whose estimated next-order
#: error (D10: twice the rho^2 part of the cubic model's law) exceeds it is flagged (``T_d.applicable``)
T_D_RELATIVE = 5e-3
#: the GD map is iterated at most this many steps (t_half needs about log(1/K0) / (2 log(1 + eta|z|)))
_MAX_MAP_STEPS = 10_000_000
#: predict iterates the map only when it needs fewer steps than this (about 1 s of Python)
_PREDICT_MAP_STEPS = 1_000_000
#: D9's GD rate with log(1 + eta|z|) printed as log1p (SymPy's rewriting): through log it would lose
#: eps / (eta|z|) of itself, 1e-7 at eta|z| = 1e-9
_RATE_GD = optimize(descent_time.rate_gd, [log1p_opt])


def _f(expr, *args):
    """The lambdified ``expr``, called on float64 scalars: a division by zero or an overflow gives ``inf`` or
    ``nan`` (replaced by ``None`` with a reason in the output) instead of raising."""
    fn = numeric(expr, args)

    def call(*values):
        with np.errstate(all="ignore"):
            try:
                return fn(*(np.float64(v) if isinstance(v, (int, float)) else v for v in values))
            except (ArithmeticError, ValueError):
                return np.nan
    return call


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


def cubic_reduced_flow_times(X: np.ndarray, p: np.ndarray, y: np.ndarray, beta0: np.ndarray, g3: float,
                             rho: float, levels: list[float], first_order: bool = False,
                             t_max: float = 1e6) -> list[float | None]:
    """Times at which D10's condensed flow for a general input covariance brings K to ``levels``:
    ``beta' = -v (P2 E[e s] + g3 P4 E[e s^3]/6) - (P2 E[e x] + g3 P4 E[e s^2 x]/2)``, ``e = beta.x + g3 P4 s^3/6
    - f*``, ``v = beta/|beta|``, ``s = v.x``, ``P2 = |beta|``, ``P4 = rho P2^2``, expectations over the data
    ``(X, p, y)`` (D8's reduced flow at ``g3 = 0``).  ``first_order``: without the product of the cubic parts of
    ``e`` and of the projection (the flow to first order in ``rho``)."""
    Sigma = (X * p[:, None]).T @ X
    z = X.T @ (p * y)
    zSz = float(z @ np.linalg.solve(Sigma, z))
    keep = 0.0 if first_order else 1.0

    def rhs(_t, b):
        P2 = np.linalg.norm(b)
        v = b / P2
        s = X @ v
        P4 = rho * P2**2
        e_lin = X @ b - y
        e_cub = g3 * P4 * s**3 / 6
        e = e_lin + e_cub
        e_proj = e_lin + keep * e_cub
        along = P2 * (p @ (e * s)) + g3 * P4 * (p @ (e_proj * s**3)) / 6
        vec = P2 * (X.T @ (p * e)) + g3 * P4 * (X.T @ (p * e_proj * s**2)) / 2
        return -v * along - vec

    events = []
    for level in levels:
        ev = (lambda lv: (lambda _t, b: b @ z / zSz - lv))(level)
        ev.terminal = False
        events.append(ev)
    last = max(levels)
    stop = (lambda _t, b: b @ z / zSz - last)
    stop.terminal = True
    sol = solve_ivp(rhs, (0.0, t_max), beta0, method="LSODA", rtol=1e-10, atol=1e-14 * np.linalg.norm(beta0),
                    events=events + [stop])
    return [float(te[0]) if len(te) else None for te in sol.t_events[:len(levels)]]


def gd_map_times(k0: float, lr: float, zn: float, levels: list[float], K_eq: float = 1.0,
                 max_steps: int = _MAX_MAP_STEPS, map_expr=None, brackets: list | None = None) -> list[float | None]:
    """Matched times ``n eta`` at which the GD map, iterated from ``k0``, first reaches each level.

    The map is D10's ``K_n (1 + eta|z|(1 - K_n/K_eq))^2`` (``K_eq = 1``: D9's map), or ``map_expr``
    (a SymPy expression in ``K_n``, ``eta``, ``|z|`` and ``K_eq``).

    The step count is interpolated linearly in ``K`` between the two iterates
    that bracket the level (the simulator's event rule); ``None`` where the
    level is not reached within ``max_steps``.  ``brackets``, if given, receives per level the two
    iterates ``(K_n, K_(n+1))`` that bracket it.
    """
    expr = critical_point.gd_map_shifted if map_expr is None else map_expr
    fn = numeric(expr, (descent_time.K_n, eta, z_norm, critical_point.K_eq_sym))
    step = lambda k, lr_, zn_: fn(k, lr_, zn_, K_eq)  # noqa: E731
    out: list[float | None] = [0.0 if k0 >= lv else None for lv in levels]
    k, n = float(k0), 0
    while any(o is None for o in out) and n < max_steps and np.isfinite(k):
        k_next = float(step(k, lr, zn))
        for i, lv in enumerate(levels):
            if out[i] is None and k < lv <= k_next:
                out[i] = (n + (lv - k) / (k_next - k)) * lr
                if brackets is not None:
                    brackets.append((lv, k, k_next))
        k, n = k_next, n + 1
    return out


#: the arguments of D10's approach laws q(K) (dK/dt = 2|z| K q(K))
_LAW_ARGS = (critical_point.Kv, critical_point.g3, critical_point.rho, critical_point.F3, critical_point.M4,
             critical_point.M6, z_norm)


def law_time(q_expr, k0: float, level: float, zn: float, params: tuple) -> float | None:
    """Time D10's law ``dK/dt = 2|z| K q(K)`` takes from ``k0`` to ``level``: ``int du / (2|z| q(e^u))`` over
    ``u`` in ``[log k0, log level]`` (smooth in ``u``); ``None`` when ``q`` is not positive on the way (the law's
    fixed point lies below ``level``).  ``params``: ``(g3, rho, E[f* s^3], E[s^4], E[s^6])``."""
    q = numeric(q_expr, _LAW_ARGS)
    lo, hi = np.log(k0), np.log(level)
    grid = np.exp(np.linspace(lo, hi, 257))
    if not np.all(np.asarray(q(grid, *params, zn)) > 0):
        return None
    value, _ = quad(lambda u: 1.0 / (2 * zn * float(q(np.exp(u), *params, zn))), lo, hi, epsabs=0.0,
                    epsrel=1e-11, limit=200)
    return float(value)


def _finite_or_none(value, path: str, reasons: dict):
    """``value`` with every non-finite float replaced by ``None`` and the replacement recorded in ``reasons``."""
    return finite_or_none(value, reasons, "the formula gives {value!r} here (outside its assumptions)", path)


def _T_d_error(T_d, T_d_first, rho: float, width: int, why: dict) -> dict:
    """T_d's estimated next-order error (D10: twice the rho^2 part the cubic model's law carries) and whether it
    is within T_D_RELATIVE (``applicable``: True or why not)."""
    if T_d is None or T_d_first is None:
        why["T_d.error_estimate"] = "no T_d from D10's approach law to estimate the error of"
        if T_d_first is None:
            why["T_d.first_order"] = "no T_d from the first-order approach law (see T_d.value)"
        return {"first_order": T_d_first, "error_estimate": None,
                "applicable": "no T_d predicted (see reasons['T_d.value'])"}
    err = 2 * abs(T_d - T_d_first)
    ok = err <= T_D_RELATIVE * T_d
    return {"first_order": T_d_first, "error_estimate": err,
            "applicable": True if ok else (
                f"T_d's estimated next-order error {err:.3g} ({err / T_d:.2%} of T_d; twice the rho^2 part of D10's "
                f"cubic-model law, m rho = {width * rho:.3g}) exceeds {T_D_RELATIVE:.2%} of T_d: the O(rho^2) terms "
                "matter at this width and delta")}


def predict(config: Config) -> dict:
    """The predictions for one configuration as a JSON-ready dict."""
    data = config.dataset
    mo = data.moments
    act = config.activation
    width, a_exp, a1 = config.model.width, float(config.model.alpha), config.alpha_1
    method, lr, dlt = config.train.method, float(config.train.lr), float(config.analysis.delta)
    a, W = initial_parameters(width, data.dim, a_exp, config.train.seed)
    initial_loss = risk(a, W, act, data.X, data.p, data.y)
    plateau_loss = float(_f(critical_point.R_star, sp.Symbol("E[f*^2]", positive=True),
                            sp.Symbol("z^T Sigma^-1 z", nonnegative=True))(mo["E_f2"], mo["z_Sinv_z"]))
    C1 = constant_C1(act.C_L.upper, act.C0.upper, mo)
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
        "reasons": {},
    }
    why = out["reasons"]
    if not np.isfinite(C1):
        infinite = [f"{name} = sup |{what}| is infinite for sigma = {act.expr} ({const.as_dict()['note']})"
                    for name, what, const in (("C_0", "sigma'", act.C0), ("C_L", "sigma" + "'" * 3, act.C_L))
                    if not np.isfinite(float(const.upper))]
        why["C_1"] = ("; ".join(infinite) + ": the constant C_1 = max(2 C_L E[|f*||x|^3]/3, C_0^2 E|x|^2) of D3 is "
                      "infinite, so the bounds of D3 and D5 (and D6's loss bound) say nothing here")
        why["plateau_loss_bound"] = why["C_1"]
    if data.kind != "sample" and data.quadrature_error is None:
        why["data.quadrature_error"] = ("not estimated: the rule with twice the nodes per dimension, to which it "
                                        "is compared, would be too large")
    if data.kind != "sample":
        why["seeds.data"] = why["data.seed"] = (f"{data.kind} data: the inputs are not drawn at random, so there "
                                                "is no data seed")
    else:
        why["data.quadrature_error"] = ("sampled data: the quadrature error is that of Gauss-Hermite nodes "
                                        "(quadrature = N); samples carry a Monte Carlo error instead")
    reasons, stop = [], []
    if not np.isfinite(float(act.C_L.upper)):
        reasons.append(f"sup |sigma'''| is infinite for sigma = {act.expr}: not tanh-like in the sense the "
                       "bounds of D2-D6 and the small-neuron expansions of D8-D10 use (they need C_L finite)")
    if data.z_is_zero:
        stop.append(f"z = 0 (|z| = {data.z_norm:.3g}): no growing linear mode, so no plateau exit, "
                    "descent or K dynamics are predicted (D4-D9 assume z != 0)")
    if method == "gd" and not data.z_is_zero and lr * data.z_norm >= 1:
        # the map's t_half and T_d are kept (D9's map is the dynamics of K at any step; at eta|z| = 1.1 it
        # matches the simulator to 0.03-0.1 %): what changes is the approach to K = 1 (no plateau follows)
        reasons.append(f"eta |z| = {lr * data.z_norm:.3g} >= 1 (gradient descent): K = 1 is no longer an "
                       "attracting fixed point of D9's GD map (slope 1 - 2 eta|z| <= -1), so after the descent K "
                       "oscillates about 1 instead of settling (reference runs: bounded oscillation for "
                       "1 < eta|z| <= 2, divergence from about eta|z| = 2.25). t_half and T_d are the map's first "
                       "passages, which stay valid, but no plateau at K = 1 follows. K_eq, kappa and the plateau "
                       "losses are the values at the map's fixed point, which the run oscillates about instead of "
                       "settling at"
                       + (". The GD linear map's decaying eigenvalue 1 - eta|z| has modulus >= 1 (D4): the v_k "
                          "modes grow too (by |1 - eta|z|| per step, against 1 + eta|z| for the growing modes), and "
                          "T_p is still the linear map's first passage" if lr * data.z_norm >= 2 else
                          ". The GD linear map's decaying eigenvalue 1 - eta|z| is <= 0 (D4): the v_k modes "
                          "alternate in sign while they decay, and T_p is still the linear map's first passage"))
    if stop:
        out["applicable"] = "; ".join(reasons + stop)
        for k in ("growth_rate", "K0", "K0_expected", "t_half", "T_d", "T_p", "K_eq", "kappa"):
            out[k] = None
            why[k] = "; ".join(stop)
        return _finite_or_none(out, "", why)

    zn = data.z_norm
    rate_expr = _RATE_GD if method == "gd" else descent_time.rate_flow
    growth_rate = float(_f(rate_expr, z_norm, eta)(zn, lr))
    Sigma, z = mo["Sigma"], mo["z"]
    white = np.max(np.abs(Sigma - np.eye(data.dim))) <= _SIGMA_IS_IDENTITY
    u = growing_mode(a, W, z)
    beta_par = float(np.sum(u**2) / 2)          # beta . zhat once the decaying modes have died out
    k0 = beta_par * zn / mo["z_Sinv_z"]         # K = beta . z / z^T Sigma^-1 z
    k0_expected = float(_f(reduced_dynamics.K0_expected, m, alpha, z_norm)(width, a_exp, zn))
    r = descent_time.r
    if k0 >= 0.5:
        reasons.append(f"K0 = {k0:.3g} >= 1/2: K starts at or past 1/2, so t_half is undefined and the logistic "
                       "law of D8/D9 (which assumes K0 << 1) does not describe the run")
        out["t_half_decaying_error"] = None
        why["t_half_decaying_error"] = f"K0 = {k0:.3g} >= 1/2: there is no t_half whose error to estimate"
    else:
        from .claims.descent_time import T_HALF    # the tolerance of D9-t-half, the claim that uses t_half

        v0 = float(np.sum(decaying_mode(a, W, z) ** 2) / 2 * zn / mo["z_Sinv_z"])
        err = float(_f(descent_time.t_half_decaying_error, K0, descent_time.V0, z_norm)(k0, v0, zn))
        out["t_half_decaying_error"] = err
        if not abs(err) <= T_HALF.value:
            reasons.append(
                f"K0 = {k0:.3g}, V0 = {v0:.3g}: the logistic law of D8/D9 neglects the decaying modes (K0 << 1 "
                f"assumed), and with them t_half comes out {abs(err):.2%} {'later' if err > 0 else 'earlier'} than "
                f"the reduced dynamics that keeps them ({err:+.2%} relative, descent_time.t_half_decaying_error"
                + (", the flow's estimate" if method == "gd" else "")
                + (", the whitened reduction's estimate" if not white else "")
                + f"), beyond D9-t-half's tolerance {T_HALF.value:.2%}")
    # D10: the O(1/m) shift of the plateau (whitened inputs), with the per-seed ratio rho
    rho = float(np.sum(u**4) / np.sum(u**2) ** 2)
    g3 = float(act.taylor_coefficients(3)[3])
    K_eq = kappa = plateau_shifted = None
    if white:
        shift_args = (critical_point.g3, critical_point.rho, critical_point.F3, critical_point.M4, z_norm)
        shift_vals = (g3, rho, mo["E_f_s3"], mo["E_s4"], zn)
        K_eq = float(_f(critical_point.K_eq, *shift_args)(*shift_vals))
        kappa = float(_f(critical_point.kappa, m, *shift_args)(width, *shift_vals))
        plateau_shifted = float(_f(critical_point.R_eq, E_f2_sym, z_Sinv_z_sym, *shift_args)(
            mo["E_f2"], mo["z_Sinv_z"], *shift_vals))
    else:
        # D10's K_eq for a general input covariance: moments along v = Sigma^-1 z / |Sigma^-1 z|
        bvec = np.linalg.solve(Sigma, z)
        s_v = data.X @ (bvec / np.linalg.norm(bvec))
        gen_args = (critical_point.g3, critical_point.rho, critical_point.F3_v, critical_point.M4_v,
                    critical_point.S2_v, critical_point.b_v)
        gen_vals = (g3, rho, float(data.p @ (data.y * s_v**3)), float(data.p @ s_v**4), float(data.p @ s_v**2),
                    float(np.linalg.norm(bvec)))
        K_eq = float(_f(critical_point.K_eq_general, *gen_args)(*gen_vals))
        kappa = width * (K_eq - 1)
        why["plateau_loss_shifted"] = ("D10's shifted plateau loss is derived for whitened inputs "
                                       "(E[(zhat.x)^2] = 1); set whiten = true")
    T_d_unshifted = T_d_capacity = T_d_first = None
    law_params = None
    if white:
        s_dir = data.X @ (z / zn)
        law_params = (g3, rho, mo["E_f_s3"], mo["E_s4"], float(data.p @ s_dir**6))
    if method == "gd":
        if white:
            # steps the map needs: about log(1/K0) / (eta r) to K = 1/2 and log(1/delta) / (eta r) more to
            # 1 - delta, with D9's GD rate r = 2 log(1 + eta|z|) / eta (growth_rate, derived; a rate that rounds
            # to 0 at a tiny eta|z| gives an infinite count, which the guard refuses)
            with np.errstate(all="ignore"):
                needed = (np.log(1 / max(k0, 1e-300)) + np.log(1 / dlt)) / np.float64(lr * growth_rate)
            if not needed <= _PREDICT_MAP_STEPS:
                t_half = T_d = T_d_unshifted = None
                why["t_half"] = why["T_d.value"] = why["T_d.without_shift"] = (
                    f"D9's GD map would need about {needed:.3g} steps (more than {_PREDICT_MAP_STEPS:.0e}) at "
                    f"lr = {lr:g}: this small a step is the gradient-flow limit; use method = flow")
            else:
                t_half, T_d_capacity = gd_map_times(k0, lr, zn, [0.5, 1 - dlt], K_eq)
                T_d_unshifted = gd_map_times(k0, lr, zn, [1 - dlt])[0]
                # T_d from D10's law: the map K_(n+1) = K_n (1 + eta|z| q(K_n))^2 of the cubic model, and the
                # same map with q to first order in rho (their gap is the next order's carried part)
                subs = dict(zip(_LAW_ARGS[1:-1], (sp.Float(v) for v in law_params)))
                T_d = gd_map_times(k0, lr, zn, [1 - dlt], map_expr=critical_point.gd_map_law.subs(subs))[0]
                T_d_first = gd_map_times(k0, lr, zn, [1 - dlt],
                                         map_expr=critical_point.gd_map_law_first.subs(subs))[0]
            times_from = ("t_half: D9's GD map with D10's fixed point, K_(n+1) = K_n (1 + eta|z|(1 - K_n/K_eq))^2; "
                          "T_d: the map of D10's approach law, K_(n+1) = K_n (1 + eta|z| q(K_n))^2; both iterated "
                          "from K0 (steps times eta, linear interpolation in K)")
        else:
            t_half = T_d = None
            times_from = "not predicted: gradient descent with non-whitened inputs"
            why["t_half"] = why["T_d.value"] = why["T_d.without_shift"] = (
                "D9's GD map is derived for whitened inputs; set whiten = true")
    elif white:
        # t_half stays D9's: the shift moves it by O(K_eq - 1) only (reference runs: within 0.24 %)
        t_half = float(_f(descent_time.t_half, K0, r)(k0, growth_rate))
        T_d_capacity = float(_f(critical_point.T_d_shifted, K0, delta, critical_point.K_eq_sym, z_norm)(
            k0, dlt, K_eq, zn))
        T_d_unshifted = float(_f(descent_time.T_d, K0, delta, r)(k0, dlt, growth_rate))
        T_d = law_time(critical_point.q_cubic, k0, 1 - dlt, zn, law_params) if k0 < 1 - dlt else None
        T_d_first = law_time(critical_point.q_first, k0, 1 - dlt, zn, law_params) if k0 < 1 - dlt else None
        times_from = ("t_half: D9's logistic law; T_d: D10's approach law dK/dt = 2|z| K q(K) of the cubic "
                      "condensed model, integrated from K0 (capacity_law: the logistic law with D10's carrying "
                      "capacity K_eq; without_shift: D9's)")
    else:
        t_half, T_d_unshifted = reduced_flow_times(Sigma, z, beta_par * z / zn, [0.5, 1 - dlt])
        # T_d: D10's condensed flow for a general Sigma (the cubic term of sigma), and to first order in rho
        beta0 = beta_par * z / zn
        T_d = cubic_reduced_flow_times(data.X, data.p, data.y, beta0, g3, rho, [1 - dlt])[0]
        T_d_first = cubic_reduced_flow_times(data.X, data.p, data.y, beta0, g3, rho, [1 - dlt], first_order=True)[0]
        times_from = ("t_half: reduced flow of D8 for general Sigma, integrated numerically; T_d: D10's condensed "
                      "flow for general Sigma (with the cubic term of sigma), integrated numerically "
                      "(without_shift: D8's reduced flow)")
    if k0 >= 0.5:
        why["t_half"] = f"K0 = {k0:.3g} >= 1/2: K starts at or past 1/2, t_half is undefined"
        t_half = None
    if t_half is None and "t_half" not in why:
        why["t_half"] = "K does not reach 1/2 in the predicted dynamics"
    if T_d is None and "T_d.value" not in why:
        why["T_d.value"] = "K does not reach 1 - delta in the predicted dynamics"
    if T_d_unshifted is None and "T_d.without_shift" not in why:
        why["T_d.without_shift"] = "K does not reach 1 - delta without the shift"
    if T_d_capacity is None and "T_d.capacity_law" not in why:
        why["T_d.capacity_law"] = (
            "the capacity law (D9's logistic law with D10's carrying capacity K_eq) is the whitened closed form; for "
            "a general input covariance T_d comes from D10's condensed flow (T_d.value)" if not white else
            why.get("T_d.value", "K does not reach 1 - delta under the capacity law"))
    qmax0 = float(np.max(np.sqrt(a**2 + np.sum(W**2, axis=1))))
    level = float(width) ** (-a1)
    T_p_grow = float(_f(initial_plateau.T_p_growth_only, m, alpha_1, q0, z_norm)(width, a1, qmax0, zn))
    T_p_applicable, T_p = True, None
    if qmax0 >= level:
        T_p_applicable = (f"q_max(0) = {qmax0:.3g} is already above m^-alpha_1 = {level:.3g}: there is no "
                          "initial plateau to predict at this width (D6 needs q_max(0) < m^-alpha_1)")
    else:
        u_m, v_m, p_m = modes(a, W, z)
        T_p = first_passage(level, u_m, v_m, p_m, zn, method, lr if method == "gd" else None)
        if T_p is None:
            T_p_applicable = (f"the {'GD map' if method == 'gd' else 'linear flow'}'s closed form does not reach "
                              f"m^-alpha_1 = {level:.3g} in double precision"
                              + (f" at lr |z| = {lr * zn:.3g} (1 + lr |z| rounds to 1): use method = flow"
                                 if method == "gd" else f" (|z| = {zn:.3g})"))
    if T_p is None:
        why["T_p.value"] = T_p_applicable
    if T_p_grow <= 0:
        why["T_p.growth_only"] = T_p_applicable if T_p_applicable is not True else "q_max(0) >= m^-alpha_1"
        T_p_grow = None
    out.update({
        "growth_rate": growth_rate,
        "growth_rate_definition": "2 log(1 + eta |z|) / eta" if method == "gd" else "2 |z|",
        "K0": k0,
        "K0_expected": k0_expected,
        "t_half": t_half,
        "T_d": {"value": T_d, "delta": dlt, "without_shift": T_d_unshifted, "capacity_law": T_d_capacity,
                **_T_d_error(T_d, T_d_first, rho, width, why)},
        "times_from": times_from,
        "K_eq": K_eq,
        "kappa": kappa,
        "m_rho": width * rho,
        "plateau_loss_shifted": plateau_shifted,
        "E_T_d": float(_f(descent_time.E_T_d, delta, alpha, m, z_norm, r)(dlt, a_exp, width, zn, growth_rate)),
        "dT_d_dalpha": float(_f(descent_time.slope_alpha, m, r)(width, growth_rate)),
        "dT_d_dlog_m": float(_f(descent_time.slope_log_m, alpha, r)(a_exp, growth_rate)),
        "T_p": {"value": T_p, "alpha_1": a1, "q_max0": qmax0, "applicable": T_p_applicable,
                "from": ("first passage of max_k |q_k(t)| through m^-alpha_1 under the exact linear "
                         + ("flow exp(tA) q(0)" if method == "flow" else "GD map (I + eta A)^n q(0)")
                         + " (D4, D6; brentq on the lambdified closed form)"),
                "growth_only": T_p_grow,
                "expected": float(_f(initial_plateau.T_p_expected, m, alpha, alpha_1, z_norm)(width, a_exp, a1, zn))},
        "plateau_loss_bound": float(_f(initial_plateau.loss_bound_at_exit, C_0, m, alpha_1, M_fx1, M_x2)(
            act.C0.upper, width, a1, mo["E_abs_f_x"], mo["E_x2"])),
    })
    if reasons:
        out["applicable"] = "; ".join(reasons)
    return _finite_or_none(out, "", why)
