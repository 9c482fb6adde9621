"""Two-layer networks ``f(x) = sum_k a_k sigma(w_k . x)``: NumPy, compiled and PyTorch kernels."""
from .backends import BACKENDS, DEVICES, select_kernel
from .kernels import NumpyKernel, fused_status, pack, unpack

__all__ = ["BACKENDS", "DEVICES", "select_kernel", "NumpyKernel", "fused_status", "pack", "unpack",
           "check_run_options", "versions"]


def check_run_options(backend: str, device: str) -> None:
    """Refuse a backend the two-layer engine does not know, before any work (the paper's run-option check)."""
    if backend not in BACKENDS:
        from theory.errors import InputError

        raise InputError("backend", backend, "unknown backend", f"use one of {', '.join(BACKENDS)}")


def versions() -> dict:
    """What the engine adds to a report's versions: whether the compiled kernel is built."""
    fused, why = fused_status()
    return {"fused_kernel": "built" if fused else why}
