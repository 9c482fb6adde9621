"""What every early-training claim check receives: the profile, the root seed, notes and a run cache."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from theory.early_training import KEY

from ..registry import claims_for
from ..seeds import SeededContext
from .profiles import PROFILES
from .uv import UVInit, critical_constant, gd, initialise, loss_rises

__all__ = ["Context", "claim"]


#: registers a claim of this paper (verify.registry.claims_for)
claim = claims_for(KEY)


@dataclass
class Context(SeededContext):
    """Profile, root seed, backend and device (recorded; the uv model runs in float64 NumPy), notes and caches.

    Seed streams (:class:`~verify.seeds.SeededContext`), each a list of initialisation seeds (child i is seed i):
    ``map``, ``regimes`` and ``c_loss`` for the uv model's claims (each width draws its own vectors from each
    seed), ``deep`` and ``zero`` for E2's networks (default-initialised, last layer zero), ``eos`` for the
    edge-of-stability runs."""

    _inits: dict = field(default_factory=dict)
    _runs: dict = field(default_factory=dict)
    _deep: dict = field(default_factory=dict)
    #: wall seconds per (set-up, "lambda0" | constant name), for the profiles' cost estimates
    seconds: dict = field(default_factory=dict)
    #: the E2 set-ups kept (a predicate on a Setup; None: all of the profile's), see :meth:`restricted`
    keep: object = None

    STREAMS = {"map": (1,), "regimes": (2,), "c_loss": (3,), "deep": (4,), "zero": (5,), "eos": (6,)}
    PROFILES = PROFILES

    @classmethod
    def make(cls, profile: str = "default", **kw) -> "Context":
        ctx = super().make(profile, **kw)
        if ctx.device != "cpu":
            ctx.notes.append(f"device {ctx.device!r}: the uv model runs in float64 NumPy on the CPU")
        return ctx

    def init(self, width: int, seed: int) -> UVInit:
        key = (width, seed)
        if key not in self._inits:
            self._inits[key] = initialise(width, seed)
        return self._inits[key]

    def run(self, width: int, seed: int, c: float, y: float = 0.0, steps: int = 10):
        """Gradient descent on the vectors (cached by every argument)."""
        key = ("gd", width, seed, float(c), float(y), steps)
        if key not in self._runs:
            self._runs[key] = gd(self.init(width, seed), c, y, steps)
        return self._runs[key]

    def c_loss(self, width: int, seed: int, y: float = 0.0, steps: int | None = None):
        """The measured ``steps``-step c_loss (:class:`~verify.early_training.uv.Critical`, cached)."""
        steps = self.profile.steps if steps is None else steps
        key = ("c_loss", width, seed, float(y), steps)
        if key not in self._runs:
            init = self.init(width, seed)
            self._runs[key] = critical_constant("c_loss", lambda cv: loss_rises(gd(init, cv, y, steps)))
        return self._runs[key]

    def deep_setups(self, zero_last_layer: bool = False) -> list:
        """The E2 set-ups of the profile (default-initialised, or with the last layer zero), in sweep order."""
        from .critical import Setup

        p = self.profile
        depths, widths, seeds = ((p.zero_depths, p.zero_widths, p.zero_seeds) if zero_last_layer
                                 else (p.deep_depths, p.deep_widths, p.deep_seeds))
        dev = "cpu" if self.device == "auto" else self.device
        at = {} if zero_last_layer else dict(p.deep_seeds_at)
        out = [Setup(d, w, s, zero_last_layer=zero_last_layer, dtype=p.dtype, device=dev,
                     steps=p.steps, measure_size=p.measure_size)
               for d in depths for w in widths
               for s in self.seeds("zero" if zero_last_layer else "deep", at.get(w, seeds))]
        return out if self.keep is None else [s for s in out if self.keep(s)]

    def restricted(self, keep) -> "Context":
        """This context with only the E2 set-ups for which ``keep(setup)`` holds (e.g. ``lambda s:
        s.depth_over_width <= 1/16``), sharing its run caches: a claim judged on a sub-range of the profile's (the
        tests judge a claim and its controls where the paper's statement holds)."""
        return replace(self, keep=keep)

    def problem(self, setup):
        """The :class:`~verify.early_training.critical.Problem` of ``setup`` (cached; CUDA falls back once)."""
        import torch

        from .critical import Problem

        if setup not in self._deep:
            if not self._deep and torch.get_num_threads() > 1:
                # the runner parallelises over worker processes: one PyTorch thread each, or they oversubscribe
                # the cores (measured: 263 s instead of about 25 s for the quick profile on 2 shared cores)
                torch.set_num_threads(1)
                # and one BLAS thread for ARPACK's vector work in eigsh (scikit-learn's threadpoolctl): with
                # OpenBLAS's default threads a c_sharp search at depth 4, width 64 took 26 s instead of 13 s
                from threadpoolctl import threadpool_limits

                threadpool_limits(1, user_api="blas")
            start = time.perf_counter()
            self._deep[setup] = Problem(setup, notify=self._notice)
            self.seconds[(setup, "lambda0")] = time.perf_counter() - start
        return self._deep[setup]

    def _notice(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def constant(self, setup, name: str):
        """One critical constant of ``setup`` (:class:`~verify.early_training.search.Boundary`, cached)."""
        key = ("constant", setup, name)
        if key not in self._deep:
            p = self.profile
            prob = self.problem(setup)
            within = None
            if name == "c_sharp":      # c_sharp's search starts from the measured c_loss and c_max (a hint)
                from .critical import sharp_hint

                within = sharp_hint(self.constant(setup, "c_loss"), self.constant(setup, "c_max"))
            start = time.perf_counter()
            self._deep[key] = prob.constant(name, p.sharp_search if name == "c_sharp" else p.search, within=within)
            self.seconds[(setup, name)] = time.perf_counter() - start
        return self._deep[key]

    def reduction(self, setup) -> dict | None:
        """The early-sharpness scan below ``setup``'s c_loss (:func:`~verify.early_training.reduction.reduction_scan`,
        cached; None when the profile does not scan)."""
        step = self.profile.reduction_step
        if step is None:
            return None
        key = ("reduction", setup)
        if key not in self._deep:
            import numpy as np

            from .reduction import reduction_scan

            prob = self.problem(setup)
            b = self.constant(setup, "c_loss")
            top = b.interval[0] if b.interval[0] is not None else self.profile.search.bracket[0]
            if b.interval[0] is None and b.interval[1] is None:
                top = self.profile.search.bracket[1]
            start = time.perf_counter()
            seed = int(np.random.SeedSequence(setup.seed, spawn_key=(5,)).generate_state(1)[0])
            self._deep[key] = reduction_scan(prob, top, step, seed=seed)
            self.seconds[(setup, "reduction")] = time.perf_counter() - start
        return self._deep[key]

    def eos_setups(self) -> list:
        """The edge-of-stability runs of the profile (one per seed)."""
        from .eos import EoSSetup

        p = self.profile
        dev = "cpu" if self.device == "auto" else self.device
        return [EoSSetup(p.eos_depth, p.eos_width, s, c=p.eos_c, steps=p.eos_steps, every=p.eos_every,
                         dtype=p.dtype, device=dev) for s in self.seeds("eos", p.eos_seeds)]

    def eos_run(self, es):
        """The :class:`~verify.early_training.eos.EoSRun` of ``es`` (cached)."""
        from .eos import sharpness_run

        key = ("eos", es)
        if key not in self._deep:
            self._deep[key] = sharpness_run(es, problem=self.problem(es.setup()))
        return self._deep[key]

    def config(self) -> dict:
        """The configuration recorded in the report."""
        p = self.profile
        return {"model": "uv (f = v.u / sqrt(w), x = 1)", "initialisation": "u, v ~ N(0, 1), "
                "SeedSequence(seed, spawn_key=(width,))", "eta": "c / lambda_0", "steps": p.steps,
                "divergence_loss": 1e5, "profile": p.name, "seed": self.seed,
                "map": {"widths": list(p.map_widths), "seeds": self.seeds("map", p.map_seeds), "c": list(p.map_cs),
                        "targets": list(p.map_targets), "steps": p.map_steps},
                "regimes": {"width": p.regime_width, "seeds": self.seeds("regimes", p.regime_seeds), "steps": p.regime_steps},
                "c_loss": {"widths": list(p.closs_widths), "seeds": self.seeds("c_loss", p.closs_seeds)},
                "deep": {"data": "scikit-learn digits (all 1797 samples, standardised per sample), not CIFAR-10",
                         "net": "bias-free ReLU MLP, He-normal hidden layers, last layer N(0, 1/fan_in) or zero",
                         "sgd": "batch 512, momentum 0, MSE 0.5 mean((f - y)^2), eta = c / lambda^H_0",
                         "lambda0": "Lanczos on the whole training set",
                         "sharpness": f"Lanczos on a fixed batch of {p.measure_size} samples, warm-started",
                         "depths": list(p.deep_depths), "widths": list(p.deep_widths),
                         "seeds": self.seeds("deep", p.deep_seeds),
                         **({"seeds_at_width": {str(w): self.seeds("deep", n) for w, n in p.deep_seeds_at}}
                            if p.deep_seeds_at else {}),
                         "zero_last_layer": {
                             "depths": list(p.zero_depths), "widths": list(p.zero_widths),
                             "seeds": self.seeds("zero", p.zero_seeds)},
                         "search": repr(p.search), "sharp_search": repr(p.sharp_search), "dtype": p.dtype,
                         "sharpness_reduction_scan": None if p.reduction_step is None else {
                             "step_log2_c": p.reduction_step, "levels": [0.9, 0.5],
                             "rule": "the smallest c with lambda_10 / lambda_0 <= level (measurement batch)"}},
                "edge_of_stability": {"depth": p.eos_depth, "width": p.eos_width, "c": p.eos_c,
                                      "steps": p.eos_steps, "every": p.eos_every, "seeds": self.seeds("eos", p.eos_seeds),
                                      "run": "full-batch GD, momentum 0, MSE, last layer zero, digits"}}
