"""Round-off bands: comparisons of computed floats that do not depend on the CPU that computed them.

A rule such as "the loss never rises" or "the loss exceeds its initial value"
must not be decided by the last bits of a dot product: those bits change
with the summation order, which changes with the CPU's vector width and the
BLAS kernel.  Every such rule compares against a band: a stated bound on the
round-off of the compared quantity, derived from its scale and its dtype.

* :func:`unit_roundoff` is ``u`` of a dtype (``2^-53`` for float64, ``2^-24``
  for float32);
* :func:`dot_band` bounds the error of a computed dot product of length
  ``n`` whose terms have absolute sum ``scale``: ``n u scale`` (the
  deterministic bound ``gamma_n`` of recursive summation, Higham, *Accuracy
  and Stability of Numerical Algorithms*, 2nd ed., eq. 3.5, which covers any
  order of summation and so any SIMD or blocked kernel);
* :func:`rises` and :func:`never_rises` compare with such a band.
"""
from __future__ import annotations

import numpy as np

__all__ = ["unit_roundoff", "dot_band", "rises", "never_rises"]


def unit_roundoff(dtype) -> float:
    """The unit round-off ``u = eps / 2`` of a NumPy or PyTorch floating dtype (or its name)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:                        # a torch dtype: torch.float32 -> "float32"
        dt = np.dtype(str(dtype).replace("torch.", ""))
    return float(np.finfo(dt).eps) / 2


def dot_band(n, scale, dtype="float64"):
    """Bound on the error of a computed sum of ``n`` products whose absolute values sum to ``scale``:
    ``n u / (1 - n u) * scale`` (``gamma_n``; valid for any summation order while ``n u < 1``)."""
    nu = np.asarray(n, float) * unit_roundoff(dtype)
    if np.any(nu >= 0.5):
        raise ValueError(f"n = {n} too long for a round-off bound in {dtype} (n u >= 1/2)")
    return nu / (1 - nu) * np.asarray(scale, float)


def rises(values, reference: float, band, reference_band: float = 0.0) -> bool:
    """Whether some computed ``values[i]`` exceeds ``reference`` by more than the two round-off bands
    (``band`` per value, a scalar or an array like ``values``; ``reference_band`` of the reference)."""
    values = np.asarray(values, float)
    band = np.broadcast_to(np.asarray(band, float), values.shape)
    ok = ~np.isnan(values)
    return bool(np.any(values[ok] - reference > band[ok] + reference_band))


def never_rises(values, band) -> bool:
    """Whether a computed sequence never rises by more than round-off: ``values[t+1] - values[t]`` at most
    ``band[t] + band[t+1]`` for every ``t`` (``band`` a scalar or an array like ``values``)."""
    values = np.asarray(values, float)
    band = np.broadcast_to(np.asarray(band, float), values.shape)
    return bool(np.all(np.diff(values) <= band[:-1] + band[1:]))
