"""How much work each early-training claim does at each run profile.

Costs (``python -m verify all --paper early-training --workers 2``, two cores
shared with other jobs, load average 3.5-6, 2026-11-29).  The E2 claims of
one profile share one worker (group ``deep``); the edge-of-stability run has
its own (group ``eos``), so the paper's wall time is about that of the deep
group.

* quick (issue 20): deep set-ups depths 2 and 4, widths 32 and 64, three seeds each (d/w 1/32, 1/16 twice
  -- depth 2 width 32 against depth 4 width 64, the d/w-only comparison -- and 1/8, where the paper's order
  reverses); zero-last-layer depth 2, widths 16-128 (d/w 1/8 to 1/64), three seeds; no early-sharpness scan
  (the phase diagram then draws the sharpness-reduction phase from c = 2, as the authors do).  ``verify all
  --quick --paper early-training`` with OMP_NUM_THREADS=1, back to back with the tree before issue 20 under a
  load average of 4.3 on the two cores (2026-12-05): 27.6 s of CPU against 21.9 s (+5.7 s on the deep group's
  critical path), 45 s and 48 s wall (the load's noise).  Per set-up (load 3): about 1.3-1.9 s at depth 2, 2.6
  s at depth 4 width 32, 4.3 s at depth 4 width 64 (c_sharp about half of each).
* default (issue 20; estimated from per-set-up timings at the default settings, seed 1 of each architecture,
  load average 5): depths 4 and 8, widths 32, 64, 128, three seeds -- per seed 5.9 s (d4 w32), 8.7 s (d4 w64),
  22.3 s (d4 w128), 8.5 s (d8 w32), 15.2 s (d8 w64), 49.6 s (d8 w128), of which c_sharp 64 s and the
  early-sharpness scan (step 0.5) 25 s: about 110 s per seed, 330 s for three; zero-last-layer depth 4, widths
  32-256, three seeds, measured whole: 77 s (d4 w256 42 s of it).  The deep group about 7 min under that load
  (about half on a quiet machine), the edge-of-stability group beside it: well under 20 minutes; with c_sharp
  twice as cheap about 5.5 min.
* full: the paper's widths, depth 8 at widths 256 and 512 (three seeds each)
  and 1024 (one seed: ``deep_seeds_at``), zero-last-layer set-ups at depth 8,
  widths 64-512 (d/w 1/64 .. 1/8), three seeds each, the uv claims at their
  full sizes, c_sharp bisected to 0.05 in log2 c.  Measured as a whole (``python -m verify all --paper
  early-training --full --seed 0 --workers 2 --no-cache``, 2026-12-05, two cores at load 2-4): 22 min 7 s wall,
  1082 s of user CPU, 3.7 GB peak (E2-ordering, which holds the deep constants, 952 s; E2-zero-last-layer 346 s;
  the uv and edge-of-stability claims beside them in the other worker); the per-set-up estimate from set-ups
  timed one at a time with one thread (``benchmarks/README.md``, "The full profile") was 18-19 min on quiet
  cores: deep d8 w256 28 s, w512 80 s, w1024 415 s per seed; zero-last-layer w64 about 3 s, w256 25 s, w512
  68 s per seed.  Width 2048 (about 4 x the cost of 1024 per seed, over 25 min alone) and the
  second and third seeds at 1024 (7 min each) are left out to fit.
"""
from __future__ import annotations

from dataclasses import dataclass

from theory.errors import InputError

from .search import Search

__all__ = ["Profile", "PROFILES", "MAP_MAX_WIDTH"]

# E2 (issue 20): the quick and default profiles take three seeds per architecture, deep set-ups on both sides of
# d/w = 1/8 (where E2-ordering's reversals appear) and zero-last-layer set-ups over d/w 1/64 .. 1/8 (where
# E2-zero-last-layer's departure from 2 grows beyond the paper's grid cell): the claims report where the paper's
# statements hold and where they fail, never a range narrowed to where they pass.

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
    deep_depths: tuple = (4,)
    deep_widths: tuple = (64,)
    deep_seeds: int = 1
    #: ``((width, seeds), ...)``: a seed count that replaces ``deep_seeds`` at that width (the full profile's
    #: widest net has fewer seeds than the others)
    deep_seeds_at: tuple = ()
    zero_depths: tuple = (4,)
    zero_widths: tuple = (64,)
    zero_seeds: int = 1
    measure_size: int = 512
    search: Search = Search()
    sharp_search: Search = Search()
    dtype: str = "float32"
    eos_depth: int = 3
    eos_width: int = 64
    eos_c: float = 1.8
    eos_steps: int = 300
    eos_every: int = 5
    eos_seeds: int = 1
    #: the grid step in log2 c of the early-sharpness scan that locates the sharpness-reduction phase's lower edge
    #: (:mod:`verify.early_training.reduction`); None: not scanned
    reduction_step: float | None = None

    def __post_init__(self):
        if max(self.map_widths) > MAP_MAX_WIDTH:
            raise InputError("map_widths", self.map_widths, f"exceed {MAP_MAX_WIDTH}",
                             "keep the map check within the widths its tolerance covers")
        if len(self.closs_widths) < 2 or min(self.closs_widths) < 1:
            raise InputError("closs_widths", self.closs_widths, "need two or more positive widths",
                             "give a geometric sweep such as (64, 256, 1024, 4096)")
        if len({d / w for d in self.deep_depths for w in self.deep_widths}) < 2:
            raise InputError("deep_depths", (self.deep_depths, self.deep_widths), "give fewer than two values of d/w",
                             "give two or more depths or widths: the E2 fit needs a sweep in d/w")
        for width, count in self.deep_seeds_at:
            if width not in self.deep_widths or not isinstance(count, int) or count < 1:
                raise InputError("deep_seeds_at", self.deep_seeds_at, "needs (width, seeds) pairs of the profile's "
                                 "widths with at least 1 seed", "use e.g. ((1024, 1),)")
        for name in ("map_seeds", "regime_seeds", "closs_seeds", "map_steps", "regime_steps", "steps",
                     "deep_seeds", "zero_seeds", "measure_size", "eos_steps", "eos_every", "eos_seeds"):
            if getattr(self, name) < 1:
                raise InputError(name, getattr(self, name), "must be at least 1", "use a positive count")


PROFILES = {
    "quick": Profile("quick", map_widths=(8, 64, 512, 4096), map_seeds=2, map_cs=(0.5, 1.9, 3.0, 4.5),
                     map_targets=(0.0, 0.7), map_steps=10, regime_width=4096, regime_seeds=2, regime_steps=300,
                     closs_widths=(64, 256, 1024, 4096), closs_seeds=4,
                     deep_depths=(2, 4), deep_widths=(32, 64), deep_seeds=3, zero_depths=(2,),
                     zero_widths=(16, 32, 64, 128), zero_seeds=3, measure_size=128, search=Search(coarse_step=1.0, resolution=0.05, per_pass=3),
                     sharp_search=Search(coarse_step=1.0, resolution=0.1, per_pass=1), eos_steps=200, eos_every=10),
    "default": Profile("default", map_widths=(2, 8, 64, 512, 4096), map_seeds=4, map_cs=(0.5, 1.0, 1.9, 2.5, 3.0, 4.5),
                       map_targets=(0.0, 0.7, -1.5), map_steps=10, regime_width=4096, regime_seeds=4,
                       regime_steps=400, closs_widths=(64, 128, 256, 512, 1024, 2048, 4096), closs_seeds=8,
                       deep_depths=(4, 8), deep_widths=(32, 64, 128), deep_seeds=3, zero_depths=(4,),
                       zero_widths=(32, 64, 128, 256), zero_seeds=3, measure_size=512, reduction_step=0.5, eos_steps=300, eos_seeds=1,
                       search=Search(coarse_step=1.0, resolution=0.03, per_pass=1),
                       sharp_search=Search(coarse_step=1.0, resolution=0.05, per_pass=1)),
    "full": Profile("full", map_widths=(1, 2, 8, 64, 512, 4096), map_seeds=8,
                    map_cs=(0.25, 0.5, 1.0, 1.9, 2.5, 3.0, 3.9, 4.5, 6.0), map_targets=(0.0, 0.7, -1.5, 3.0),
                    map_steps=10, regime_width=16384, regime_seeds=8, regime_steps=600,
                    closs_widths=(32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384), closs_seeds=16,
                    deep_depths=(8,), deep_widths=(256, 512, 1024), deep_seeds=3, deep_seeds_at=((1024, 1),),
                    zero_depths=(8,), zero_widths=(64, 128, 256, 512), zero_seeds=3, measure_size=512,
                    eos_steps=600, eos_seeds=3,
                    search=Search(coarse_step=0.5, resolution=0.01, per_pass=1),
                    sharp_search=Search(coarse_step=0.5, resolution=0.05, per_pass=1)),
}
