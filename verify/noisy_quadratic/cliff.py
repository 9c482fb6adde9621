"""Train Q3's non-interpolating network through its learning-rate cuts and measure loss and lambda_max (Q3).

:func:`train_cliff` trains the network of a :class:`~verify.noisy_quadratic.spectrum_setup.CliffSetup` (GELU MLP with
biases on digits with partly random labels) by SGD with heavy-ball momentum, in float64 (see
:mod:`verify.noisy_quadratic.spectrum_training` for why float64), and returns a :class:`CliffRun`:

- the per-step learning rate (``lrs``);
- at every measurement step (``setup.measured``): the full-data loss, and at those of ``setup.sharpness_steps``
  (all of them unless the set-up's ``sharpness_every`` thins them out; NaN at the others) lambda_max, the largest
  eigenvalue of the Hessian of the full-data loss (no weight-decay term), by Lanczos
  (:func:`~.spectrum_training.lanczos_top`, k = 1, tolerance :data:`LANCZOS_TOL`, the same seeded start vector at every
  step) with its residual ``r = |H v - lambda v|`` (the eigenvalue is within ``r`` of an exact one, and within
  ``r^2 / gap`` when isolated).  Each measurement is independent of the others, so thinning them leaves the
  remaining values unchanged to the bit.  (Started from the previous measurement's eigenvector, Lanczos saved 2 %
  of the products at the quick schedule, 17 % with a basis of 10 vectors instead of 20, and 4-5 % of the time
  (2.37 and 2.34 s against 2.47 s for one seed): the top eigenvector moves between measurements, and ARPACK's
  first basis costs ``ncv`` products whatever the start.  A tolerance of 1e-4 instead of 1e-6 saved at most 20 %
  of the products; it is kept at 1e-6.)
- the float64 parameters at the checkpoints (``setup.checkpoints``: the end of each phase and a few steps after
  each cut), and for each cut the mean of the parameters over the second half of the phase it ends
  (``iterate_means``, the talk's average, :meth:`CliffSetup.average_steps`) and over its end-of-phase window
  (``window_means``);
- :meth:`CliffRun.spectrum`: the dense float64 Hessian of the full-data loss at a checkpoint (no weight-decay
  term) and all its eigenvalues and eigenvectors (NumPy's ``eigh``), computed on first use and cached.

The training loop is :func:`verify.engines.deepnet.train`'s arithmetic (the same batches from the same batch
stream, ``v' = gamma v + g + wd theta``, ``theta' = theta - lr v'``) written with ``torch.autograd.grad`` and with
the full-data loss evaluated only where it is measured: per step 0.3 ms against the engine's 2.4 ms (its
``torch.func.grad_and_value`` costs 1.6 ms on this small network, its full-data loss after every step 0.8 ms;
one core, float64, batch 128).  ``tests/noisy_quadratic/test_nq_cliff.py`` checks that the two loops agree.

Randomness: the root ``SeedSequence`` of a run (an int seed, or a sequence spawned by the caller) is split into
three children, training (split once more by :func:`verify.engines.deepnet.seed_streams` into initialisation and
batch order), the Lanczos start vector and the partition into batches on which per-batch gradients are measured
(:meth:`CliffRun.batches`).  The run records the root's entropy
and spawn key.  The data set (with its random labels) depends on ``setup.noise_seed`` only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from theory.errors import InputError

from ..engines.datasets import Dataset, digits
from ..engines.deepnet import DeepNet, SGDOptions, _batches, resolve_device, seed_streams
from ..hessian import Spectrum, TorchHessian, full_spectrum
from .spectrum_setup import CliffSetup
from .spectrum_training import TRAIN_DTYPE, lanczos_top

__all__ = ["DENSE_ROUTE", "DENSE_SOLVER", "LANCZOS_TOL", "CliffRun", "cliff_data", "cliff_net", "sgd", "heavy_ball",
           "train_cliff",
           "memorising_curve"]

#: the route of the dense Hessians (verify.hessian.torch_dense_hessian): "folded", exact and about twice as fast
#: as the default "jacrev" here (1,482 parameters: 5.5 s against 10.8 s on a loaded core); the two agree to
#: round-off (benchmarks/README.md, "Dense Hessian"; tests/noisy_quadratic/test_nq_cliff.py)
DENSE_ROUTE = "folded"
#: the dense eigensolver of :meth:`CliffRun.spectrum` (verify.hessian.full_spectrum): NumPy's ``syevd``, 40 % faster
#: than SciPy's ``syevr`` on these Hessians and as accurate
DENSE_SOLVER = "numpy"
#: Lanczos tolerance of the lambda_max measurements (relative; the residuals are recorded)
LANCZOS_TOL = 1e-6


def cliff_net(setup: CliffSetup, device: str = "cpu") -> DeepNet:
    """The set-up's network (float64)."""
    return DeepNet(64, 10, setup.depth, setup.width, activation="gelu", dtype=TRAIN_DTYPE, device=device,
                   notify=None, bias=setup.bias)


def cliff_data(setup: CliffSetup, device: str = "cpu") -> Dataset:
    """The set-up's data: digits standardised per pixel, ``label_noise`` of the labels replaced (float64)."""
    return digits(dtype=TRAIN_DTYPE, device=device, per="feature", label_noise=setup.label_noise,
                  noise_seed=setup.noise_seed)


def _options(setup: CliffSetup) -> SGDOptions:
    b = setup.boundaries
    drops = tuple((b[k], setup.lrs[k] / setup.lrs[k - 1]) for k in range(1, len(setup.lrs)))
    return SGDOptions(batch_size=setup.batch_size, momentum=setup.momentum, weight_decay=setup.weight_decay,
                      drops=drops, loss="cross_entropy")


@dataclass(frozen=True)
class CliffRun:
    """One training run of a :class:`CliffSetup` and its measurements (see the module docstring).

    ``steps``, ``loss``, ``lambda_max`` and ``residuals`` are aligned (the measurement steps; ``loss`` the
    full-data loss, ``residuals`` Lanczos's ``|H v - lambda v|``; ``lambda_max`` and ``residuals`` NaN at the steps
    outside ``setup.sharpness_steps``); ``lrs[t]`` is the learning rate of step ``t``;
    ``checkpoints`` maps a step to the float64 parameters after it; ``accuracy`` maps a checkpoint to the
    training accuracy (on the noisy labels) there; ``iterate_means`` maps each cut to the mean of the parameters
    over :meth:`CliffSetup.average_steps` of the phase it ends (the talk's mean), ``window_means`` to their mean over
    that phase's end-of-phase window (:meth:`CliffSetup.end_steps`; float64).  ``seed`` records the root
    ``SeedSequence`` (entropy and spawn key).
    """

    setup: CliffSetup
    seed: dict
    steps: np.ndarray
    loss: np.ndarray
    lambda_max: np.ndarray
    residuals: np.ndarray
    lrs: np.ndarray
    checkpoints: dict
    accuracy: dict
    products: int
    device: str
    batch_seed: int = 0
    iterate_means: dict = field(default_factory=dict)
    window_means: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def boundaries(self) -> tuple:
        """Phase boundaries: ``(0, first cut, ..., total)``."""
        return self.setup.boundaries

    def lr_of_phase(self, phase: int) -> float:
        """The learning rate of phase ``phase`` as the training loop applied it (the compounded drop factors)."""
        return float(self.lrs[self.boundaries[phase]])

    def in_phase(self, phase: int) -> np.ndarray:
        """Indices (into ``steps``) of the end-of-phase window of phase ``phase``
        (:meth:`CliffSetup.end_steps`)."""
        if not 0 <= phase < len(self.setup.steps):
            raise InputError("phase", phase, f"is not a phase 0..{len(self.setup.steps) - 1}", "pass a phase index")
        return np.searchsorted(self.steps, self.setup.end_steps(phase))

    def theta(self, step: int) -> np.ndarray:
        """The float64 parameters after ``step`` steps (a checkpoint)."""
        if step not in self.checkpoints:
            raise InputError("step", step, "is not a checkpoint",
                             f"use one of {', '.join(str(s) for s in sorted(self.checkpoints))}")
        return self.checkpoints[step]

    def net(self) -> DeepNet:
        return cliff_net(self.setup, self.device)

    def data(self) -> Dataset:
        if "data" not in self._cache:
            self._cache["data"] = cliff_data(self.setup, self.device)
        return self._cache["data"]

    def spectrum(self, step: int) -> Spectrum:
        """All eigenvalues (ascending) and eigenvectors (columns) of the dense float64 Hessian of the full-data
        loss (no weight-decay term) at checkpoint ``step`` (computed on first use, then cached).  (Formed on a
        helper thread while the next seed trained, they saved no time on the loaded two-core machine and cost 2 s
        more CPU over the quick group: the training loop and the Hessian's assembly contend for the GIL.)"""
        key = ("spectrum", int(step))
        if key not in self._cache:
            self._cache[key] = self._dense_spectrum(int(step))
        return self._cache[key]

    def _dense_spectrum(self, step: int) -> Spectrum:
        from .mlp_hessian import mlp_dense_hessian     # exact, from per-sample backpropagated parts

        theta = torch.as_tensor(self.theta(step), dtype=torch.float64, device=self.device)
        return full_spectrum(mlp_dense_hessian(self.net(), self.data(), theta), solver=DENSE_SOLVER)

    def batches(self) -> np.ndarray:
        """The run's partition of the samples into training-size batches: a permutation from
        ``default_rng(batch_seed)`` (the root's third child), cut into ``n // batch_size`` rows of ``batch_size``
        indices (the last incomplete batch dropped, as in training)."""
        n, b = self.data().n, self.setup.batch_size
        perm = np.random.default_rng(self.batch_seed).permutation(n)
        return perm[: (n // b) * b].reshape(n // b, b)

    def batch_gradients(self, step: int) -> np.ndarray:
        """The gradient of each batch's loss (rows: :meth:`batches`; no weight-decay term) at checkpoint ``step``,
        float64 (cached)."""
        key = ("batch_gradients", int(step))
        if key not in self._cache:
            net, data = self.net(), self.data()
            theta = torch.as_tensor(self.theta(step), dtype=torch.float64, device=self.device)
            rows = []
            for idx in self.batches():
                loss_fn = net.flat_loss(data.rows(idx), "cross_entropy")
                rows.append(torch.func.grad(loss_fn)(theta).detach().to("cpu", torch.float64).numpy())
            self._cache[key] = np.array(rows)
        return self._cache[key]

    def gradient(self, step: int) -> np.ndarray:
        """The full-data gradient (no weight-decay term) at checkpoint ``step`` (float64)."""
        theta = torch.as_tensor(self.theta(step), dtype=torch.float64, device=self.device)
        loss_fn = self.net().flat_loss(self.data(), "cross_entropy")
        return torch.func.grad(loss_fn)(theta).detach().to("cpu", torch.float64).numpy()


def _root(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("seed", seed, "must be a non-negative integer or a SeedSequence", "pass e.g. seed=0")
    return np.random.SeedSequence(int(seed))


def sgd(net: DeepNet, params, data: Dataset, setup: CliffSetup, batch_gen: torch.Generator, callback):
    """Heavy-ball SGD of ``setup`` from ``params`` on batches drawn with ``batch_gen``: ``callback(t, params)``
    after ``t`` steps (``t = 0 .. total``); returns the per-step learning rates.  The arithmetic of
    :func:`verify.engines.deepnet.train` (see the module docstring)."""
    return heavy_ball(net, params, data, setup.lrs[0], setup.total, _options(setup), batch_gen, callback)


def heavy_ball(net: DeepNet, params, data: Dataset, lr: float, total: int, options: SGDOptions,
               batch_gen: torch.Generator, callback):
    """``total`` steps of :func:`verify.engines.deepnet.train`'s heavy-ball SGD (``lr`` times ``options``' drop
    factors, its batch size, momentum and weight decay, cross-entropy) with ``torch.autograd.grad``, and no
    full-data loss unless ``callback(t, params)`` computes one (``t = 0 .. total``); returns the per-step learning
    rates."""
    params = tuple(p.detach().clone() for p in params)
    bufs, lrs = None, np.empty(total)
    callback(0, params)
    for t, (xb, _, lb) in enumerate(_batches(data, options.batch_size, total, batch_gen)):
        rate = lr * options.factor_at(t)
        live = tuple(p.requires_grad_(True) for p in params)
        grads = torch.autograd.grad(net.loss(live, xb, lb, "cross_entropy"), live)
        with torch.no_grad():
            if options.weight_decay:
                grads = tuple(g + options.weight_decay * p for g, p in zip(grads, params))
            bufs = grads if bufs is None else tuple(options.momentum * b + g for b, g in zip(bufs, grads))
            params = tuple(p.detach() - rate * b for p, b in zip(params, bufs))
        lrs[t] = rate
        callback(t + 1, params)
    return lrs


def train_cliff(setup: CliffSetup, seed: int | np.random.SeedSequence = 0, device: str = "cpu") -> CliffRun:
    """Train the network of ``setup`` from ``seed`` and measure it (see the module docstring)."""
    device = resolve_device(device)
    root = _root(seed)
    train_seq, lanczos_seq, batch_seq = root.spawn(3)
    net, data = cliff_net(setup, device), cliff_data(setup, device)
    measured, kept, sharp = set(setup.measured), set(setup.checkpoints), set(setup.sharpness_steps)
    averaged = {s: cut for k, cut in enumerate(setup.cuts) for s in setup.average_steps(k)}
    windowed = {s: cut for k, cut in enumerate(setup.cuts) for s in setup.end_steps(k)}
    saved, thetas = {}, {}
    sums = {(kind, cut): [None, 0] for cut in setup.cuts for kind in ("talk", "window")}

    def grab(step, params):
        for kind, where in (("talk", averaged), ("window", windowed)):
            if step in where:
                total = sums[kind, where[step]]
                flat = net.flatten(params).detach().to("cpu", torch.float64)
                total[0] = flat.clone() if total[0] is None else total[0] + flat
                total[1] += 1
        if step in measured or step in kept:
            flat = net.flatten(params).detach().clone()
            if step in measured:
                saved[step] = flat
            if step in kept:
                thetas[step] = flat.to("cpu", torch.float64).numpy().copy()

    init_gen, batch_gen = seed_streams(train_seq)
    lrs = sgd(net, net.init(init_gen), data, setup, batch_gen, grab)
    loss_fn = net.flat_loss(data, "cross_entropy")
    lanczos_seed = int(lanczos_seq.generate_state(1)[0])
    steps = np.array(sorted(saved))
    loss, tops, res, products = [], [], [], 0
    for step in steps:
        with torch.no_grad():
            loss.append(float(loss_fn(saved[step])))
        if not np.isfinite(loss[-1]):
            raise InputError("setup", setup, f"diverged (loss {loss[-1]} after {step} steps)",
                             "lower the learning rates")
        if step not in sharp:
            tops.append(np.nan)
            res.append(np.nan)
            continue
        values, residuals, _, count = lanczos_top(TorchHessian(loss_fn, saved[step]), 1, lanczos_seed,
                                                  tol=LANCZOS_TOL)
        tops.append(float(values[0]))
        res.append(float(residuals[0]))
        products += count
    accuracy = {}
    for step, theta in thetas.items():
        params = net.unflatten(torch.as_tensor(theta, dtype=TRAIN_DTYPE, device=device))
        with torch.no_grad():
            accuracy[step] = float((net.forward(params, data.x).argmax(1) == data.labels).double().mean())
    return CliffRun(setup, {"entropy": int(root.entropy), "spawn_key": list(root.spawn_key)}, steps,
                    np.array(loss), np.array(tops), np.array(res), lrs, thetas, accuracy, products, device,
                    int(batch_seq.generate_state(1)[0]),
                    {cut: (total / count).numpy() for (kind, cut), (total, count) in sums.items() if kind == "talk"},
                    {cut: (total / count).numpy() for (kind, cut), (total, count) in sums.items() if kind == "window"})


def memorising_curve(setup, seed: int, device: str = "cpu") -> tuple[np.ndarray, dict]:
    """The training of :func:`verify.noisy_quadratic.spectrum_training.train_and_measure` (the earlier Q3 set-up, a
    :class:`~verify.noisy_quadratic.spectrum_setup.SpectrumSetup`; the same seed streams, and the arithmetic of
    :func:`verify.engines.deepnet.train` by :func:`heavy_ball`, 3-4 times faster) without its spectra: the
    full-data loss after every step and the training accuracy at each learning-rate drop.  The post-cut claims
    measure the talk's preconditions on it and on the full-batch set-up."""
    device = resolve_device(device)
    net = DeepNet(64, 10, setup.depth, setup.width, activation="gelu", dtype=TRAIN_DTYPE, device=device,
                  notify=None)
    data = digits(dtype=TRAIN_DTYPE, device=device)
    drops = {int(d) for d in setup.drops}
    losses, accuracy = np.empty(setup.steps + 1), {}

    def grab(step, params):
        with torch.no_grad():
            logits = net.forward(params, data.x)
            losses[step] = float(torch.nn.functional.cross_entropy(logits, data.labels))
            if step in drops:
                accuracy[step] = float((logits.argmax(1) == data.labels).double().mean())

    train_seq, _ = np.random.SeedSequence(seed).spawn(2)
    params0 = net.init(train_seq)
    # train_and_measure passes train_seq to net.init and then to train, and each spawns children of the (stateful)
    # SeedSequence: the batches come from its second pair of children, so here too
    _, batch_gen = seed_streams(train_seq)
    heavy_ball(net, params0, data, setup.lr, setup.steps, setup.options, batch_gen, grab)
    return losses, accuracy
