"""Two-layer networks ``f(x) = sum_k a_k sigma(w_k . x)``: NumPy, compiled and PyTorch kernels."""
from .backends import BACKENDS, DEVICES, select_kernel
from .kernels import NumpyKernel, fused_status, pack, unpack

__all__ = ["BACKENDS", "DEVICES", "select_kernel", "NumpyKernel", "fused_status", "pack", "unpack"]
