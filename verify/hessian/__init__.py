"""Hessian toolkit shared by every paper: Hessian-vector products as a SciPy operator, Lanczos, a dense oracle.

Works with any model object that exposes ``size`` (the number of parameters)
and ``hvp(theta, v)`` (an exact Hessian-vector product at ``theta``), such as
the two-layer kernels of :mod:`verify.engines.twolayer`.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

__all__ = ["HvpModel", "hessian_operator", "top_hessian_eigenvalue", "dense_hessian"]


class HvpModel(Protocol):
    size: int

    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray: ...


def hessian_operator(model: HvpModel, theta: np.ndarray) -> LinearOperator:
    """The Hessian at ``theta`` as a :class:`scipy.sparse.linalg.LinearOperator` of exact products."""
    n = model.size
    return LinearOperator((n, n), matvec=lambda v: model.hvp(theta, np.ravel(v)), dtype=float)


def top_hessian_eigenvalue(model: HvpModel, theta: np.ndarray, seed: int = 0, tol: float = 1e-10) -> float:
    """Largest Hessian eigenvalue by Lanczos (``eigsh``, ``which='LA'``) on exact Hessian-vector products.

    The start vector comes from ``numpy.random.default_rng(seed)``, so the
    result is reproducible.
    """
    v0 = np.random.default_rng(np.random.SeedSequence(seed)).standard_normal(model.size)
    vals = eigsh(hessian_operator(model, theta), k=1, which="LA", v0=v0, tol=tol, return_eigenvectors=False)
    return float(vals[0])


def dense_hessian(model: HvpModel, theta: np.ndarray) -> np.ndarray:
    """The full Hessian from ``size`` Hessian-vector products (small models only), symmetrised."""
    eye = np.eye(model.size)
    H = np.column_stack([model.hvp(theta, eye[:, j]) for j in range(model.size)])
    return (H + H.T) / 2
