"""Registered claims, one or more per derived result D1-D11 (see ``python -m verify list``)."""
from . import (balance, critical_point, descent_time, gradient_flow, growth, higher_order,  # noqa: F401
               initial_plateau, linearized_flow, reduced_dynamics, secondary_plateau, taylor)
from ._base import PROFILES, REGISTRY, STATUSES, Claim, Tolerance, Verdict, fit_slope, wilson_interval
from .context import Context

__all__ = ["REGISTRY", "PROFILES", "STATUSES", "Claim", "Tolerance", "Verdict", "Context", "fit_slope",
           "wilson_interval"]

_ordered = sorted(REGISTRY.items(), key=lambda item: int(item[1].derivation[1:]))
REGISTRY.clear()
REGISTRY.update(_ordered)
