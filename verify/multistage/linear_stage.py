"""The exact linear stage in numbers: ``exp(tA)`` and the GD map of D4, and the first passage of D6.

The expressions are derived in :mod:`theory.multistage.linearized_flow` (D4:
the closed form of ``exp(tA)``, the GD effective rate) and
:mod:`theory.multistage.initial_plateau` (D6: ``|q_k(t)|^2`` in mode
coordinates, the passage shift); they reach NumPy through the lambdify bridge
(:func:`theory.bridge.numeric`).  What is computed here from arrays: each
neuron's mode coordinates, ``q_max`` under the linear flow, its first passage
through a level (``brentq``), and the first-order shift of that passage by
D3's remainder (trapezoidal quadrature).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.optimize import brentq
from sympy.codegen.rewriting import log1p_opt, optimize

from theory.bridge import numeric
from theory.multistage import initial_plateau, linearized_flow
from theory.multistage.initial_plateau import p_k, passage_shift, q_sq_flow, q_sq_gd, u_k, v_k
from theory.multistage.symbols import C_1, Q, eta, m, t, z_norm

__all__ = ["expm_closed_form", "gd_rate", "modes", "q_max_linear", "first_passage", "remainder_shift"]


@lru_cache(maxsize=16)
def _expm_function(dim: int):
    zs, X = linearized_flow.closed_form(dim)
    return numeric(X, (t, *zs))


def expm_closed_form(tval: float, z: np.ndarray) -> np.ndarray:
    """Numeric ``exp(tA)`` from the closed form of D4 (through the lambdify bridge)."""
    return np.asarray(_expm_function(len(z))(tval, *z), dtype=float)


@lru_cache(maxsize=1)
def _gd_rate():
    # log(1 + eta|z|) evaluated as log1p(eta|z|) (SymPy's rewriting): the same value, without the cancellation at
    # small eta|z|
    return numeric(optimize(linearized_flow.gd_effective_rate, [log1p_opt]), (eta, z_norm))


def gd_rate(eta_value: float, z_norm_value: float) -> float:
    """Effective growth rate ``log(1 + eta |z|) / eta`` of gradient descent (D4's, through the bridge)."""
    return float(_gd_rate()(eta_value, z_norm_value))


def modes(a: np.ndarray, W: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each neuron's ``(u_k, v_k, p_k)``: coordinates on the growing and decaying eigenvectors of ``A`` and the
    norm of the part of ``w_k`` orthogonal to ``z``."""
    zhat = z / np.linalg.norm(z)
    par = W @ zhat
    perp = np.sqrt(np.maximum(np.sum(W**2, axis=1) - par**2, 0.0))
    return (a + par) / np.sqrt(2.0), (a - par) / np.sqrt(2.0), perp


@lru_cache(maxsize=4)
def _q_sq(method: str):
    if method == "flow":
        return numeric(q_sq_flow, (t, u_k, v_k, p_k, z_norm))
    if method == "gd":
        return numeric(q_sq_gd, (t, u_k, v_k, p_k, z_norm, eta))
    raise ValueError(f"method {method!r} unknown; choose 'flow' or 'gd'")


def q_max_linear(tval, u, v, p, zn: float, method: str = "flow", lr: float | None = None):
    """``max_k |q_k(t)|`` under the exact linear flow (``method = "flow"``) or the GD linear map (``"gd"``, step
    ``lr``), from the lambdified closed form: a float for a scalar ``tval``, an array for an array of times."""
    times = np.asarray(tval, dtype=float)
    args = (times[..., None], u, v, p, zn) + ((lr,) if method == "gd" else ())
    out = np.sqrt(np.max(_q_sq(method)(*args), axis=-1))
    return float(out) if out.ndim == 0 else out


def first_passage(level: float, u, v, p, zn: float, method: str = "flow", lr: float | None = None,
                  xtol: float = 1e-13) -> float | None:
    """``T_p``: the first time ``max_k |q_k(t)|`` under the linear flow (or GD map) reaches ``level``; None when
    it starts at or above ``level``, or when the closed form does not reach ``level`` in double precision (a GD
    step so small that ``1 + lr |z|`` rounds to 1).

    The maximum of convex functions of ``t`` is convex, so it crosses ``level`` once: ``brentq`` on
    ``max_k |q_k(t)|^2 - level^2`` between 0 and a time where the growing part alone is past ``level``.  Under
    gradient descent that root (at a fractional step) only locates the two iterates that bracket the level;
    ``T_p`` is then read off linearly in ``log q_max`` between them, as the simulator reads a first crossing
    from its recorded steps (within a step the map is not defined; the two rules differ by up to a step when
    ``T_p`` is less than a few steps).
    """
    g = lambda tv: q_max_linear(tv, u, v, p, zn, method, lr) ** 2 - level**2  # noqa: E731
    if g(0.0) >= 0:
        return None
    rate = zn if method == "flow" else gd_rate(lr, zn)
    hi = float(np.log(level / np.max(np.abs(u))) / rate)   # u_max e^{rate hi} = level, so g(hi) >= 0
    widen = 1e-9
    while g(hi) < 0:        # round-off at the bracket's end; past doubling, the closed form does not grow
        if widen > 1:
            return None
        hi *= 1 + widen
        widen *= 4
    root = float(brentq(g, 0.0, hi, xtol=xtol, rtol=4 * np.finfo(float).eps))
    if method == "flow":
        return root
    # gradient descent moves in steps: the passage lies between the iterates n - 1 and n that bracket the level,
    # read off linearly in log q_max between them (the simulator's first-crossing rule on every step)
    n_hi = max(int(np.ceil(root / lr - 1e-9)), 1)
    q_lo, q_hi = (q_max_linear(k * lr, u, v, p, zn, method, lr) for k in (n_hi - 1, n_hi))
    return float(lr * (n_hi - 1 + np.log(level / q_lo) / np.log(q_hi / q_lo)))


def remainder_shift(C1: float, width: int, T: float, u, v, p, zn: float, method: str = "flow",
                    lr: float | None = None, points: int = 801) -> float:
    """First-order bound on ``|T_p(simulated) - T_p(linear flow)|`` from D3's remainder.

    Variation of constants: ``q_k(T) - exp(TA) q_k(0) = int_0^T exp((T - s)A) N_k(s) ds`` and
    ``|exp(tau A)| = e^{|z| tau}``, ``|N_k| <= C_1 (m q_max^2 + q_max^2) |q_k| <= C_1 (m + 1) q_max^3`` (D3), so
    ``max_k |q_k(T)|`` and the linear flow's maximum differ by at most
    ``C_1 (m + 1) I_3``, ``I_3 = int_0^T e^{|z|(T - s)} q_max(s)^3 ds``.  Relative to ``Q = q_max(T)`` and divided by
    the linear flow's ``S_T = d log q_max / dt`` at ``T``, that is the shift of the passage time
    (:data:`theory.multistage.initial_plateau.passage_shift`), to first order in the remainder; ``q_max(s)`` is
    evaluated on the linear flow.  For gradient descent (``method = "gd"``) the sum over steps is taken as the
    integral with the map's growth ``|(I + eta A)^k| = (1 + eta|z|)^k`` (rate ``log(1 + eta|z|)/eta``) and the
    map's ``q_max`` and slope at fractional steps.
    """
    extra = (lr,) if method == "gd" else ()
    rate = zn if method == "flow" else gd_rate(lr, zn)
    s = np.linspace(0.0, T, points)
    q = q_max_linear(s, u, v, p, zn, method, lr)
    I3 = float(np.trapezoid(np.exp(rate * (T - s)) * q**3, s))
    k = int(np.argmax(_q_sq(method)(T, u, v, p, zn, *extra)))
    slope = initial_plateau.dlog_q_flow if method == "flow" else initial_plateau.dlog_q_gd
    S_T = float(numeric(slope, (t, u_k, v_k, p_k, z_norm) + ((eta,) if method == "gd" else ()))(
        T, u[k], v[k], p[k], zn, *extra))
    return float(numeric(passage_shift, (C_1, m, initial_plateau.I_3, Q, initial_plateau.S_T))(
        C1, width, I3, q[-1], S_T))
