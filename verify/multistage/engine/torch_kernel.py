"""The PyTorch kernel: the same field as :class:`~verify.engine.kernels.NumpyKernel`, in torch.

float64 unless asked otherwise; runs on the CPU or a CUDA device.  The ODE
solver stays in SciPy, so each call converts ``theta`` to a tensor and the
field back to NumPy (a copy of ``m (d + 1)`` numbers, small next to the
``n x m`` work).
"""
from __future__ import annotations

import numpy as np
import sympy as sp
import torch

from theory.multistage.activation import S, Activation
from theory.bridge import numeric


def _torch_function(expr: sp.Expr):
    """``expr(s)`` on tensors, through the one lambdify bridge."""
    return numeric(expr, (S,), "torch")


class TorchKernel:
    name = "torch"
    variant = "torch"  # which implementation runs (NumpyKernel: "fused" or "numpy")

    def __init__(self, activation: Activation, X: np.ndarray, p: np.ndarray, y: np.ndarray, width: int,
                 device: str = "cpu", dtype=torch.float64):
        self.activation = activation
        self.device = device
        self.dtype = dtype
        kw = {"device": device, "dtype": dtype}
        self.X = torch.as_tensor(np.asarray(X, float), **kw)
        self.p = torch.as_tensor(np.asarray(p, float), **kw)
        self.y = torch.as_tensor(np.asarray(y, float), **kw)
        self.n, self.d = self.X.shape
        self.m = int(width)
        self.size = self.m * (self.d + 1)
        self._sigma = _torch_function(activation.expr)
        self._dsigma = _torch_function(activation.derivative(1))
        poly = activation.derivative_as_polynomial_of_sigma(1)
        self._poly = None if poly is None else [float(c) for c in poly]
        self.evaluations = 0

    def on_rows(self, idx: np.ndarray) -> "TorchKernel":
        """The same kernel on the rows ``idx`` with equal weights (a mini-batch)."""
        import copy

        sub = copy.copy(self)
        index = torch.as_tensor(np.asarray(idx), device=self.device)
        sub.X, sub.y = self.X[index], self.y[index]
        sub.n = len(idx)
        sub.p = torch.full((sub.n,), 1.0 / sub.n, device=self.device, dtype=self.dtype)
        return sub

    def _split(self, theta: np.ndarray):
        t = torch.as_tensor(np.asarray(theta, float), device=self.device, dtype=self.dtype)
        return t[: self.m], t[self.m:].reshape(self.m, self.d)

    def _sig(self, pre):
        out = self._sigma(pre)
        return out if torch.is_tensor(out) else torch.full_like(pre, float(out))

    def loss(self, theta: np.ndarray) -> float:
        a, W = self._split(theta)
        e = self._sig(self.X @ W.T) @ a - self.y
        return 0.5 * float(self.p @ (e * e))

    def loss_and_field(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self.evaluations += 1
        a, W = self._split(theta)
        pre = self.X @ W.T
        s0 = self._sig(pre)
        e = s0 @ a - self.y
        pe = self.p * e
        if self._poly is not None:
            s1 = sum(c * s0**j for j, c in enumerate(self._poly) if c)
        else:
            s1 = self._dsigma(pre)
            s1 = s1 if torch.is_tensor(s1) else torch.full_like(pre, float(s1))
        da = -(pe @ s0)
        dW = -a[:, None] * ((s1 * pe[:, None]).T @ self.X)
        out = torch.cat([da, dW.reshape(-1)])
        return 0.5 * float(pe @ e), out.cpu().numpy()

    def field(self, theta: np.ndarray) -> np.ndarray:
        return self.loss_and_field(theta)[1]

    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Hessian-vector product by double backward (autograd): an independent check of the NumPy one."""
        t = torch.as_tensor(np.asarray(theta, float), device=self.device, dtype=self.dtype).requires_grad_(True)
        vt = torch.as_tensor(np.asarray(v, float), device=self.device, dtype=self.dtype)
        a, W = t[: self.m], t[self.m:].reshape(self.m, self.d)
        e = self._sig(self.X @ W.T) @ a - self.y
        loss = 0.5 * (self.p @ (e * e))
        (g,) = torch.autograd.grad(loss, t, create_graph=True)
        (hv,) = torch.autograd.grad(g @ vt, t)
        return hv.detach().cpu().numpy()

