"""Numerics of the edge-of-stability measurement: the sharpness over a longer gradient-descent run.

One initialisation of a bias-free ReLU network (the E2 set-up of
:mod:`verify.early_training.critical`) is trained by **full-batch** gradient
descent (heavy-ball momentum ``gamma``, 0 by default) with the MSE on
scikit-learn's digits (all 1797 samples, not CIFAR-10) at the fixed learning
rate ``eta = c / lambda^H_0``.  Every ``every`` steps the top eigenvalue of
the Hessian of the full training loss is measured by Lanczos, warm-started
from the previous measurement's eigenvector (the first from the eigenvector
of ``lambda^H_0``), so each measurement costs a few Hessian-vector products.

Full batch is the set-up in which the edge of stability shows most clearly
(Cohen et al., arXiv:2103.00065): the sharpness then is the curvature that
sets the stability of the very update being taken.  ``c < 2`` puts the
threshold ``2 / eta`` above ``lambda^H_0``, so the sharpness has to rise to
reach it (progressive sharpening) rather than start beyond it (a catapult).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from theory.errors import InputError

from ..engines.deepnet import SGDOptions, train
from ..hessian import TorchHessian, top_eigenpair
from .critical import Problem, Setup, _spawn

__all__ = ["EoSSetup", "EoSRun", "sharpness_run"]

#: a loss above this (or not finite) ends the run as diverged (the divergence rule of E2)
DIVERGENCE_LOSS = 1e5


@dataclass(frozen=True)
class EoSSetup:
    """One network and run: depth, width, initialisation seed, ``c`` (``eta = c / lambda^H_0``), steps, the
    sharpness measured every ``every`` steps, momentum ``gamma`` and the last layer's initialisation."""

    depth: int
    width: int
    seed: int = 1
    c: float = 1.8
    steps: int = 300
    every: int = 5
    gamma: float = 0.0
    zero_last_layer: bool = True
    data: str = "digits"
    dtype: str = "float32"
    device: str = "cpu"

    def __post_init__(self):
        Setup(self.depth, self.width, self.seed, data=self.data, dtype=self.dtype, device=self.device)
        if not (isinstance(self.c, (int, float)) and self.c > 0):
            raise InputError("c", self.c, "must be > 0", "use e.g. c 1.8 (eta = c / lambda_0)")
        for name in ("steps", "every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(name, v, "must be an integer >= 1", f"use e.g. {name} 5")
        if not 0 <= self.gamma < 1:
            raise InputError("gamma", self.gamma, "must lie in [0, 1)", "use heavy-ball momentum 0 <= gamma < 1")

    def setup(self) -> Setup:
        """The E2 :class:`Setup` of the same network (its batch settings unused: the run is full batch)."""
        return Setup(self.depth, self.width, self.seed, data=self.data, zero_last_layer=self.zero_last_layer,
                     dtype=self.dtype, device=self.device, measure_size=1)


@dataclass(frozen=True)
class EoSRun:
    """The measured run: ``lambda0`` and ``eta``; ``steps_measured`` with the sharpness (full training set)
    there; the full-training loss after every step; divergence; Hessian-vector products and seconds spent."""

    setup: EoSSetup
    lambda0: float
    eta: float
    steps_measured: np.ndarray
    sharpness: np.ndarray
    losses: np.ndarray
    diverged: bool
    products: int
    converged: bool
    seconds: float

    def as_dict(self) -> dict:
        return {"setup": asdict(self.setup), "lambda0": self.lambda0, "eta": self.eta,
                "steps_measured": self.steps_measured.tolist(), "sharpness": self.sharpness.tolist(),
                "loss": self.losses.tolist(), "diverged": self.diverged, "hessian_vector_products": self.products,
                "all_lanczos_converged": self.converged}   # no clock reading: the same seed gives the same JSON


def sharpness_run(es: EoSSetup, notify=None, problem: Problem | None = None) -> EoSRun:
    """Train ``es`` by full-batch GD and measure the top Hessian eigenvalue every ``es.every`` steps.

    Seeds: the network from ``SeedSequence(seed)`` as in E2 (:class:`Problem`); the Lanczos start vector of
    ``lambda^H_0`` from ``SeedSequence(seed, spawn_key=(3,))``; later ones are warm starts.
    """
    start = time.perf_counter()
    prob = problem if problem is not None else Problem(es.setup(), notify=notify)
    eta = es.c / prob.lambda0
    options = SGDOptions(batch_size=None, momentum=es.gamma, loss="mse", divergence_threshold=DIVERGENCE_LOSS)
    steps, values = [0], [prob.lambda0]
    state = {"vector": prob.top0.vector, "products": 0, "converged": bool(prob.top0.converged)}

    def measure(t, params, loss):
        if t == 0 or t % es.every:
            return False
        h = TorchHessian(prob.net.flat_loss(prob.data), prob.net.flatten(params))
        pair = top_eigenpair(h, v0=state["vector"], seed=_spawn(es.seed, 5))
        state["vector"], state["products"] = pair.vector, state["products"] + pair.products
        state["converged"] &= bool(pair.converged)
        steps.append(t)
        values.append(pair.value)
        return False

    res = train(prob.net, prob.params0, prob.data, eta, es.steps, options, seed=es.seed, callback=measure)
    return EoSRun(es, prob.lambda0, eta, np.array(steps), np.array(values), res.losses,
                  bool(res.diverged or not math.isfinite(res.losses[-1])), state["products"], state["converged"],
                  time.perf_counter() - start)
