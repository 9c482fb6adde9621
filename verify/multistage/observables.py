"""The quantities the multistage theory speaks of, measured along a two-layer trajectory.

All are computed from the recorded parameters; the predictions they are
compared with come from ``theory/`` through the lambdify bridge.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .data import DataSet
from .engine.events import k_of_theta
from .field import remainder_bound
from .linear_stage import expm_closed_form
from .wasserstein import w2_relative
from ..engines.trajectory import Trajectory

__all__ = ["observables", "linear_map", "missing_meanings"]


def linear_map(t: float, z: np.ndarray, method: str, lr: float) -> np.ndarray:
    """``exp(tA)`` (flow) or ``(I + eta A)^n`` with ``n = t/eta`` (gradient descent)."""
    if method == "flow":
        return expm_closed_form(t, z)
    d = len(z)
    A = np.zeros((d + 1, d + 1))
    A[0, 1:] = z
    A[1:, 0] = z
    return np.linalg.matrix_power(np.eye(d + 1) + lr * A, int(round(t / lr)))


def missing_meanings(*, C1: float, remainder: bool = True, remainder_points: int = 101) -> dict:
    """What NaN means in each series of :func:`observables` that can hold it (for the trajectory files)."""
    if not remainder:
        rest = "not evaluated in this run (remainder = False)"
    elif not np.isfinite(C1):
        rest = "not defined: D3's bound is infinite for this activation (C_1 = inf)"
    else:
        rest = (f"evaluated at {remainder_points} evenly spaced recordings only (one field evaluation each): NaN "
                "at the recordings between them, and where D3's bound is not finite")
    return {
        "K": "not defined: z^T Sigma^-1 z = 0 (z = 0), so K = beta.z / z^T Sigma^-1 z has no denominator",
        "linear_deviation": "not defined: Q_lin = exp(tA) q(0) (the GD map's power under gradient descent) "
                            "overflows there, far past the linear stage",
        "remainder_ratio": rest,
        "norm_ratio": "not defined: |W|_F = 0",
        "alignment_mean": "not defined: every q_k = 0",
    }


def observables(traj: Trajectory, kernel, data: DataSet, *, C1: float, method: str = "flow",
                lr: float = 0.0, remainder: bool = True, remainder_points: int = 101,
                per_neuron: bool = True) -> dict:
    """Scalar and per-neuron series on the recording times of ``traj``.

    Returns
    -------
    dict with arrays over time: ``loss``, ``K``, ``q_max``, ``norm_a``, ``norm_W``,
    ``norm_ratio`` (``|a| / |W|_F``), ``W2``, ``W2rel``, ``alignment_mean``
    (the mean of ``|cos|`` between ``w_k`` and ``z`` weighted by ``|q_k|^2``, so
    that the neurons that carry the function count, not the decaying ones), ``linear_deviation``
    (``|Q - Q_lin| / |Q_lin|`` against the linearized flow from ``q(0)``; NaN once
    ``Q_lin`` overflows, far past the linear stage),
    ``remainder_ratio`` (largest ``|N_k| / bound_k`` of D3, NaN where the
    bound is not finite, when ``remainder`` is false, and between the at most
    ``remainder_points`` evenly spaced recordings where it is evaluated: it costs one field
    evaluation per recording), and per neuron (``time x m``): ``alignment`` and
    ``amplitude`` ``|q_k|`` (left out when ``per_neuron`` is false: the scalar series that
    summarise them are computed all the same).
    """
    m, d = traj.width, traj.dim
    z = data.z
    A = np.zeros((d + 1, d + 1))
    A[0, 1:] = z
    A[1:, 0] = z
    T = len(traj.t)
    out = {k: np.empty(T) for k in ("K", "q_max", "norm_a", "norm_W", "norm_ratio", "W2", "W2rel",
                                    "alignment_mean", "linear_deviation", "remainder_ratio")}
    if per_neuron:
        out["alignment"] = np.empty((T, m))
        out["amplitude"] = np.empty((T, m))
    remainder_at = set(np.unique(np.linspace(0, T - 1, min(T, remainder_points)).round().astype(int)).tolist())
    a0, W0 = traj.split(traj.theta[0])
    Q0 = np.column_stack([a0, W0])
    # the remainder's field evaluations run in a second thread on a copy of the kernel (same numbers) while
    # this loop computes the rest
    twin = kernel.concurrent_copy() if remainder and hasattr(kernel, "concurrent_copy") else None
    side = ThreadPoolExecutor(1, thread_name_prefix="remainder-fields") if twin is not None else None
    fields = {i: side.submit(twin.field, traj.theta[i]) for i in sorted(remainder_at)} if side else {}
    try:
        _record(out, traj, kernel, fields, data, A, Q0, method=method, lr=lr, C1=C1, remainder=remainder,
                remainder_at=remainder_at)
    finally:
        if side is not None:
            side.shutdown(wait=True, cancel_futures=True)
    out["loss"] = traj.loss
    return out


def _record(out: dict, traj: Trajectory, kernel, fields: dict, data: DataSet, A: np.ndarray, Q0: np.ndarray, *,
            method: str, lr: float, C1: float, remainder: bool, remainder_at: set) -> None:
    """Fill ``out`` recording by recording (``fields``: the remainder's fields computed in advance, by index)."""
    m, d = traj.width, traj.dim
    z = data.z
    zn = np.linalg.norm(z)
    zhat = z / zn if zn > 0 else np.zeros_like(z)
    zSz = data.moments["z_Sinv_z"]
    for i, (t, th) in enumerate(zip(traj.t, traj.theta)):
        a, W = traj.split(th)
        Q = np.column_stack([a, W])                       # rows q_k = (a_k, w_k)
        norms = np.linalg.norm(Q, axis=1)
        wn = np.linalg.norm(W, axis=1)
        out["K"][i] = k_of_theta(th, m, z, zSz) if zSz > 0 else np.nan
        out["q_max"][i] = norms.max()
        out["norm_a"][i] = np.linalg.norm(a)
        out["norm_W"][i] = np.linalg.norm(W)
        out["norm_ratio"][i] = out["norm_a"][i] / out["norm_W"][i]
        diff = np.sort(np.abs(a)) - np.sort(wn)
        out["W2"][i] = np.sqrt(np.mean(diff**2))
        out["W2rel"][i] = w2_relative(a, W)
        cos = np.divide(W @ zhat, wn, out=np.zeros(m), where=wn > 0)
        if "alignment" in out:
            out["alignment"][i] = cos
            out["amplitude"][i] = norms
        out["alignment_mean"][i] = float(norms**2 @ np.abs(cos)) / float(norms @ norms)
        with np.errstate(over="ignore", invalid="ignore"):
            Qlin = Q0 @ linear_map(float(t), z, method, lr).T
            lin = np.linalg.norm(Qlin)
            # NaN once exp(tA) q(0) overflows (long runs far past the linear stage): undefined there
            out["linear_deviation"][i] = np.linalg.norm(Q - Qlin) / lin if np.isfinite(lin) else np.nan
        if not remainder or i not in remainder_at:
            out["remainder_ratio"][i] = np.nan
            continue
        field = fields[i].result() if i in fields else kernel.field(th)
        da, dW = field[:m], field[m:].reshape(m, d)
        N = np.column_stack([da, dW]) - Q @ A.T
        bound = remainder_bound(C1, m, Q)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.linalg.norm(N, axis=1) / bound
        out["remainder_ratio"][i] = np.nanmax(ratio) if np.isfinite(C1) else np.nan
