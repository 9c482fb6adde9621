"""The multistage paper's events on the two-layer network: K = beta . z / z^T Sigma^-1 z crossing levels (D8's
logistic variable) and the loss crossing levels, for the shared flow and descent drivers."""
from __future__ import annotations

import numpy as np

from ...engines.events import Event

__all__ = ["k_of_theta", "make_events"]


def k_of_theta(theta: np.ndarray, width: int, z: np.ndarray, zSz: float) -> float:
    """``K = beta . z / z^T Sigma^-1 z`` with ``beta = sum_k a_k w_k``."""
    a = theta[:width]
    W = theta[width:].reshape(width, -1)
    return float(a @ (W @ z)) / zSz


def make_events(kernel, width: int, z: np.ndarray, zSz: float, K_levels=(), loss_levels=()) -> list[Event]:
    """Upward crossings of each level of K and downward crossings of each loss level (a costly event)."""
    events = [Event(f"K={lv:g}", (lambda lv: lambda t, th: k_of_theta(th, width, z, zSz) - lv)(lv), +1)
              for lv in K_levels]
    events += [Event(f"loss={lv:g}", (lambda lv: lambda t, th: kernel.loss(th) - lv)(lv), -1, True)
               for lv in loss_levels]
    return events
