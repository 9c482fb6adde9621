"""Dense Hessians and full spectra for small models: the oracle the iterative solvers are tested against.

A dense Hessian of ``n`` parameters needs ``n^2`` numbers; above a size
limit the functions refuse with an :class:`~theory.errors.InputError` that
says how much memory it would take.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.linalg
import torch

from theory.errors import InputError

from .operator import HvpModel, as_operator

__all__ = ["DENSE_LIMIT", "dense_hessian", "dense_from_operator", "torch_dense_hessian", "Spectrum",
           "full_spectrum"]

#: The largest number of parameters for a dense Hessian by default: 8000^2 float64 numbers are 512 MB.
DENSE_LIMIT = 8000


def _check_size(n: int, max_params: int, itemsize: int = 8) -> None:
    if n > max_params:
        raise InputError("parameters", n, f"a dense {n} x {n} Hessian needs {n * n * itemsize / 2**20:,.0f} MiB "
                         f"(limit {max_params} parameters)",
                         "use lanczos/power_iteration on Hessian-vector products, or raise max_params")


def dense_hessian(model: HvpModel, theta: np.ndarray, max_params: int = DENSE_LIMIT) -> np.ndarray:
    """The full Hessian of ``model`` at ``theta`` from ``size`` exact products, symmetrised."""
    _check_size(model.size, max_params)
    eye = np.eye(model.size)
    H = np.column_stack([model.hvp(theta, eye[:, j]) for j in range(model.size)])
    return (H + H.T) / 2


def dense_from_operator(hessian, max_params: int = DENSE_LIMIT) -> np.ndarray:
    """The full Hessian from ``n`` products of a :class:`HessianAt` or ``LinearOperator``, symmetrised."""
    op = as_operator(hessian)
    n = op.shape[0]
    _check_size(n, max_params)
    H = op.matmat(np.eye(n))
    return (H + H.T) / 2


def torch_dense_hessian(loss_fn: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor,
                        max_params: int = DENSE_LIMIT, chunk_size: int | None = 256) -> np.ndarray:
    """The full Hessian of ``loss_fn`` at the flat ``theta`` by ``torch.func`` (``jacrev`` of ``grad``), float64.

    Computed in the dtype of ``theta``; ``chunk_size`` rows at a time bound
    the memory of the vectorised backward passes. Symmetrised.
    """
    _check_size(int(theta.numel()), max_params, itemsize=max(8, theta.element_size()))
    H = torch.func.jacrev(torch.func.grad(loss_fn), chunk_size=chunk_size)(theta.detach())
    H = H.to(device="cpu", dtype=torch.float64).numpy()
    return (H + H.T) / 2


@dataclass(frozen=True)
class Spectrum:
    """All eigenvalues (ascending) and orthonormal eigenvectors (columns) of a symmetric matrix."""

    values: np.ndarray
    vectors: np.ndarray

    def count_below(self, threshold: float) -> int:
        """The number of eigenvalues below ``threshold``."""
        return int(np.sum(self.values < threshold))


def full_spectrum(H: np.ndarray, vectors: bool = True) -> Spectrum:
    """``eigh`` of the symmetrised ``H`` (SciPy, LAPACK ``syevr``)."""
    H = np.asarray(H, dtype=float)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise InputError("H", H.shape, "is not a square matrix", "pass a dense Hessian")
    S = (H + H.T) / 2
    if vectors:
        values, vecs = scipy.linalg.eigh(S)
        return Spectrum(values, vecs)
    return Spectrum(scipy.linalg.eigh(S, eigvals_only=True), np.empty((H.shape[0], 0)))
