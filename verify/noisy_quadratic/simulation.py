"""The stochastic quadratic model simulated exactly: many independent chains at once, GD and heavy ball.

Each parameter point (``alpha``, ``lambda``, ``sigma``, ``gamma``) runs
``chains`` independent chains of PyTorch's update on
``f(x) = lambda (x + eps)^2``: ``g = 2 lambda (x + eps)``,
``v' = gamma v + g``, ``x' = x - alpha v'`` (``v_0 = 0``, so the first
step is PyTorch's ``v_1 = g_0``; ``gamma = 0`` is plain gradient descent).
The update is written from the gradient, not from the derived matrices.
A learning-rate cut divides ``alpha`` by ``cut_factor`` from ``cut_step``
on.  Directions of a multivariate quadratic are independent parameter
points.  Each parameter point draws its noise from its own stream, the
``j``-th child of ``SeedSequence(seed, spawn_key)`` (``.spawn(P)``: the
child's spawn key is ``spawn_key + (j,)``), so that the points' Monte Carlo
errors are independent and a point's noise does not depend on how many
points are simulated with it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.errors import InputError

__all__ = ["Run", "simulate", "chain_interval"]


@dataclass(frozen=True)
class Run:
    """What a simulation records (``P`` parameter points, ``B`` batches of chains, ``T = steps``).

    Attributes
    ----------
    batch_loss : ndarray (P, B, T + 1)
        Mean of ``lambda x_t^2`` over each batch's chains at every step.
    loss_sq : ndarray (P, T + 1)
        Mean of ``(lambda x_t^2)^2`` over all chains (for per-step standard errors).
    mean_x : ndarray (P, T + 1)
        Mean of ``x_t`` over all chains.
    chain_means : ndarray (P, N)
        Each chain's time average of ``lambda x_t^2`` over ``burn_in < t <= T``.
    chain_sq : ndarray (P, N)
        Each chain's time average of ``(lambda x_t^2)^2`` over the same steps.
    """

    batch_loss: np.ndarray
    loss_sq: np.ndarray
    mean_x: np.ndarray
    chain_means: np.ndarray
    chain_sq: np.ndarray
    chains: int
    steps: int
    burn_in: int
    seed: int

    @property
    def loss(self) -> np.ndarray:
        """Mean of ``lambda x_t^2`` over all chains, (P, T + 1)."""
        return self.batch_loss.mean(axis=1)

    def step_stderr(self) -> np.ndarray:
        """Standard error of :attr:`loss` at each step (chains are independent), (P, T + 1)."""
        var = np.maximum(self.loss_sq - self.loss**2, 0.0)
        return np.sqrt(var / self.chains)


def _check(name, value, low, high=np.inf, closed_low=False):
    arr = np.asarray(value, float)
    ok = np.all(np.isfinite(arr)) and np.all(arr >= low if closed_low else arr > low) and np.all(arr < high)
    if not ok:
        raise InputError(name, value, f"must lie in {'[' if closed_low else '('}{low}, {high})",
                         f"give {name} within that range")


def simulate(alpha, curvature, noise, momentum=0.0, *, chains: int, steps: int, seed: int, spawn_key=(),
             x0: float = 0.0, burn_in: int = 0, batches: int = 1, cut_step: int | None = None,
             cut_factor: float = 1.0) -> Run:
    """Run the chains; the parameters broadcast to ``P`` points (one row of every output each)."""
    if not isinstance(chains, (int, np.integer)) or chains < 1:
        raise InputError("chains", chains, "must be a positive integer", "use e.g. 4096")
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError("steps", steps, "must be a positive integer", "use e.g. 2000")
    if batches < 1 or chains % batches:
        raise InputError("batches", batches, f"must divide chains = {chains}", "use a divisor of the chains")
    if not 0 <= burn_in < steps:
        raise InputError("burn_in", burn_in, f"must lie in [0, steps = {steps})", "shorten the burn-in")
    _check("alpha", alpha, 0.0)
    _check("curvature", curvature, 0.0)
    _check("noise", noise, 0.0, closed_low=True)
    _check("momentum", momentum, 0.0, 1.0, closed_low=True)
    a, lam, sig, gam = (np.asarray(p, float) for p in np.broadcast_arrays(alpha, curvature, noise, momentum))
    a, lam, sig, gam = (p.reshape(-1, 1) for p in (a, lam, sig, gam))
    npts = a.shape[0]
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed, spawn_key=tuple(spawn_key)).spawn(npts)]
    noise = np.empty((npts, chains))
    x = np.full((npts, chains), float(x0))
    v = np.zeros_like(x)
    batch_loss = np.empty((npts, batches, steps + 1))
    loss_sq = np.empty((npts, steps + 1))
    mean_x = np.empty((npts, steps + 1))
    acc, acc_sq = np.zeros_like(x), np.zeros_like(x)
    two_lam = 2 * lam
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            loss = lam * x * x
            batch_loss[:, :, t] = loss.reshape(npts, batches, -1).mean(axis=2)
            loss_sq[:, t] = (loss * loss).mean(axis=1)
            mean_x[:, t] = x.mean(axis=1)
            if t > burn_in:
                acc += loss
                acc_sq += loss * loss
            if t == steps:
                break
            step = a / cut_factor if cut_step is not None and t >= cut_step else a
            for j, rng in enumerate(streams):          # each point's own stream
                rng.standard_normal(out=noise[j])
            g = two_lam * (x + sig * noise)
            v = gam * v + g
            x = x - step * v
    count = steps - burn_in
    return Run(batch_loss, loss_sq, mean_x, acc / count, acc_sq / count, chains, steps, burn_in, seed)


def chain_interval(chain_means: np.ndarray, chain_sq: np.ndarray, steps: int) -> dict:
    """Mean of the per-chain time averages with its standard error over chains (independent, so the error
    includes the autocorrelation within each chain), the naive error that treats all ``chains * steps`` values
    as independent, and the integrated autocorrelation time their squared ratio estimates."""
    n = chain_means.shape[-1]
    mean = chain_means.mean(axis=-1)
    se = chain_means.std(axis=-1, ddof=1) / np.sqrt(n)
    var = np.maximum(chain_sq.mean(axis=-1) - mean**2, 0.0)
    naive = np.sqrt(var / (n * steps))
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = (se / naive) ** 2
    return {"mean": mean, "stderr": se, "naive_stderr": naive, "autocorrelation_time": tau}
