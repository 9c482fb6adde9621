"""What every noisy-quadratic claim check receives: the profile, the root seed, notes and a run cache."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from theory.errors import InputError
from theory.noisy_quadratic import KEY

from ..registry import claims_for
from ..seeds import SeededContext
from .mc import CONFIRM_CHAINS
from .profiles import PROFILES
from .simulation import Run, simulate

if TYPE_CHECKING:           # Q3's runs import PyTorch when they run, not when the claims are listed
    from .cliff import CliffRun
    from .spectrum_training import SpectrumRun

__all__ = ["Context", "claim"]


#: registers a claim of this paper (verify.registry.claims_for)
claim = claims_for(KEY)


#: the run group of the claims on the cliff set-up (its three trainings and their dense spectra are shared) and its
#: rough weight at the quick profile (seconds of one core, measured 2026-12-05; by far the paper's heaviest group,
#: submitted first)
CLIFF_GROUP = {"group": "q3-cliff", "cost": 20.0}


#: spawn keys of the simulations (one noise stream per purpose, all from the root seed; each parameter point of a
#: simulation draws from its own child of its purpose's stream, see simulation.simulate)
STREAMS = {"stationary": (1,), "relaxation": (2,), "cut": (3,), "momentum": (4,), "region": (5,), "rate": (6,),
           "spectrum": (7,), "edge": (8,), "confirm": (9,), "cliff": (10,),
           "drop": (11,), "goe": (30,), "gaussian-mass": (31,), "eigenvector-shuffle": (32,), "rotation": (33,),
           "shapiro-power": (34,), "batch-shuffle": (35,)}


@dataclass
class Context(SeededContext):
    """Profile, root seed, backend and device (recorded; the chains run in float64 NumPy), notes, run cache; seed
    streams :data:`STREAMS` (:class:`~verify.seeds.SeededContext`)."""

    _runs: dict = field(default_factory=dict)

    STREAMS = STREAMS
    PROFILES = PROFILES

    @classmethod
    def make(cls, profile: str = "default", prepared=(), **kw) -> "Context":
        """The context of ``profile``; ``prepared``: the results of set-up jobs (:func:`setup_jobs`), each a list
        of ``(key, value)`` pairs, taken into the run cache as if this context had computed them."""
        ctx = super().make(profile, **kw)
        for pairs in prepared or ():
            for key, value in pairs:
                ctx._runs[key] = value
        if ctx.device != "cpu":
            ctx.notes.append(f"device {ctx.device!r}: the chains run in float64 NumPy on the CPU (Q3's network "
                             "uses the device)")
        return ctx

    def run(self, purpose: str, alpha, curvature, noise, momentum=0.0, **kw) -> Run:
        """:func:`~verify.noisy_quadratic.simulation.simulate` on the stream of ``purpose`` (cached)."""
        key = (purpose, repr(alpha), repr(curvature), repr(noise), repr(momentum), tuple(sorted(kw.items())))
        if key not in self._runs:
            self._runs[key] = simulate(alpha, curvature, noise, momentum, seed=self.seed,
                                       spawn_key=STREAMS[purpose], **kw)
        return self._runs[key]

    def confirm_run(self, index: int, purpose: str, alpha, curvature, noise, momentum=0.0, *, chains: int,
                    **kw) -> Run:
        """The two-stage rule's confirmation (:func:`verify.noisy_quadratic.mc.two_stage`): point ``index`` of the
        simulation of ``purpose``, given alone, re-simulated with CONFIRM_CHAINS x ``chains`` on its own stream,
        spawn key ``STREAMS["confirm"] + STREAMS[purpose] + (index,)`` (disjoint from every stage-1 stream, whose
        keys start with their purpose's number; cached).  Called with the stage-1 call's arguments, so that the
        confirmation measures the same thing."""
        spawn = self.confirm_key(purpose, index)
        key = ("confirm", purpose, index, repr(alpha), repr(curvature), repr(noise), repr(momentum), chains,
               tuple(sorted(kw.items())))
        if key not in self._runs:
            self._runs[key] = simulate(alpha, curvature, noise, momentum, seed=self.seed, spawn_key=spawn,
                                       chains=CONFIRM_CHAINS * chains, **kw)
        return self._runs[key]

    @staticmethod
    def confirm_key(purpose: str, index: int) -> tuple:
        """The spawn key of the confirmation of point ``index`` of the simulation of ``purpose``."""
        return (*STREAMS["confirm"], *STREAMS[purpose], int(index))

    def spectrum_run(self) -> "SpectrumRun":
        """Q3's network trained at the profile's set-up and measured at its checkpoints (cached)."""
        key = ("spectrum", self.profile.spectrum)
        if key not in self._runs:
            from .spectrum_training import train_and_measure

            seed = self.seed_of("spectrum")
            self._runs[key] = train_and_measure(self.profile.spectrum, seed, device=self.device)
        return self._runs[key]

    def edge_curve(self) -> tuple:
        """The training curve of the profile's full-batch ``edge`` set-up (the post-cut claims report that the
        talk's preconditions fail on it; cached): the full-data loss after every step and the training accuracy at
        each drop.  The training of :func:`~verify.noisy_quadratic.spectrum_training.sharpness_trace` (the same seed
        streams and arithmetic) without its Lanczos measurements, which nothing reads."""
        key = ("edge", self.profile.edge)
        if key not in self._runs:
            from .cliff import memorising_curve

            seed = self.seed_of("edge")
            self._runs[key] = memorising_curve(self.profile.edge, seed, device=self.device)
        return self._runs[key]

    def memorising_curve(self) -> tuple:
        """The training curve of the profile's ``spectrum`` set-up (the run of :meth:`spectrum_run`, its spectra left
        out; cached): the full-data loss after every step and the training accuracy at each drop."""
        key = ("memorising", self.profile.spectrum)
        if key not in self._runs:
            from .cliff import memorising_curve

            seed = self.seed_of("spectrum")
            self._runs[key] = memorising_curve(self.profile.spectrum, seed, device=self.device)
        return self._runs[key]

    def cliff_seed(self, index: int) -> np.random.SeedSequence:
        """The root of training seed ``index`` of the cliff set-up: ``SeedSequence(seed, spawn_key=(10, index))``,
        child ``index`` of the stream ``STREAMS["cliff"]`` (independent across indices; the run splits it into
        its training and Lanczos streams, :func:`~verify.noisy_quadratic.cliff.train_cliff`)."""
        if not isinstance(index, (int, np.integer)) or index < 0:
            raise InputError("index", index, "must be a non-negative integer", "pass e.g. 0")
        return self.stream("cliff", int(index))

    def cliff_run(self, index: int) -> "CliffRun":
        """Training seed ``index`` of the profile's cliff set-up (:class:`~verify.noisy_quadratic.spectrum_setup.CliffSetup`,
        the non-interpolating network on which Q3's post-cut statements are tested), trained and measured (cached;
        the dense spectra it computes later are cached on the run)."""
        key = self.cliff_key(index)
        if key not in self._runs:
            from .cliff import train_cliff

            self._runs[key] = train_cliff(self.profile.cliff, self.cliff_seed(index), device=self.device)
        return self._runs[key]

    def cliff_key(self, index: int) -> tuple:
        """The run-cache key of training seed ``index`` of the cliff set-up."""
        return ("cliff", self.profile.cliff, int(index))

    def cliff_runs(self) -> tuple:
        """The profile's ``cliff_seeds`` runs of the cliff set-up (:meth:`cliff_run` 0, 1, ...)."""
        return tuple(self.cliff_run(i) for i in range(self.profile.cliff_seeds))

    def config(self) -> dict:
        """The configuration recorded in the report."""
        p = self.profile
        return {"model": "f(x) = lambda (x + eps)^2, eps ~ N(0, sigma^2) fresh each step",
                "update": "g = 2 lambda (x + eps); v' = gamma v + g; x' = x - alpha v' (v_0 = 0; gamma = 0: GD)",
                "noise": "point j of a simulation: numpy default_rng(SeedSequence(seed, spawn_key=(stream,)).spawn(points)[j]), "
                         "its own stream; a two-stage confirmation of point j: 4x the chains on "
                         "SeedSequence(seed, spawn_key=(9, stream, j)).spawn(1)[0], alone",
                "streams": {k: list(v) for k, v in STREAMS.items()}, "profile": p.name, "seed": self.seed,
                "chains": {"stationary": p.stationary_chains, "relaxation": p.relax_chains, "cut": p.cut_chains,
                           "momentum": p.momentum_chains, "region": p.region_chains, "rate": p.rate_chains},
                "momentum_gammas": list(p.momentum_gammas), "momentum_fractions": list(p.momentum_fractions),
                "spectrum": p.spectrum.describe(), "edge": p.edge.describe(),
                "cliff": {**p.cliff.describe(), "seeds": p.cliff_seeds,
                          "seed_streams": f"seed i: SeedSequence(seed, spawn_key={STREAMS['cliff'] + ('i',)}); its "
                                          "children: training (initialisation, batch order), Lanczos start"}}


def prepare_cliff(profile: str, seed: int, device: str, index: int) -> tuple:
    """A set-up job (:func:`setup_jobs`): training seed ``index`` of the cliff set-up, with its dense spectra at
    the phase ends (cached on the run) and its batch-512 fits (Q3-batch-quadratics), as ``(key, value)`` pairs of
    the run cache."""
    from .claims.batch_quadratic import batch_fits, fits_key

    ctx = Context.make(profile, seed=seed, device=device)
    run = ctx.cliff_run(index)
    for step in run.setup.boundaries[1:]:       # the dense spectra at the phase ends, which the claims read
        run.spectrum(step)
    return [(ctx.cliff_key(index), run), (fits_key(ctx, index), batch_fits(ctx, index))]


def setup_jobs(profile: str, seed: int, backend: str, device: str, group: str) -> list:
    """The work a run group shares that can run ahead, one job per piece (``(function, args)``, picklable): the
    cliff group's trainings, one per seed, so that two workers train them side by side while the group would train
    them one after the other.  Their results reach the group's context (:meth:`Context.make`'s
    ``prepared``); where one fails, the group trains that seed itself."""
    if group != CLIFF_GROUP["group"]:
        return []
    return [(prepare_cliff, (profile, seed, device, i)) for i in range(PROFILES[profile].cliff_seeds)]
