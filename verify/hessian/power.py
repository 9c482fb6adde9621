"""Power iteration for the Hessian eigenvalue of largest modulus, with a fixed number of steps.

This is the protocol of the early-training literature (e.g. Kalra and
Barkeshli 2023, 20 steps from a fixed start vector): it is cheap and
reproducible but carries no convergence guarantee in a fixed number of
steps, so the result reports its residual and compares with Lanczos.
Power iteration converges to the eigenvalue of largest *modulus*, which is
the top eigenvalue only when that dominates the most negative one.
"""
from __future__ import annotations

import numpy as np

from theory.errors import InputError

from .eigenpair import Eigenpair
from .operator import as_operator

__all__ = ["power_iteration"]


def power_iteration(hessian, steps: int = 20, *, seed: int = 0, v0: np.ndarray | None = None,
                    rtol: float = 1e-3) -> Eigenpair:
    """``steps`` products of power iteration from ``v0`` (or a Gaussian vector seeded by ``seed``).

    Each step computes ``w = H v``, the Rayleigh quotient ``v . w`` and the
    residual ``|w - (v . w) v|``, then ``v <- w / |w|``. The result is the
    last Rayleigh quotient with the vector it was computed on, so exactly
    ``steps`` products are spent. ``converged`` means ``residual <= rtol |value|``.
    """
    if int(steps) != steps or steps < 1:
        raise InputError("steps", steps, "must be a positive integer", "pass e.g. steps=20")
    op = as_operator(hessian)
    n = op.shape[0]
    v = np.random.default_rng(np.random.SeedSequence(seed)).standard_normal(n) if v0 is None else np.array(v0, float)
    if v.shape != (n,) or not np.linalg.norm(v) > 0:
        raise InputError("v0", v.shape, f"must be a non-zero vector of length {n}", "pass a previous eigenvector")
    v = v / np.linalg.norm(v)
    value = residual = np.nan
    for step in range(steps):
        w = op.matvec(v)
        value = float(v @ w)
        residual = float(np.linalg.norm(w - value * v))
        norm = np.linalg.norm(w)
        if step == steps - 1 or norm == 0:
            break
        v = w / norm
    return Eigenpair(value, v, residual, bool(residual <= rtol * abs(value)), op.products, f"power({steps})")
