"""The small initialisation: all ``a_k`` and all coordinates of ``w_k`` i.i.d. ``N(0, m^(-2 alpha))``."""
from __future__ import annotations

import numpy as np

__all__ = ["initial_parameters", "growing_mode", "decaying_mode"]


def initial_parameters(width: int, dim: int, alpha: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``(a, W)`` with ``a`` of shape ``(m,)`` and ``W`` of shape ``(m, d)``.

    The stream is ``numpy.random.default_rng(SeedSequence(seed))``: the same
    seed gives the same parameters for the predictions and the simulations.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    scale = float(width) ** (-alpha)
    a = rng.normal(0.0, scale, size=width)
    W = rng.normal(0.0, scale, size=(width, dim))
    return a, W


def growing_mode(a: np.ndarray, W: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``u_k = (a_k + zhat . w_k) / sqrt 2``, each neuron's coordinate on the growing eigenvector of A."""
    zhat = z / np.linalg.norm(z)
    return (a + W @ zhat) / np.sqrt(2.0)


def decaying_mode(a: np.ndarray, W: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``v_k = (a_k - zhat . w_k) / sqrt 2``, each neuron's coordinate on the decaying eigenvector of A."""
    zhat = z / np.linalg.norm(z)
    return (a - W @ zhat) / np.sqrt(2.0)
