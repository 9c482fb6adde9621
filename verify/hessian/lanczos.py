"""Extreme Hessian eigenpairs by implicitly restarted Lanczos (SciPy's ``eigsh``, ARPACK).

The start vector is seeded (``numpy.random.default_rng(SeedSequence(seed))``)
or given, e.g. the previous top eigenvector during training: a warm start
near the answer needs fewer products. ARPACK's failure to converge is not an
error: the best estimate comes back with ``converged=False`` and its
residual.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, eigsh

from theory.errors import InputError

from .eigenpair import Eigenpair
from .operator import HvpModel, as_operator, hessian_operator

__all__ = ["WHICH", "DEFAULT_NCV", "lanczos", "top_eigenpair", "bottom_eigenpair", "top_hessian_eigenvalue", "default_tol"]

WHICH = ("LA", "SA")

#: Lanczos vectors kept between restarts. ARPACK's default (20 for one eigenpair) fills all of them
#: before its first convergence test, so a warm start near the answer saves nothing; with 8 a cold start
#: costs the same on the small nets measured (22 products at tol 1e-10) and a warm start after a small move
#: about 18. Pass ``ncv`` for clustered spectra that need a larger Krylov space.
DEFAULT_NCV = 8

#: ARPACK's relative tolerance by the dtype in which the products are computed: about 1e6 units of
#: round-off in float64 and about 100 in float32 (float32 products cannot certify better).
_TOL = {"float64": 1e-10, "float32": 1e-5}


def default_tol(hessian) -> float:
    """ARPACK tolerance for ``hessian``: 1e-5 when its products run in float32, else 1e-10."""
    return _TOL["float32"] if str(getattr(hessian, "dtype", "float64")).endswith("float32") else _TOL["float64"]


def lanczos(hessian, which: str = "LA", *, seed: int = 0, v0: np.ndarray | None = None, tol: float | None = None,
            maxiter: int | None = None, ncv: int | None = DEFAULT_NCV) -> Eigenpair:
    """The top (``which='LA'``) or bottom (``'SA'``) eigenpair of a Hessian by ``eigsh``.

    ``hessian`` is a :class:`~verify.hessian.HessianAt` (e.g. a
    :class:`~verify.hessian.TorchHessian`) or a square ``LinearOperator``.
    ``v0`` (a warm start) takes precedence over ``seed``. ``tol`` defaults to
    :func:`default_tol`. One extra product measures the residual.
    """
    if which not in WHICH:
        raise InputError("which", which, "unknown end of the spectrum", "use 'LA' (top) or 'SA' (bottom)")
    op = as_operator(hessian)
    n = op.shape[0]
    start = np.random.default_rng(np.random.SeedSequence(seed)).standard_normal(n) if v0 is None else np.array(v0, float)
    if start.shape != (n,) or not np.linalg.norm(start) > 0:
        raise InputError("v0", start.shape, f"must be a non-zero vector of length {n}", "pass a previous eigenvector")
    tol = default_tol(hessian) if tol is None else tol
    ncv = None if ncv is None else min(ncv, n)
    try:
        values, vectors = eigsh(op, k=1, which=which, v0=start, tol=tol, maxiter=maxiter, ncv=ncv)
        converged = True
    except ArpackNoConvergence as err:
        values, vectors, converged = err.eigenvalues, err.eigenvectors, False
    if len(values):
        value, vector = float(values[0]), np.asarray(vectors[:, 0], float)
    else:                                 # nothing converged: the Rayleigh quotient of the start vector
        vector = start / np.linalg.norm(start)
        value = float(vector @ op.matvec(vector))
    vector = vector / np.linalg.norm(vector)
    residual = float(np.linalg.norm(op.matvec(vector) - value * vector))
    return Eigenpair(value, vector, residual, converged, op.products, f"lanczos({which})")


def top_eigenpair(hessian, **options) -> Eigenpair:
    """The largest eigenvalue and its eigenvector (:func:`lanczos` with ``which='LA'``)."""
    return lanczos(hessian, "LA", **options)


def bottom_eigenpair(hessian, **options) -> Eigenpair:
    """The smallest (most negative) eigenvalue and its eigenvector (:func:`lanczos` with ``which='SA'``)."""
    return lanczos(hessian, "SA", **options)


def top_hessian_eigenvalue(model: HvpModel, theta: np.ndarray, seed: int = 0, tol: float = 1e-10) -> float:
    """Largest Hessian eigenvalue of ``model`` at ``theta`` by Lanczos, from a start vector seeded by ``seed``."""
    return top_eigenpair(hessian_operator(model, theta), seed=seed, tol=tol).value
