"""The result every eigensolver of the toolkit returns."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Eigenpair"]


@dataclass(frozen=True)
class Eigenpair:
    """An approximate eigenpair of a Hessian and how far it can be trusted.

    ``residual`` is ``|H v - value v|`` for the unit vector ``v``: for a
    symmetric ``H`` some exact eigenvalue lies within ``residual`` of
    ``value`` (Bauer-Fike / Weyl). ``converged`` is the solver's own verdict
    (ARPACK's tolerance for Lanczos; ``residual <= rtol |value|`` for power
    iteration); ``products`` counts the Hessian-vector products spent,
    including the one that measured the residual.
    """

    value: float
    vector: np.ndarray
    residual: float
    converged: bool
    products: int
    method: str

    @property
    def bound(self) -> tuple[float, float]:
        """An interval that contains an exact eigenvalue: ``value -+ residual``."""
        return (self.value - self.residual, self.value + self.residual)
