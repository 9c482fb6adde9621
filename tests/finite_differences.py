"""Central finite differences shared by the numeric and property tests."""
from __future__ import annotations

import numpy as np

EPS = np.finfo(float).eps


def central_gradient(risk, theta: np.ndarray) -> np.ndarray:
    """Gradient of ``risk`` at ``theta`` by central differences with steps eps^(1/3) max(1, |theta_j|)."""
    h0 = EPS ** (1 / 3)
    g = np.empty_like(theta)
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h0 * max(1.0, abs(theta[j]))
        g[j] = (risk(theta + e) - risk(theta - e)) / (2 * e[j])
    return g
