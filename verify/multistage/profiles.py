"""How much work each multistage claim does at each run profile."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Profile", "PROFILES"]


@dataclass(frozen=True)
class Profile:
    """How much work each claim does."""

    name: str
    width: int            # the main width
    samples: int          # data points
    seeds: int            # seeds for probabilistic claims
    widths: tuple         # sweeps in m
    alphas: tuple         # sweeps in alpha
    heuristic_widths: tuple
    heuristic_t_max: float
    heuristic_seeds: int = 2
    sweep_seeds: int = 3          # seeds averaged at each point of the T_d sweeps
    td_widths: tuple = ()         # widths of the T_d sweep in log m
    td_seed_widths: tuple = ()    # widths at which D10-descent-time judges T_d on every seed


PROFILES = {
    "quick": Profile("quick", 400, 200, 5, (125, 250, 500, 1000, 2000), (0.75, 1.0, 1.25, 1.5), (50, 100, 200, 400),
                     160.0, 2, 2, (125, 250, 500, 1000), (100, 400)),
    "default": Profile("default", 1000, 300, 8, (125, 250, 500, 1000, 2000), (0.75, 1.0, 1.25, 1.5),
                       (50, 100, 200, 400, 800), 400.0, 3, 3, (125, 250, 500, 1000, 2000),
                       (100, 200, 400, 1000, 2000, 4000)),
    "full": Profile("full", 2000, 300, 20, (125, 250, 500, 1000, 2000, 5000), (0.75, 0.875, 1.0, 1.25, 1.5),
                    (50, 100, 200, 400, 800, 1600), 800.0, 5, 5, (125, 250, 500, 1000, 2000, 5000),
                    (100, 200, 400, 1000, 2000, 4000)),
}
