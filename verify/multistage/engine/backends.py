"""Choosing the compute backend: NumPy (default) or PyTorch on the CPU or CUDA.

``select_kernel(..., backend="auto")`` uses NumPy: on the CPU it is the
faster of the two for these sizes.  ``backend="torch"`` asks for PyTorch; if
it is not installed, or ``device="cuda"`` is asked for without a GPU, one
line says so and the NumPy kernel is used instead.
"""
from __future__ import annotations

import numpy as np

from theory.multistage.activation import Activation
from theory.errors import InputError

from .kernels import DTYPES, NumpyKernel, check_precision
from ...devices import DEVICES

__all__ = ["select_kernel", "BACKENDS", "DEVICES", "DTYPES"]

BACKENDS = ("auto", "numpy", "torch")


def select_kernel(activation: Activation, X: np.ndarray, p: np.ndarray, y: np.ndarray, width: int,
                  backend: str = "auto", device: str = "cpu", threads: int = 1, notify=print, dtype: str = "float64"):
    """Return ``(kernel, note)``; ``note`` is None or the one-line reason for a fallback.  ``dtype``: the precision
    of the field's arithmetic (float64, or float32 on request)."""
    check_precision(dtype)
    if backend not in BACKENDS:
        raise InputError("backend", backend, "unknown backend", f"use one of {', '.join(BACKENDS)}")
    if device not in DEVICES:
        raise InputError("device", device, "unknown device", f"use one of {', '.join(DEVICES)}")
    note = None
    if backend == "torch" or device == "cuda":
        try:
            import torch
        except ImportError:
            note = "torch is not installed: using the NumPy backend on the CPU (pip install torch==2.13.0)"
        else:
            if device == "cuda" and not torch.cuda.is_available():
                note = "CUDA is not available: using the NumPy backend on the CPU"
            else:
                from .torch_kernel import TorchKernel

                return TorchKernel(activation, X, p, y, width, device=device, dtype=getattr(torch, dtype)), None
    if note and notify:
        notify(note)
    return NumpyKernel(activation, X, p, y, width, threads=threads, dtype=dtype), note
