"""Dense Hessians and full spectra for small models: the oracle the iterative solvers are tested against.

A dense Hessian of ``n`` parameters needs ``n^2`` numbers; above a size
limit the functions refuse with an :class:`~theory.errors.InputError` that
says how much memory it would take.

:func:`torch_dense_hessian` has two exact routes (:data:`DENSE_ROUTES`):

``jacrev`` (the default)
    ``torch.func.jacrev(torch.func.grad(loss), chunk_size=...)``: reverse
    over reverse, vmapped over ``chunk_size`` rows; each product recomputes
    the activations' derivatives.
``folded`` (opt in)
    the forward-over-reverse product ``v -> jvp(grad(loss), theta, v)`` is
    traced once at ``theta`` into an FX graph of ATen operations
    (``make_fx``, with the fused derivative kernels of activations and
    losses such as ``gelu_backward`` decomposed into elementary operations,
    :data:`_UNFUSED`), and every operation that does not depend on ``v``
    (the forward pass, the activations' first and second derivatives, the
    softmax) is evaluated once and stored
    (``torch.fx.experimental.const_fold``). What is left per product is the
    part linear in ``v``. About 1.5 times faster per column on the Q3
    network, but it rests on PyTorch's tracing internals (``torch._decomp``,
    ``torch.fx.experimental``), which may change between releases and which
    crashed the interpreter on some losses with the full decomposition table:
    hence not the default.

Measured with ``benchmarks/bench_dense_hessian.py --dense`` (GELU MLP 64-32-32-10,
3392 parameters, cross-entropy on all 1797 digits, float64, one thread): see
``benchmarks/README.md``. The chunk size bounds memory (``chunk_size`` times
the activations of the data) and decides whether the batched products stay in
cache (16 columns per batch were about twice as fast per column as 256).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.linalg
import torch

from theory.errors import InputError

from .operator import HvpModel, as_operator

__all__ = ["DENSE_LIMIT", "DENSE_ROUTES", "DEFAULT_DENSE_ROUTE", "DENSE_CHUNK", "dense_hessian",
           "dense_from_operator", "folded_hvp", "torch_dense_hessian", "Spectrum", "full_spectrum"]

#: The largest number of parameters for a dense Hessian by default: 8000^2 float64 numbers are 512 MB.
DENSE_LIMIT = 8000

DENSE_ROUTES = ("folded", "jacrev")
DEFAULT_DENSE_ROUTE = "jacrev"

#: Unit vectors per vmapped batch of :func:`torch_dense_hessian`. On the Q3 network (1797 samples, width 32)
#: 8-16 columns per batch were the fastest (the batched activations stay in the caches); at 256 the
#: ``jacrev`` route took about twice as long per column as at 64.
DENSE_CHUNK = 16

#: Fused kernels that recompute the derivative of an activation or a loss from its input in one call; decomposed
#: while tracing so that the part that depends only on ``theta`` can be folded. Only these: PyTorch's full core
#: decomposition table also rewrites ``dot`` and crashed the interpreter (torch 2.13) on a loss affine in theta.
_UNFUSED = ("gelu_backward", "tanh_backward", "sigmoid_backward", "threshold_backward", "silu_backward",
            "elu_backward", "softplus_backward", "_softmax_backward_data", "_log_softmax_backward_data",
            "nll_loss_backward", "mse_loss_backward")


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


def folded_hvp(loss_fn: Callable[[torch.Tensor], torch.Tensor],
               theta: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """``v -> H v`` at the flat ``theta``, with everything that does not depend on ``v`` computed once.

    Forward over reverse (``torch.func.jvp`` of ``torch.func.grad``) traced by
    ``make_fx`` into ATen operations, then constant-folded: the returned
    graph module holds the forward pass and the derivatives of the activations
    as stored tensors and applies only the part linear in ``v``. Exact (the
    same operations as the unfolded product, in another order); vmappable.
    Tracing runs the loss once on ``theta``, so data-dependent branches take
    their value at ``theta``.
    """
    from torch._decomp import get_decompositions
    from torch.fx.experimental.const_fold import split_const_subgraphs
    from torch.fx.experimental.proxy_tensor import make_fx

    theta = theta.detach()
    grad = torch.func.grad(loss_fn)
    table = get_decompositions([getattr(torch.ops.aten, name) for name in _UNFUSED if hasattr(torch.ops.aten, name)])
    traced = make_fx(lambda v: torch.func.jvp(grad, (theta,), (v,))[1],
                     decomposition_table=table)(torch.zeros_like(theta))
    with warnings.catch_warnings():     # const_fold builds its constant graph before attaching the attributes
        warnings.filterwarnings("ignore", message="Attempted to insert a get_attr Node", category=UserWarning)
        folded = split_const_subgraphs(traced)
        folded.run_folding()
    return folded


def torch_dense_hessian(loss_fn: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor,
                        max_params: int = DENSE_LIMIT, chunk_size: int | None = DENSE_CHUNK,
                        route: str = DEFAULT_DENSE_ROUTE) -> np.ndarray:
    """The full Hessian of ``loss_fn`` at the flat ``theta`` by ``torch.func``, float64, symmetrised.

    Computed in the dtype of ``theta``, ``chunk_size`` columns at a time
    (``None``: all at once) by the ``route`` of :data:`DENSE_ROUTES`:
    ``"jacrev"`` (``jacrev`` of ``grad``, the default) or ``"folded"``
    (:func:`folded_hvp` vmapped over unit vectors; faster, built on PyTorch's
    tracing internals).
    """
    if route not in DENSE_ROUTES:
        raise InputError("route", route, "unknown dense Hessian route", f"use one of {', '.join(DENSE_ROUTES)}")
    if chunk_size is not None and (int(chunk_size) != chunk_size or chunk_size < 1):
        raise InputError("chunk_size", chunk_size, "must be a positive integer or None", "pass e.g. chunk_size=16")
    n = int(theta.numel())
    _check_size(n, max_params, itemsize=max(8, theta.element_size()))
    theta = theta.detach()
    if route == "jacrev":
        H = torch.func.jacrev(torch.func.grad(loss_fn), chunk_size=chunk_size)(theta)
        H = H.to(device="cpu", dtype=torch.float64).numpy()
    else:
        product = torch.func.vmap(folded_hvp(loss_fn, theta))
        step = n if chunk_size is None else int(chunk_size)
        H = np.empty((n, n))
        for start in range(0, n, step):
            stop = min(start + step, n)
            units = torch.zeros((stop - start, n), dtype=theta.dtype, device=theta.device)
            units[torch.arange(stop - start), torch.arange(start, stop)] = 1
            H[start:stop] = product(units).detach().to(device="cpu", dtype=torch.float64).numpy()
    return (H + H.T) / 2


@dataclass(frozen=True)
class Spectrum:
    """All eigenvalues (ascending) and orthonormal eigenvectors (columns) of a symmetric matrix."""

    values: np.ndarray
    vectors: np.ndarray

    def count_below(self, threshold: float) -> int:
        """The number of eigenvalues below ``threshold``."""
        return int(np.sum(self.values < threshold))


#: the dense symmetric eigensolvers of :func:`full_spectrum`
SOLVERS = ("scipy", "numpy")


def full_spectrum(H: np.ndarray, vectors: bool = True, solver: str = "scipy") -> Spectrum:
    """``eigh`` of the symmetrised ``H``: SciPy's (LAPACK ``syevr``, the default), or with ``solver="numpy"``
    NumPy's (LAPACK ``syevd`` in NumPy's own OpenBLAS; both backward stable, eigenvalues agreeing to 1.5e-15
    |lambda_max| on Q3's 1,482-parameter Hessian, where NumPy's took 0.63 s against SciPy's 1.04-1.21 s, one
    thread, loaded machine)."""
    H = np.asarray(H, dtype=float)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise InputError("H", H.shape, "is not a square matrix", "pass a dense Hessian")
    if solver not in SOLVERS:
        raise InputError("solver", solver, "unknown eigensolver", f"use one of {', '.join(SOLVERS)}")
    S = (H + H.T) / 2
    if solver == "numpy":
        if vectors:
            values, vecs = np.linalg.eigh(S)
            return Spectrum(values, vecs)
        return Spectrum(np.linalg.eigvalsh(S), np.empty((H.shape[0], 0)))
    if vectors:
        values, vecs = scipy.linalg.eigh(S)
        return Spectrum(values, vecs)
    return Spectrum(scipy.linalg.eigh(S, eigvals_only=True), np.empty((H.shape[0], 0)))
