"""Hessians as SciPy linear operators that count their products.

Two kinds of Hessian source are accepted by every solver of the toolkit:

- a :class:`HessianAt` (a Hessian at a fixed point: ``size`` and ``matvec``
  on float64 NumPy vectors), such as :class:`verify.hessian.TorchHessian`;
- a model with ``size`` and ``hvp(theta, v)`` (:class:`HvpModel`, e.g. the
  two-layer kernels of :mod:`verify.multistage.engine`), paired with ``theta``
  through :func:`hessian_operator`.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from scipy.sparse.linalg import LinearOperator

from theory.errors import InputError

__all__ = ["HvpModel", "HessianAt", "CountingOperator", "hessian_operator", "as_operator"]


class HvpModel(Protocol):
    """A model that gives exact Hessian-vector products at any ``theta``."""

    size: int

    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class HessianAt(Protocol):
    """A Hessian at a fixed point: ``matvec`` maps a float64 vector of length ``size`` to ``H v``."""

    size: int

    def matvec(self, v: np.ndarray) -> np.ndarray: ...


class CountingOperator(LinearOperator):
    """A float64 :class:`~scipy.sparse.linalg.LinearOperator` of ``matvec`` that counts its products."""

    def __init__(self, size: int, matvec):
        super().__init__(dtype=np.dtype(float), shape=(size, size))
        self._product = matvec
        self.products = 0

    def _matvec(self, v):
        self.products += 1
        return np.asarray(self._product(np.ascontiguousarray(np.ravel(v), dtype=float)), dtype=float).ravel()

    def _matmat(self, V):
        return np.column_stack([self._matvec(V[:, j]) for j in range(V.shape[1])])

    def _adjoint(self):
        return self      # a Hessian is symmetric


def hessian_operator(model: HvpModel, theta: np.ndarray) -> CountingOperator:
    """The Hessian of ``model`` at ``theta`` as a counting linear operator of exact products."""
    theta = np.asarray(theta, dtype=float)
    return CountingOperator(model.size, lambda v: model.hvp(theta, v))


def as_operator(hessian) -> CountingOperator:
    """A fresh counting operator (products = 0) from a :class:`HessianAt` or any square ``LinearOperator``."""
    if isinstance(hessian, LinearOperator):
        n, m = hessian.shape
        if n != m:
            raise InputError("hessian", hessian.shape, "is not square", "pass a Hessian operator")
        return CountingOperator(n, hessian.matvec)
    if isinstance(hessian, HessianAt):
        return CountingOperator(hessian.size, hessian.matvec)
    raise InputError("hessian", type(hessian).__name__, "is neither a LinearOperator nor has size and matvec",
                     "pass a TorchHessian, hessian_operator(model, theta) or a scipy LinearOperator")
