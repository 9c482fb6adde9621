"""How much work each early-training claim does at each run profile."""
from __future__ import annotations

from dataclasses import dataclass

from theory.errors import InputError

__all__ = ["Profile", "PROFILES", "MAP_MAX_WIDTH"]

#: the widest model of the map check: its round-off tolerance is justified up to this width (see uv_model)
MAP_MAX_WIDTH = 4096


@dataclass(frozen=True)
class Profile:
    """How much work the uv-model claims do.

    ``map_*``: the map check (widths, seeds, values of c, targets y, steps per run); ``regime_*``: the wide
    runs of the regimes check; ``closs_*``: the widths and seeds of the finite-width c_loss fit; ``steps``:
    the horizon of the critical constants (10, the authors' rule).
    """

    name: str
    map_widths: tuple
    map_seeds: int
    map_cs: tuple
    map_targets: tuple
    map_steps: int
    regime_width: int
    regime_seeds: int
    regime_steps: int
    closs_widths: tuple
    closs_seeds: int
    steps: int = 10

    def __post_init__(self):
        if max(self.map_widths) > MAP_MAX_WIDTH:
            raise InputError("map_widths", self.map_widths, f"exceed {MAP_MAX_WIDTH}",
                             "keep the map check within the widths its tolerance covers")
        if len(self.closs_widths) < 2 or min(self.closs_widths) < 1:
            raise InputError("closs_widths", self.closs_widths, "need two or more positive widths",
                             "give a geometric sweep such as (64, 256, 1024, 4096)")
        for name in ("map_seeds", "regime_seeds", "closs_seeds", "map_steps", "regime_steps", "steps"):
            if getattr(self, name) < 1:
                raise InputError(name, getattr(self, name), "must be at least 1", "use a positive count")


PROFILES = {
    "quick": Profile("quick", map_widths=(8, 64, 512, 4096), map_seeds=2, map_cs=(0.5, 1.9, 3.0, 4.5),
                     map_targets=(0.0, 0.7), map_steps=10, regime_width=4096, regime_seeds=2, regime_steps=300,
                     closs_widths=(64, 256, 1024, 4096), closs_seeds=4),
    "default": Profile("default", map_widths=(2, 8, 64, 512, 4096), map_seeds=4, map_cs=(0.5, 1.0, 1.9, 2.5, 3.0, 4.5),
                       map_targets=(0.0, 0.7, -1.5), map_steps=10, regime_width=4096, regime_seeds=4,
                       regime_steps=400, closs_widths=(64, 128, 256, 512, 1024, 2048, 4096), closs_seeds=8),
    "full": Profile("full", map_widths=(1, 2, 8, 64, 512, 4096), map_seeds=8,
                    map_cs=(0.25, 0.5, 1.0, 1.9, 2.5, 3.0, 3.9, 4.5, 6.0), map_targets=(0.0, 0.7, -1.5, 3.0),
                    map_steps=10, regime_width=16384, regime_seeds=8, regime_steps=600,
                    closs_widths=(32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384), closs_seeds=16),
}
