"""Exact Hessian-vector products of a PyTorch loss of one flat parameter vector.

Three exact autodiff routes give ``H v`` for a scalar ``loss(theta)``:

``double_backward`` (the default)
    one backward pass with ``create_graph=True`` builds the gradient and its
    graph once, at construction; each product is then one backward pass
    through that graph, ``torch.autograd.grad(g, theta, grad_outputs=v,
    retain_graph=True)`` (reverse-over-reverse, graph reused).
``reverse_over_reverse``
    the same in :mod:`torch.func`: ``vjp(grad(loss), theta)`` once, then its
    pull-back per product.
``forward_over_reverse``
    ``torch.func.jvp(grad(loss), (theta,), (v,))``: a forward-mode pass through
    a fresh gradient computation for every product.

Measured with ``benchmarks/bench_hessian.py`` (ReLU net, depth 4, width 256,
64 inputs, 10 classes, 150,016 parameters, batch 512, float32, MSE, one
thread, AMD EPYC with 2 cores shared with other jobs, torch 2.13.0+cpu;
timings interleaved, medians of 60, two runs): one gradient 7.6-7.8 ms; one
product by ``double_backward`` 14.3-14.5 ms (1.8-1.9x the gradient), by
``reverse_over_reverse`` 14.4-14.9 ms (1.8-2.0x, after a one-off set-up of
1.5-1.7 s), by ``forward_over_reverse`` 28-30 ms (3.6-3.9x). In float64:
1.7x / 1.8x / 2.1x. ``double_backward`` is the fastest (tied with its
torch.func twin, which costs a second to set up) and the default; the others
stay available so that tests can compare routes.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from theory.errors import InputError

__all__ = ["ROUTES", "DEFAULT_ROUTE", "TorchHessian"]

ROUTES = ("double_backward", "reverse_over_reverse", "forward_over_reverse")
DEFAULT_ROUTE = "double_backward"


class TorchHessian:
    """The Hessian of ``loss_fn`` at ``theta`` (a 1-D tensor), applied by exact autodiff.

    Satisfies :class:`verify.hessian.HessianAt`: ``matvec`` takes and returns
    float64 NumPy vectors (converted to and from the dtype and device of
    ``theta``); ``hvp`` works on tensors. ``loss`` and ``gradient`` are those at
    ``theta``; ``products`` counts the products made through this object.
    """

    def __init__(self, loss_fn: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor,
                 route: str = DEFAULT_ROUTE):
        if route not in ROUTES:
            raise InputError("route", route, "unknown Hessian-vector product route", f"use one of {', '.join(ROUTES)}")
        if theta.dim() != 1:
            raise InputError("theta", tuple(theta.shape), "must be a flat parameter vector",
                             "flatten the parameters first (DeepNet.flatten)")
        self.route, self.loss_fn = route, loss_fn
        self.theta = theta.detach()
        self.size, self.dtype, self.device = int(theta.numel()), theta.dtype, theta.device
        self.products = 0
        if route == "double_backward":
            t = self.theta.clone().requires_grad_(True)
            value = loss_fn(t)
            (g,) = torch.autograd.grad(value, t, create_graph=True)
            self._t, self._g = t, g
            self.loss, self.gradient = float(value.detach()), g.detach()
        elif route == "reverse_over_reverse":
            g, self._pullback = torch.func.vjp(torch.func.grad(loss_fn), self.theta)
            self.loss, self.gradient = float(loss_fn(self.theta)), g.detach()
        else:
            self._grad = torch.func.grad(loss_fn)
            self.gradient = self._grad(self.theta).detach()
            self.loss = float(loss_fn(self.theta))

    def hvp(self, v: torch.Tensor) -> torch.Tensor:
        """``H v`` for a tensor ``v`` of the dtype and device of ``theta``."""
        self.products += 1
        if self.route == "double_backward":
            if not self._g.requires_grad:        # the loss is affine in theta: H = 0
                return torch.zeros_like(self.theta)
            (hv,) = torch.autograd.grad(self._g, self._t, grad_outputs=v, retain_graph=True, allow_unused=True)
            return torch.zeros_like(self.theta) if hv is None else hv.detach()
        if self.route == "reverse_over_reverse":
            return self._pullback(v)[0].detach()
        return torch.func.jvp(self._grad, (self.theta,), (v,))[1].detach()

    def matvec(self, v: np.ndarray) -> np.ndarray:
        """``H v`` for a float64 NumPy vector, returned as float64 NumPy."""
        t = torch.as_tensor(np.asarray(v, dtype=float).ravel(), dtype=self.dtype, device=self.device)
        return self.hvp(t).to(device="cpu", dtype=torch.float64).numpy()
