"""Loss, gradient-flow field and Hessian-vector products of the two-layer network.

The parameters are packed as ``theta = [a (m), W (m x d, row-major)]``.  The
field is ``-grad R`` of D1 for the risk ``R = 1/2 sum_i p_i e_i^2``,
``e_i = sum_k a_k sigma(w_k . x_i) - y_i``.

The NumPy kernel is the hot path of every simulation.  For ``sigma(s) =
g(c s)`` with ``g`` one of tanh, sin and erf and ``c`` a real constant (the
built-in ``tanh``, ``sin`` and ``erf(sqrt(pi) s / 2)``) it calls the compiled
kernel :mod:`verify.multistage.engine._fused` when the install built it (x86-64
Linux with glibc; see setup.py): one pass over the rows that never writes the
``n x m`` array, with tanh computed inline and sin, cos, erf and exp from
glibc's vector math library.  For tanh it costs about 0.7 (d = 3) to 0.9
(d = 8) times ``numpy.tanh`` over that array (benchmarks/README.md, issue 25).
With ``dtype="float32"`` (``simulate --dtype float32``) its loops run in float, twice the vector width: one
field evaluation 2.2-3.0 times faster, the flow's t_half and T_d within about 1e-6 of float64 (the same
README, "Issue 25, targets 2 and 7"); the parameters, the loss and the field stay float64 outside it.
Otherwise (another activation, no compiler,
``VERIFY_NO_FUSED=1`` or ``fused=False``) two choices keep the NumPy path at
about two ``tanh`` passes:

* when ``sigma'`` is a polynomial in ``sigma`` (tanh: ``1 - sigma^2``; see
  :meth:`theory.multistage.activation.Activation.derivative_as_polynomial_of_sigma`) the
  backward pass reuses ``sigma(s)`` instead of evaluating a second
  transcendental function;
* the ``n x m`` work is done in row blocks small enough to stay in cache:
  each block's forward pass, residual and backward pass run while its rows
  of ``sigma(s)`` are still in cache, with preallocated buffers and in-place
  ufuncs; blocks can be shared among threads.
"""
from __future__ import annotations

import os

import numpy as np
import sympy as sp

from theory.multistage.activation import S, Activation
from theory.bridge import numeric

try:
    from verify.multistage.engine import _fused
except ImportError:  # not built: no compiler, another platform, or VERIFY_NO_EXTENSION at install
    _fused = None

__all__ = ["NumpyKernel", "fused_form", "fused_status", "pack", "unpack", "DTYPES", "FLOAT32_RTOL_MIN",
           "check_precision"]

#: the precisions the field can be computed in (``--dtype``); the integrator's state, the loss and the field it
#: returns stay float64 either way
DTYPES = ("float64", "float32")

#: the smallest relative tolerance the flow accepts with a float32 field: the field's own round-off is about
#: 2e-7 to 6e-7 of its size (300 x 800 to 2000 x 4000, benchmarks/README.md), so a step error controlled below
#: 1e-6 would be controlled against noise
FLOAT32_RTOL_MIN = 1e-6


def check_precision(dtype: str, rtol: float | None = None) -> None:
    """Refuse an unknown ``dtype``, and a flow tolerance ``rtol`` below :data:`FLOAT32_RTOL_MIN` in float32
    (:class:`InputError` naming the parameter, ``dtype`` or ``rtol``; the command line shows its option)."""
    from theory.errors import InputError

    if dtype not in DTYPES:
        raise InputError("dtype", dtype, "unknown precision", f"use one of {', '.join(DTYPES)}")
    if dtype == "float32" and rtol is not None and rtol < FLOAT32_RTOL_MIN:
        raise InputError("rtol", rtol, f"is below {FLOAT32_RTOL_MIN:g}, which float32 cannot resolve (its field "
                         "carries round-off of a few 1e-7)", f"use rtol={FLOAT32_RTOL_MIN:g} or larger, or the "
                         "float64 field")


_FUSED_VERSION = 5  # the calling convention this module expects of verify.multistage.engine._fused

#: The functions ``g`` of ``sigma(s) = g(c s)`` with a compiled kernel, by their code in ``_fused``.
_FUSED_CODES = {sp.tanh: 0, sp.sin: 1, sp.erf: 2}

_UFUNCS = {sp.tanh: np.tanh, sp.sin: np.sin, sp.cos: np.cos, sp.atan: np.arctan, sp.sinh: np.sinh}
_BLOCK_BYTES = 1 << 20  # 1 MiB of float64 per block: stays in L2/L3, few Python calls per evaluation


def pack(a: np.ndarray, W: np.ndarray) -> np.ndarray:
    return np.concatenate([a, W.ravel()])


def unpack(theta: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    return theta[:width], theta[width:].reshape(width, -1)


def fused_form(activation: Activation) -> tuple[str, float] | None:
    """``(g, c)`` when ``activation`` is ``g(c s)`` with ``g`` in tanh, sin, erf and ``c`` a nonzero real
    constant (the forms the compiled kernel has), else None."""
    expr = activation.expr
    if not (expr.is_Function and expr.func in _FUSED_CODES and len(expr.args) == 1):
        return None
    c = sp.simplify(expr.args[0] / S)
    if c.free_symbols or not c.is_real or c.is_zero is not False:
        return None
    scale = float(c)
    if not np.isfinite(scale) or scale == 0.0:
        return None
    return expr.func.__name__, scale


def fused_status(activation: Activation | None = None, dim: int | None = None) -> tuple[bool, str]:
    """Whether the compiled kernel can be used (for ``activation`` and input dimension ``dim``, when given),
    and why not."""
    if _fused is None:
        return False, "verify.multistage.engine._fused is not built (reinstall with a C compiler: pip install -e .)"
    if getattr(_fused, "VERSION", None) != _FUSED_VERSION:
        return False, ("verify.multistage.engine._fused is a stale build (version "
                       f"{getattr(_fused, 'VERSION', None)}, expected {_FUSED_VERSION}); rebuild: pip install -e .")
    if os.environ.get("VERIFY_NO_FUSED"):
        return False, "VERIFY_NO_FUSED is set"
    form = None if activation is None else fused_form(activation)
    if activation is not None and form is None:
        return False, (f"the compiled kernel is for tanh(c*s), sin(c*s) and erf(c*s) with a real constant c, "
                       f"not {activation.expr}")
    if dim is not None and not 1 <= dim <= _fused.MAX_D:
        return False, f"the compiled kernel takes input dimensions 1..{_fused.MAX_D}, not {dim}"
    if form is None:
        return True, "compiled fused kernel (tanh, sin, erf)"
    return True, f"compiled fused {form[0]} kernel" + ("" if form[1] == 1.0 else f" (scale {form[1]:.17g})")


def _ufunc_for(expr: sp.Expr):
    """A NumPy ufunc computing ``expr(s)`` in place, or None."""
    if expr.is_Function and expr.args == (S,) and expr.func in _UFUNCS:
        return _UFUNCS[expr.func]
    return None


class NumpyKernel:
    """CPU kernel in NumPy (float64 by default, float32 on request).

    Parameters
    ----------
    activation : Activation
    X, p, y : arrays
        Inputs ``(n, d)``, weights ``(n,)`` summing to one, targets ``(n,)``.
    width : int
        Number of neurons ``m``.
    threads : int
        Rows are shared among this many threads (the compiled kernel, ufuncs
        and BLAS release the GIL).  Default: 1.
    fused : bool or None
        Use the compiled kernel: None (default) when :func:`fused_status`
        allows, True to require it (ValueError if it cannot be used), False
        for the NumPy path.  ``variant`` says which one runs.
    dtype : "float64" or "float32"
        The precision of the field's arithmetic (the compiled kernel's float loops, or the NumPy path's
        arrays in float32).  The parameters come in and the loss and the field go out in float64, and the
        loss is summed over the points in float64 by the compiled kernel; ``hvp`` is float64 always.
    """

    name = "numpy"
    device = "cpu"

    def __init__(self, activation: Activation, X: np.ndarray, p: np.ndarray, y: np.ndarray, width: int,
                 threads: int = 1, fused: bool | None = None, dtype: str = "float64"):
        if str(dtype) not in DTYPES:
            raise ValueError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
        self.dtype = str(dtype)
        self._real = np.dtype(self.dtype)
        self.activation = activation
        self.X = np.ascontiguousarray(X, dtype=float)
        self.p = np.ascontiguousarray(p, dtype=float)
        self.y = np.ascontiguousarray(y, dtype=float)
        self.n, self.d = self.X.shape
        self.m = int(width)
        self.size = self.m * (self.d + 1)
        self._ufunc = _ufunc_for(activation.expr)
        self._sigma = numeric(activation.expr, (S,))
        self._dsigma = numeric(activation.derivative(1), (S,))
        self._d2sigma = numeric(activation.derivative(2), (S,))
        poly = activation.derivative_as_polynomial_of_sigma(1)
        self._poly = None if poly is None else [float(c) for c in poly]
        self._square_only = self._poly is not None and len(self._poly) == 3 and self._poly[1] == 0
        self.threads = max(1, int(threads))
        self._pool = None
        self._serial = False
        self.evaluations = 0
        usable, why = fused_status(activation, self.d)
        if fused and not usable:
            raise ValueError(f"fused kernel requested but unavailable: {why}")
        self.variant = "fused" if (usable and fused is not False) else "numpy"
        if self.variant == "fused":
            g, scale = fused_form(activation)
            self._fused_args = (_FUSED_CODES[getattr(sp, g)], scale, 0 if self.dtype == "float64" else 1)
        self._allocate(max(8, min(self.n, _BLOCK_BYTES // (8 * self.m))))

    def _allocate(self, block_rows: int) -> None:
        """Work arrays of the variant that runs: for the compiled kernel one row range per thread, each
        with its own output and work array; for the NumPy path row blocks of ``block_rows`` with buffers."""
        self._block_rows = block_rows
        if self.variant == "fused":
            count = max(1, min(self.threads, self.n // _fused.ROW_BLOCK))
            edges = np.linspace(0, self.n, count + 1).round().astype(int)
            work = _fused.work_items(self.m, self.d)
            self._chunks = [(int(lo), int(hi), np.empty(self.size), np.empty(work))
                            for lo, hi in zip(edges[:-1], edges[1:])]
            return
        self._blocks = [slice(i, min(i + block_rows, self.n)) for i in range(0, self.n, block_rows)]
        self._Xb = [np.ascontiguousarray(self.X[b], dtype=self._real) for b in self._blocks]
        self._yb = [self.y[b].astype(self._real) for b in self._blocks]
        self._pb = [self.p[b].astype(self._real) for b in self._blocks]
        self._buffers = [np.empty((b.stop - b.start, self.m), dtype=self._real) for b in self._blocks]
        self._pre = None if self._poly is not None else [np.empty_like(B) for B in self._buffers]

    def on_rows(self, idx: np.ndarray) -> "NumpyKernel":
        """The same kernel on the rows ``idx`` with equal weights (a mini-batch); shares compiled functions."""
        import copy

        sub = copy.copy(self)
        sub.X = np.ascontiguousarray(self.X[idx])
        sub.y = np.ascontiguousarray(self.y[idx])
        sub.p = np.full(len(idx), 1.0 / len(idx))
        sub.n = len(idx)
        sub.threads, sub._pool = 1, None
        sub._allocate(sub.n)
        return sub

    def concurrent_copy(self) -> "NumpyKernel":
        """The same kernel with work arrays of its own, so that it can evaluate in another thread while this
        one runs.  It splits the rows as this kernel does (the same sums in the same order, so the same
        numbers) but runs its parts one after the other; its evaluations are not counted in ``evaluations``."""
        import copy

        twin = copy.copy(self)
        twin._pool, twin._serial = None, True
        twin._allocate(self._block_rows)
        return twin

    def _activate(self, B: np.ndarray) -> None:
        if self._ufunc is not None:
            self._ufunc(B, out=B)
        else:
            B[...] = self._sigma(B)

    def _block(self, k: int, a: np.ndarray, Wt: np.ndarray, want_field: bool):
        """Loss and gradient contributions of the rows of block ``k`` (one pass, in cache)."""
        B, x = self._buffers[k], self._Xb[k]
        np.matmul(x, Wt, out=B)
        if self._pre is not None:
            self._pre[k][...] = B
        self._activate(B)
        e = B @ a
        e -= self._yb[k]
        pe = self._pb[k] * e
        loss = 0.5 * float(pe @ e)
        if not want_field:
            return loss, None, None
        grad_a = pe @ B                                   # sum_i p_i e_i sigma(s_ik)
        Yt = (pe[:, None] * x).T                          # (d, rows)
        if self._poly is None:
            # (d, m): sum_i p_i e_i sigma'(s_ik) x_i; a constant sigma' (sigma(s) = c s) lambdifies to a scalar
            grad_w = Yt @ np.broadcast_to(self._dsigma(self._pre[k]), B.shape)
        elif self._square_only:                           # sigma' = c0 + c2 sigma^2 (tanh)
            np.multiply(B, B, out=B)
            grad_w = self._poly[2] * (Yt @ B)
            grad_w += self._poly[0] * Yt.sum(axis=1)[:, None]
        else:
            power = np.ones_like(B)
            grad_w = self._poly[0] * np.repeat(Yt.sum(axis=1)[:, None], self.m, axis=1)
            for c in self._poly[1:]:
                np.multiply(power, B, out=power)
                if c:
                    grad_w += c * (Yt @ power)
        return loss, grad_a, grad_w

    def _map(self, fn, items):
        if self.threads > 1 and len(items) > 1 and not self._serial:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor
                self._pool = ThreadPoolExecutor(self.threads)
            return list(self._pool.map(fn, items))
        return [fn(item) for item in items]

    def _run_fused(self, theta: np.ndarray, want_field: bool):
        theta = np.ascontiguousarray(theta, dtype=float)
        X, p, y = self.X, self.p, self.y
        if len(self._chunks) == 1:
            lo, hi, _, work = self._chunks[0]
            out = np.empty(self.size) if want_field else None
            return _fused.field_rows(X, p, y, theta, lo, hi, out, work, *self._fused_args), out

        def chunk(c):
            lo, hi, part, work = c
            return _fused.field_rows(X, p, y, theta, lo, hi, part if want_field else None, work, *self._fused_args)

        if self._serial:
            losses = [chunk(c) for c in self._chunks]
        else:
            # the other chunks on the pool, the first in this thread (one hand-off fewer: at 300 x 800 a pool of
            # two took 364 us an evaluation against 328 us this way, on a loaded machine)
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor
                self._pool = ThreadPoolExecutor(len(self._chunks) - 1, thread_name_prefix="kernel-rows")
            futures = [self._pool.submit(chunk, c) for c in self._chunks[1:]]
            losses = [chunk(self._chunks[0])] + [f.result() for f in futures]
        loss = sum(losses)
        if not want_field:
            return loss, None
        out = self._chunks[0][2].copy()
        for c in self._chunks[1:]:
            out += c[2]
        return loss, out

    def _run(self, theta: np.ndarray, want_field: bool):
        if self.variant == "fused":
            return self._run_fused(theta, want_field)
        a, W = unpack(np.asarray(theta, dtype=self._real), self.m)
        Wt = np.ascontiguousarray(W.T)
        parts = self._map(lambda k: self._block(k, a, Wt, want_field), list(range(len(self._blocks))))
        loss = sum(part[0] for part in parts)
        if not want_field:
            return loss, None
        out = np.empty(self.size)
        da, dW = unpack(out, self.m)
        np.negative(sum(part[1] for part in parts), out=da)
        grad_w = sum(part[2] for part in parts)           # (d, m)
        np.multiply(grad_w.T, a[:, None], out=dW)
        np.negative(dW, out=dW)
        return loss, out

    def loss(self, theta: np.ndarray) -> float:
        return self._run(theta, False)[0]

    def loss_and_field(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """``(R, -grad R)`` in one pass over the data."""
        self.evaluations += 1
        return self._run(theta, True)

    def field(self, theta: np.ndarray) -> np.ndarray:
        return self.loss_and_field(theta)[1]

    # -- second order ------------------------------------------------------------
    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Exact Hessian-vector product ``H(theta) v`` of the risk (unblocked; for small models)."""
        a, W = unpack(theta, self.m)
        b, V = unpack(np.asarray(v, dtype=float), self.m)
        pre = self.X @ W.T
        s0, s1, s2 = (np.broadcast_to(f(pre), pre.shape) for f in (self._sigma, self._dsigma, self._d2sigma))
        e = s0 @ a - self.y
        ds = self.X @ V.T                                # directional change of w_k . x_i
        de = s0 @ b + (s1 * ds) @ a
        pe, pde = self.p * e, self.p * de
        ha = s0.T @ pde + (s1 * ds).T @ pe
        hW = (b[:, None] * ((s1.T * pe) @ self.X)
              + a[:, None] * ((s1.T * pde) @ self.X + ((s2 * ds).T * pe) @ self.X))
        return np.concatenate([ha, hW.ravel()])
