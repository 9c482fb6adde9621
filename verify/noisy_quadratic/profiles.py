"""How much work each noisy-quadratic claim does at each run profile."""
from __future__ import annotations

from dataclasses import dataclass

from theory.errors import InputError

from .spectrum_setup import CliffSetup, SpectrumSetup

__all__ = ["Profile", "PROFILES"]


@dataclass(frozen=True)
class Profile:
    """Chains and steps of each check.

    ``stationary_*``: Q1's floor (chains, steps after the burn-in); ``relax_*``: Q1's transient (chains in
    ``relax_batches`` batches, steps); ``cut_*``: the learning-rate cut (chains, steps before and after the
    cut); ``momentum_*``: Q2's floors over ``momentum_gammas`` x ``momentum_fractions`` (of the derived
    stability bound); ``region_*``: the stability-region runs; ``rate_*``: Q2's relaxation runs;
    ``spectrum``: Q3's network, training and checkpoints; ``edge``: the full-batch run (full-batch
    heavy ball on all 1797 digits; the post-cut claims report its loss curve, on which the talk's preconditions
    fail: no gradient noise); ``cliff``: the non-interpolating set-up of Q3's post-cut statements, trained
    from ``cliff_seeds`` independent seeds; ``drop_cuts``: the first cuts at which Q3-loss-drop forms the dense
    Hessian (None: every cut; each costs 3-6 s a seed).
    """

    name: str
    stationary_chains: int
    stationary_steps: int
    relax_chains: int
    relax_batches: int
    cut_chains: int
    cut_steps: int
    momentum_chains: int
    momentum_steps: int
    momentum_gammas: tuple
    momentum_fractions: tuple
    region_chains: int
    region_steps: int
    rate_chains: int
    spectrum: SpectrumSetup = SpectrumSetup()
    edge: SpectrumSetup = SpectrumSetup(width=8, lr=0.2, batch_size=1797, steps=300, drops=(100, 200),
                                        checkpoints=(300,))
    cliff: CliffSetup = CliffSetup()
    cliff_seeds: int = 3
    drop_cuts: int | None = None

    def __post_init__(self):
        for name in ("stationary_chains", "stationary_steps", "relax_chains", "cut_chains", "cut_steps",
                     "momentum_chains", "momentum_steps", "region_chains", "region_steps", "rate_chains", "cliff_seeds"):
            if getattr(self, name) < 1:
                raise InputError(name, getattr(self, name), "must be at least 1", "use a positive count")
        if self.drop_cuts is not None and not 1 <= self.drop_cuts <= len(self.cliff.cuts):
            raise InputError("drop_cuts", self.drop_cuts, f"must lie in 1..{len(self.cliff.cuts)} or be None",
                             "use None for every cut")
        if self.relax_batches < 4 or self.relax_chains % self.relax_batches:
            raise InputError("relax_batches", self.relax_batches, "must be at least 4 and divide relax_chains",
                             "use e.g. 8 batches of 4096 chains")
        if not all(0 <= g < 1 for g in self.momentum_gammas):
            raise InputError("momentum_gammas", self.momentum_gammas, "must lie in [0, 1)", "use e.g. (0, 0.9)")
        if not all(0 < f < 1 for f in self.momentum_fractions):
            raise InputError("momentum_fractions", self.momentum_fractions, "must lie in (0, 1)",
                             "give fractions of the stability bound such as (0.01, 0.5)")


#: the quick profile's cliff set-up: the default network and data on a third of the schedule (1000 steps a phase),
#: the loss measured every 250 steps, and every 25 in the last tenth of each phase and in the 75 steps after each
#: cut; lambda_max only at step 0, in the end-of-phase windows (the steps Q3-lambda-max-rise judges, with the same
#: values) and in the after-cut windows: 22 Lanczos runs a seed instead of 31
QUICK_CLIFF = CliffSetup(steps=(1000, 1000, 1000), every=250, end_every=25, after=(75,), sharpness_every=1000)

PROFILES = {
    "quick": Profile("quick", stationary_chains=2048, stationary_steps=2000, relax_chains=32768, relax_batches=8,
                     cut_chains=8192, cut_steps=300, momentum_chains=1024, momentum_steps=3000,
                     momentum_gammas=(0.0, 0.5, 0.9, 0.99), momentum_fractions=(0.01, 0.1, 0.5, 0.9),
                     region_chains=128, region_steps=1500, rate_chains=1024,
                     spectrum=SpectrumSetup(width=8, steps=200, drops=(100, 150), checkpoints=(100, 200)),
                     cliff=QUICK_CLIFF, drop_cuts=1),
    "default": Profile("default", stationary_chains=8192, stationary_steps=4000, relax_chains=131072,
                       relax_batches=16, cut_chains=32768, cut_steps=400, momentum_chains=4096,
                       momentum_steps=6000, momentum_gammas=(0.0, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99),
                       momentum_fractions=(0.01, 0.1, 0.3, 0.5, 0.9), region_chains=256, region_steps=2000,
                       rate_chains=4096, spectrum=SpectrumSetup(width=24, steps=800, drops=(400, 600),
                                                                checkpoints=(400, 600, 800)),
                       edge=SpectrumSetup(width=16, lr=0.2, batch_size=1797, steps=600, drops=(200, 400),
                                          checkpoints=(600,)), cliff=CliffSetup()),
    "full": Profile("full", stationary_chains=32768, stationary_steps=8000, relax_chains=524288,
                    relax_batches=32, cut_chains=131072, cut_steps=500, momentum_chains=16384,
                    momentum_steps=10000, momentum_gammas=(0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 0.9, 0.95, 0.98, 0.99),
                    momentum_fractions=(0.003, 0.01, 0.03, 0.1, 0.3, 0.5, 0.7, 0.9), region_chains=512,
                    region_steps=3000, rate_chains=16384,
                    spectrum=SpectrumSetup(width=32, steps=3000, drops=(1500, 2250),
                                           checkpoints=(1500, 2250, 3000)),
                    edge=SpectrumSetup(width=24, lr=0.2, batch_size=1797, steps=1500, drops=(500, 1000),
                                       checkpoints=(1500,)), cliff=CliffSetup(every=100),
                    cliff_seeds=5),
}
