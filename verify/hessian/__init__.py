"""Hessian toolkit shared by every paper: exact Hessian-vector products, Lanczos, power iteration, dense oracles.

Sources of Hessians: a :class:`TorchHessian` (any PyTorch loss of a flat
parameter vector, e.g. :meth:`verify.engines.deepnet.DeepNet.flat_loss`) or a
model with ``size`` and ``hvp(theta, v)`` (the two-layer kernels of
:mod:`verify.multistage.engine`) through :func:`hessian_operator`. Solvers:
:func:`top_eigenpair` / :func:`bottom_eigenpair` (Lanczos), :func:`power_iteration`,
:func:`dense_from_operator` / :func:`torch_dense_hessian` (constant-folded products, see
:func:`folded_hvp`) / :func:`dense_hessian`
with :func:`full_spectrum`; :func:`decide_top` (whether the top eigenvalue lies above or below a level, from
a few Lanczos steps, :mod:`verify.hessian.certify`). Every iterative solver returns an :class:`Eigenpair`
with its residual, convergence flag and number of products.
"""
from .autodiff import DEFAULT_ROUTE, ROUTES, TorchHessian
from .certify import DEFAULT_OVERLAP, TopDecision, decide_top, upper_bound
from .dense import (DEFAULT_DENSE_ROUTE, DENSE_CHUNK, DENSE_LIMIT, DENSE_ROUTES, Spectrum, dense_from_operator,
                    dense_hessian, folded_hvp, full_spectrum, torch_dense_hessian)
from .eigenpair import Eigenpair
from .lanczos import bottom_eigenpair, default_tol, lanczos, top_eigenpair, top_hessian_eigenvalue
from .operator import CountingOperator, HessianAt, HvpModel, as_operator, hessian_operator
from .power import power_iteration

__all__ = ["HvpModel", "HessianAt", "CountingOperator", "hessian_operator", "as_operator", "TorchHessian", "ROUTES",
           "DEFAULT_ROUTE", "Eigenpair", "lanczos", "top_eigenpair", "bottom_eigenpair", "top_hessian_eigenvalue",
           "default_tol", "power_iteration", "DENSE_LIMIT", "DENSE_ROUTES", "DEFAULT_DENSE_ROUTE", "DENSE_CHUNK",
           "dense_hessian", "dense_from_operator", "folded_hvp", "torch_dense_hessian", "Spectrum", "full_spectrum",
           "TopDecision", "decide_top", "upper_bound", "DEFAULT_OVERLAP"]
