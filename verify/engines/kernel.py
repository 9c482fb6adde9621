"""The protocol every compute kernel satisfies, so that the drivers never probe for attributes."""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Kernel"]


@runtime_checkable
class Kernel(Protocol):
    """Loss, gradient field and Hessian-vector products of a model on a fixed weighted data set.

    ``field(theta)`` is ``-grad R(theta)``; ``on_rows(idx)`` is the same
    kernel on a mini-batch of rows; ``evaluations`` counts field evaluations.
    ``name``/``device``/``variant`` say which backend ran (recorded with every
    trajectory); ``m``, ``d`` and ``size`` give the shapes.
    """

    name: str
    device: str
    variant: str
    size: int
    n: int
    m: int
    d: int
    evaluations: int

    def loss(self, theta: np.ndarray) -> float: ...

    def loss_and_field(self, theta: np.ndarray) -> tuple[float, np.ndarray]: ...

    def field(self, theta: np.ndarray) -> np.ndarray: ...

    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray: ...

    def on_rows(self, idx: np.ndarray) -> "Kernel": ...
