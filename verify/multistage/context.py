"""What every multistage claim check receives: the profile, the base configuration, seeds and a run cache."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from theory.multistage import KEY

from ..registry import claims_for
from ..seeds import SeededContext
from .config import Config, config_from_dict
from .prediction import predict
from .profiles import PROFILES, Profile
from .simulation import measure, simulate

__all__ = ["Context", "base_config", "claim"]

#: The reference set-up of the D9 reference runs: whitened Gaussian sample, d = 3, tanh, alpha = 1.
BASE = {
    "model": {"activation": "tanh", "alpha": 1.0},
    "data": {"dim": 3, "whiten": True},
    "target": {"expr": "tanh(2*x0) + 0.5*x1**2 + 0.4*x2 - 0.3"},
    "train": {"method": "flow", "lr": 0.01, "t_max": 15.0},
    "analysis": {"delta": 0.01},
}


#: registers a claim of this paper (verify.registry.claims_for)
claim = claims_for(KEY)


#: claims that rest on the small-initialisation regime of D6-D11 (K0 small, a tanh-like activation, z != 0): on a
#: researcher's configuration outside it they are reported not-applicable with predict's reasons
REGIME_DERIVATIONS = ("D6", "D7", "D8", "D9", "D10", "D11")


def base_config(profile: Profile, seed: int, user: dict | None = None, data_seed: int | None = None,
                **over) -> Config:
    """The claims' base configuration: the reference set-up at the profile's width and sample size (its sample
    drawn with ``data_seed``), or a researcher's configuration (``user``, from ``--config``) as it is, with the
    initialisation seed ``seed``."""
    if user is not None:
        raw = {k: dict(v) for k, v in user.items()}
    else:
        raw = {k: dict(v) for k, v in BASE.items()}
        raw["model"]["width"] = profile.width
        raw["data"].update({"samples": profile.samples, "seed": seed if data_seed is None else data_seed})
    raw["train"]["seed"] = seed
    for table, values in over.items():
        raw.setdefault(table, {}).update(values)
    return config_from_dict(raw)


@dataclass
class Context(SeededContext):
    """Profile, root seed, backend and device, solver tolerance, a researcher's configuration, notes, run caches.

    Seed streams (:class:`~verify.seeds.SeededContext`): ``data`` draws the base configuration's sample,
    ``init`` its initial parameters, ``inits`` the initialisation seeds of the probabilistic claims (child i is
    seed i), ``monte-carlo`` the Monte Carlo draws of D7's exact linear law."""

    rtol: float = 1e-8
    user: dict | None = None
    _runs: dict = field(default_factory=dict)
    _predictions: dict = field(default_factory=dict)

    STREAMS = {"data": (1,), "init": (2,), "inits": (3,), "monte-carlo": (4,)}
    PROFILES = PROFILES

    def config(self, **over) -> Config:
        return base_config(self.profile, self.seed_of("init"), self.user, data_seed=self.seed_of("data"), **over)

    def not_applicable(self, claim_id: str) -> str | None:
        """Why ``claim_id`` does not apply to a researcher's configuration (None: it applies, or no ``--config``)."""
        from ..registry import REGISTRY

        if self.user is None or REGISTRY[claim_id].derivation not in REGIME_DERIVATIONS:
            return None
        verdict = self.predict(self.config())["applicable"]
        return None if verdict is True else f"outside the small-initialisation regime of D6-D11: {verdict}"

    def init_seeds(self, count: int | None = None) -> list[int]:
        """Initialisation seeds of the probabilistic claims: the first ``count`` (the profile's number) of the
        stream ``inits``."""
        return self.seeds("inits", count or self.profile.seeds)

    def predict(self, config: Config) -> dict:
        """:func:`~verify.multistage.prediction.predict` for ``config`` (cached: the horizon a claim sets from the
        predicted T_d and the run made with it share one evaluation)."""
        key = repr(config.as_dict())
        if key not in self._predictions:
            self._predictions[key] = predict(config)
        return self._predictions[key]

    def run(self, config: Config, grid: int = 301, remainder: bool = False, rtol: float | None = None, **kw):
        """Simulate (cached): returns ``(traj, obs, kernel, measured, predicted)``.

        ``remainder`` asks for the D3 remainder ratio, which costs one field
        evaluation per recording.  The cache key holds every setting that
        changes the run: the configuration, the recording grid, the solver
        tolerance, the backend and device, and the remaining options.
        """
        kw["remainder"] = remainder
        rtol = self.rtol if rtol is None else rtol
        key = (repr(config.as_dict()), grid, rtol, self.backend, self.device, tuple(sorted(kw.items())))
        if key not in self._runs:
            traj, obs, kernel = simulate(config, backend=self.backend, device=self.device, rtol=rtol,
                                         grid=grid, progress=False, notify=self.notes.append, **kw)
            self._runs[key] = (traj, obs, kernel, measure(config, traj, obs, kernel), self.predict(config))
        return self._runs[key]

    def with_seed(self, config: Config, seed: int) -> Config:
        return replace(config, train=replace(config.train, seed=seed))


def finite(x) -> bool:
    return x is not None and np.isfinite(x)
