"""Power iteration for the Hessian eigenvalue of largest modulus, with a fixed number of steps.

This is the protocol of the early-training literature (e.g. Kalra and
Barkeshli 2023, 20 steps from a fixed start vector): it is cheap and
reproducible but carries no convergence guarantee in a fixed number of
steps, so the result reports its residual and compares with Lanczos.
Power iteration converges to the eigenvalue of largest *modulus*, which is
the top eigenvalue only when that dominates the most negative one.

Further eigenpairs come by deflation, as in PyHessian (Yao et al. 2020):
the eigenvectors already found are projected out of the start vector and of
every product, so that the iteration runs on ``(I - U U^T) H (I - U U^T)``;
with ``change_tol`` it stops once the Rayleigh quotient changes by less than
that fraction between two steps (PyHessian's criterion, default 1e-3 there).

References
----------
Yao, Z., Gholami, A., Keutzer, K. and Mahoney, M. W. (2020). PyHessian:
Neural networks through the lens of the Hessian. IEEE BigData 2020,
arXiv:1912.07145.
"""
from __future__ import annotations

import numpy as np

from theory.errors import InputError

from .eigenpair import Eigenpair
from .operator import as_operator

__all__ = ["power_iteration"]


def power_iteration(hessian, steps: int = 20, *, seed: int = 0, v0: np.ndarray | None = None,
                    rtol: float = 1e-3, deflate=None, change_tol: float | None = None) -> Eigenpair:
    """``steps`` products of power iteration from ``v0`` (or a Gaussian vector seeded by ``seed``).

    Each step computes ``w = H v``, the Rayleigh quotient ``v . w`` and the
    residual ``|w - (v . w) v|``, then ``v <- w / |w|``. The result is the
    last Rayleigh quotient with the vector it was computed on, so exactly
    ``steps`` products are spent unless ``change_tol`` stops the iteration
    earlier (when ``|value - previous| <= change_tol |value|``).
    ``converged`` means ``residual <= rtol |value|``.

    ``deflate``: eigenvectors already found (a sequence of vectors or an
    ``n x k`` array of columns, orthonormalised here) to project out of ``v``
    and of each ``w``; the result is then the eigenpair of largest modulus
    in their orthogonal complement.
    """
    if int(steps) != steps or steps < 1:
        raise InputError("steps", steps, "must be a positive integer", "pass e.g. steps=20")
    if change_tol is not None and not change_tol > 0:
        raise InputError("change_tol", change_tol, "must be > 0 or None", "pass e.g. change_tol=1e-3")
    op = as_operator(hessian)
    n = op.shape[0]
    U = _deflation_basis(deflate, n)
    v = np.random.default_rng(np.random.SeedSequence(seed)).standard_normal(n) if v0 is None else np.array(v0, float)
    if v.shape != (n,):
        raise InputError("v0", v.shape, f"must be a non-zero vector of length {n}", "pass a previous eigenvector")
    before = np.linalg.norm(v)
    v = v - U @ (U.T @ v)
    if not np.linalg.norm(v) > 1e-12 * before:
        raise InputError("v0", v.shape, f"must be a non-zero vector of length {n} outside the deflated vectors",
                         "pass a previous eigenvector or another seed")
    v = v / np.linalg.norm(v)
    value = residual = np.nan
    for step in range(steps):
        w = op.matvec(v)
        w = w - U @ (U.T @ w)
        previous, value = value, float(v @ w)
        residual = float(np.linalg.norm(w - value * v))
        norm = np.linalg.norm(w)
        if step == steps - 1 or norm == 0:
            break
        if change_tol is not None and abs(value - previous) <= change_tol * abs(value):
            break
        v = w / norm
    label = f"power({steps})" if U.shape[1] == 0 else f"power({steps}, deflated {U.shape[1]})"
    return Eigenpair(value, v, residual, bool(residual <= rtol * abs(value)), op.products, label)


def _deflation_basis(deflate, n: int) -> np.ndarray:
    """An orthonormal ``n x k`` basis of the vectors to deflate (``k = 0`` for none)."""
    if deflate is None:
        return np.empty((n, 0))
    vectors = np.asarray(deflate, dtype=float)
    if vectors.ndim == 1:
        vectors = vectors[:, None]
    elif vectors.ndim == 2 and vectors.shape[0] != n and vectors.shape[1] == n:
        vectors = vectors.T                 # a list of vectors comes in as rows
    if vectors.ndim != 2 or vectors.shape[0] != n or vectors.shape[1] >= n:
        raise InputError("deflate", vectors.shape, f"must be fewer than {n} vectors of length {n}",
                         "pass the eigenvectors found so far (a list of vectors or their n x k array)")
    if vectors.shape[1] == 0:
        return np.empty((n, 0))
    Q, R = np.linalg.qr(vectors)
    if np.abs(np.diag(R)).min() <= 1e-12 * np.abs(np.diag(R)).max():
        raise InputError("deflate", vectors.shape, "the vectors are linearly dependent",
                         "pass independent eigenvectors")
    return Q
