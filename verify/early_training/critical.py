"""Numerics of E2: the 10-step critical constants c_loss, c_sharp, c_max of a deep ReLU network.

A :class:`Problem` holds one initialisation of a bias-free fully connected
network (:class:`verify.engines.deepnet.DeepNet`, He-normal hidden layers,
last layer ``N(0, 1/fan_in)`` or zero) on a data set shipped with the
project: scikit-learn's digits (all 1797 samples, each standardised; not the
paper's CIFAR-10) or a seeded synthetic set.  It measures:

* ``lambda^H_0``: the top eigenvalue of the Hessian of the MSE
  ``0.5 * mean((f - y)^2)`` on the **whole training set** (1797 samples for
  digits; the authors use 4096 CIFAR-10 examples), by Lanczos from a seeded
  start vector; ``eta = c / lambda^H_0``;
* the run at ``c``: ``steps`` (10) SGD steps, batch 512, momentum 0, with
  the full-training loss after every step;
* the sharpness per step, only where an event needs it: the top Hessian
  eigenvalue on a **fixed measurement batch** (``measure_size`` samples drawn
  once per seed, without replacement), by Lanczos warm-started from the
  previous step's top eigenvector.  In the search's runs (``stop_on_event``)
  each step's event is *decided* rather than measured where a few Lanczos
  steps suffice (:func:`~verify.hessian.decide_top`): "above" when the top
  Ritz value (a lower bound of the sharpness) already shows the event by the
  rule below with its own residual band, "below" when an upper bound of the
  sharpness (under the premise that the warm start has an overlap of at least
  1e-3 with the top eigenvector, :mod:`verify.hessian.certify`) lies below the
  lower end ``theta_0 - r_0`` of ``lambda_0``'s band; otherwise the
  eigenvalue is converged as before.  The decided steps record the Ritz value
  (ratio and band as for a converged one) and the upper bound
  (:attr:`Run.sharpness_upper`).  The ratio ``lambda_t / lambda_0`` is
  taken on that same batch at both times, so the batch's own offset from the
  full-set curvature cancels; a fixed batch makes the ratio a function of
  the parameters alone (a fresh batch per step would add sampling noise of
  the order of the effect near ``c_sharp``).

Events (a diverged run has all three): the loss exceeds its initial value at
some step ``1..steps`` by more than its round-off (:attr:`Run.loss_band`); the
sharpness ratio exceeds 1 at some step by more than the two eigenvalues'
certified errors (their Lanczos residuals, :attr:`Run.sharpness_band`); the
run diverges (a minibatch loss above ``1e5`` or not finite, or the final
full-training loss so).  Each constant is found by :func:`boundary`: the
event is evaluated on a coarse grid ``c = 2^(x_0 + k h)`` over the bracket;
where it switches once (monotone), the cell is refined by multi-section on
``log c`` until it is narrower than the resolution; otherwise the authors'
grid ``2^(0.1 k)`` over the bracket is used and the result says so.  The
loss-only events (``c_loss``, ``c_max``) evaluate all values of ``c`` of a
pass in ONE vectorised :func:`~verify.engines.deepnet.train_many` run, and
share the coarse pass; the sharpness event runs one ``c`` at a time and
stops a run as soon as its event is seen.  Every result counts its training
runs.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from scipy.sparse.linalg import ArpackError

from theory.early_training import critical_constants as theory
from theory.errors import InputError

from ..engines.datasets import Dataset, digits, synthetic
from ..engines.deepnet import DeepNet, SGDOptions, train, train_many
from ..hessian import TorchHessian, decide_top, top_eigenpair
from ..roundoff import dot_band, rises
from .search import Boundary, Search, boundary

__all__ = ["DATASETS", "BATCH_SIZE", "Setup", "Search", "Run", "Boundary", "Problem", "boundary", "sharp_hint",
           "loss_event", "sharpness_event", "divergence_event", "measure", "load_data"]

#: the data sets a :class:`Setup` may name
DATASETS = ("digits", "synthetic")
#: the SGD batch of the authors' protocol
BATCH_SIZE = 512
#: Lanczos steps a step's sharpness decision may take before the eigenvalue is converged instead
DECIDE_STEPS = 12
#: the synthetic set: samples, input dimension, classes and data seed (fixed, so every seed trains on the same data)
SYNTHETIC_SHAPE = (2048, 64, 10, 0)
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _positive_int(name: str, value, example: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InputError(name, value, f"must be an integer >= {low}", f"use e.g. {name} {example}")
    return int(value)


@dataclass(frozen=True)
class Setup:
    """One network and data set: depth (weight layers), width, initialisation seed and the run's settings."""

    depth: int
    width: int
    seed: int = 0
    data: str = "digits"
    zero_last_layer: bool = False
    dtype: str = "float32"
    device: str = "cpu"
    steps: int = theory.STEPS
    batch_size: int = BATCH_SIZE
    measure_size: int = BATCH_SIZE

    def __post_init__(self):
        _positive_int("depth", self.depth, "4")
        _positive_int("width", self.width, "256")
        _positive_int("seed", self.seed, "0", low=0)
        _positive_int("steps", self.steps, "10")
        _positive_int("batch_size", self.batch_size, "512")
        _positive_int("measure_size", self.measure_size, "512")
        if self.data not in DATASETS:
            raise InputError("data", self.data, "unknown data set", f"use one of {', '.join(DATASETS)}")
        if self.dtype not in _DTYPES:
            raise InputError("dtype", self.dtype, "unknown dtype", f"use one of {', '.join(_DTYPES)}")

    @property
    def depth_over_width(self) -> float:
        return self.depth / self.width


@dataclass(frozen=True)
class Run:
    """One ``steps``-step run at ``c``: full-training losses (``losses[0]`` at initialisation), minibatch
    losses, the sharpness ratios on the measurement batch (empty where not measured) and divergence.

    ``loss_band`` is the relative round-off bound of a computed full-training loss
    (:meth:`Problem.loss_roundoff`); ``sharpness_band`` per measured step the bound on the error of the ratio
    ``lambda_t / lambda_0`` from the two eigenvalues' Lanczos residuals (``|lambda - theta| <= |r|`` for a
    symmetric operator): ``ratio_t (|r_t| / lambda_t + |r_0| / lambda_0)``; ``sharpness_upper`` per step the
    upper bound of ``lambda_t / theta_0`` of a step decided "below" from a few Lanczos steps (NaN where the step
    was converged or decided "above", :mod:`verify.hessian.certify`); ``decided`` the number of such steps."""

    c: float
    losses: np.ndarray
    batch_losses: np.ndarray
    sharpness: np.ndarray = field(default_factory=lambda: np.zeros(0))
    diverged: bool = False
    stopped_at: int | None = None
    products: int = 0
    loss_band: float = 0.0
    sharpness_band: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sharpness_upper: np.ndarray = field(default_factory=lambda: np.zeros(0))
    decided: int = 0

    def as_dict(self) -> dict:
        return {"c": self.c, "loss": self.losses.tolist(), "batch_loss": self.batch_losses.tolist(),
                "sharpness_ratio": self.sharpness.tolist(), "sharpness_band": self.sharpness_band.tolist(),
                "sharpness_upper": [None if math.isnan(u) else u for u in self.sharpness_upper.tolist()],
                "decided_steps": self.decided,
                "loss_band": self.loss_band, "diverged": self.diverged,
                "stopped_at": self.stopped_at, "hessian_vector_products": self.products}


def _diverged(losses: np.ndarray, batch_losses: np.ndarray) -> bool:
    bad = lambda a: bool(np.any(~np.isfinite(a) | (a > theory.DIVERGENCE_LOSS)))   # noqa: E731
    last = losses[~np.isnan(losses)][-1:] if np.any(~np.isnan(losses)) else np.array([np.nan])
    return bad(batch_losses[~np.isnan(batch_losses)]) or bad(last) or bool(np.any(np.isinf(losses)))


def loss_event(run: Run) -> bool:
    """The full-training loss exceeds its initial value by more than round-off (``run.loss_band`` of each) at some
    step 1.. (a diverged run counts)."""
    later = run.losses[1:]
    return bool(run.diverged or rises(later, run.losses[0], run.loss_band * np.abs(later),
                                      run.loss_band * abs(run.losses[0])))


def sharpness_event(run: Run) -> bool:
    """The sharpness ratio exceeds 1 by more than its error bound (``run.sharpness_band``) at some step 1.. (a
    diverged run counts)."""
    band = run.sharpness_band[1:] if len(run.sharpness_band) == len(run.sharpness) else 0.0
    return bool(run.diverged or rises(run.sharpness[1:], 1.0, band))


def divergence_event(run: Run) -> bool:
    return bool(run.diverged)


def load_data(name: str, dtype: str = "float32", device: str = "cpu") -> Dataset:
    """The training set ``name`` (:data:`DATASETS`) in ``dtype`` on ``device``."""
    if name not in DATASETS:
        raise InputError("data", name, "unknown data set", f"use one of {', '.join(DATASETS)}")
    if name == "digits":
        return digits(dtype=_DTYPES[dtype], device=device)
    n, dim, classes, data_seed = SYNTHETIC_SHAPE
    return synthetic(n, dim, classes, data_seed, dtype=_DTYPES[dtype], device=device)


class Problem:
    """One initialisation of ``setup``: ``lambda^H_0``, runs at any ``c``, and their events (runs cached).

    Seeds: the network's weights and the SGD batch order come from the two children of
    ``SeedSequence(seed)`` (:func:`verify.engines.deepnet.seed_streams`); the measurement batch from
    ``SeedSequence(seed, spawn_key=(2,))``; the Lanczos start vectors from ``SeedSequence(seed, spawn_key=(3,))``
    (full set) and ``(4,)`` (measurement batch).
    """

    def __init__(self, setup: Setup, notify: Callable[[str], object] | None = print, data: Dataset | None = None,
                 decide: bool = True):
        self.setup = setup
        #: decide each step's sharpness event from a few Lanczos steps where they suffice (False: always converge)
        self.decide = decide
        s = setup
        self.net = DeepNet(0 + (data.dim if data else 64 if s.data == "digits" else SYNTHETIC_SHAPE[1]),
                           10, s.depth, s.width, zero_last_layer=s.zero_last_layer, dtype=_DTYPES[s.dtype],
                           device=s.device, notify=notify)
        self.data = data if data is not None else load_data(s.data, s.dtype, self.net.device)
        if s.batch_size > self.data.n or s.measure_size > self.data.n:
            raise InputError("batch_size", max(s.batch_size, s.measure_size),
                             f"exceeds the {self.data.n} training samples", f"use at most {self.data.n}")
        self.params0 = self.net.init(s.seed)
        self.options = SGDOptions(batch_size=s.batch_size, momentum=0.0, loss="mse",
                                  divergence_threshold=math.inf)
        rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(2,)))
        self.measure_batch = self.data.rows(np.sort(rng.permutation(self.data.n)[:s.measure_size]))
        theta0 = self.net.flatten(self.params0)
        self.top0 = top_eigenpair(TorchHessian(self.net.flat_loss(self.data), theta0), seed=_spawn(s.seed, 3))
        self.lambda0 = self.top0.value
        self.measure0 = top_eigenpair(TorchHessian(self.net.flat_loss(self.measure_batch), theta0),
                                      seed=_spawn(s.seed, 4))
        if not self.lambda0 > 0:
            raise InputError("setup", s, f"has a non-positive top Hessian eigenvalue {self.lambda0}",
                             "choose another seed or width")
        self.runs = 0
        self._loss_runs: dict[float, Run] = {}
        self._sharp_runs: dict[tuple, Run] = {}

    def lr(self, c: float) -> float:
        return float(c) / self.lambda0

    def loss_roundoff(self) -> float:
        """Relative round-off bound of a computed full-training loss ``0.5 mean((f - y)^2)``: the loss is a sum
        of ``n`` non-negative terms, each the square of an output whose every entry went through one dot
        product per layer (lengths the fan-ins); with ``k = n + sum of fan-ins`` accumulated roundings the
        relative error is at most ``gamma_k`` of the dtype (Higham, eq. 3.5; the activations' own roundings add
        one unit per layer, counted in ``k``).  float32, digits, depth 8, width 128: about 1.7e-4."""
        fan_ins = self.net.in_dim + (self.setup.depth - 1) * self.setup.width
        k = self.data.n + fan_ins + self.setup.depth
        return float(dot_band(k, 1.0, _DTYPES[self.setup.dtype]))

    def loss_runs(self, cs: Sequence[float]) -> list[Run]:
        """Runs at every ``c`` (losses only), the new ones in ONE :func:`train_many` pass."""
        new = sorted({float(c) for c in cs} - set(self._loss_runs))
        if new:
            many = train_many(self.net, self.params0, self.data, [self.lr(c) for c in new], self.setup.steps,
                              self.options, seed=self.setup.seed)
            self.runs += len(new)
            for i, c in enumerate(new):
                self._loss_runs[c] = Run(c, many.losses[i], many.batch_losses[i],
                                         diverged=_diverged(many.losses[i], many.batch_losses[i]),
                                         loss_band=self.loss_roundoff())
        return [self._loss_runs[float(c)] for c in cs]

    def run(self, c: float, *, stop_on_event: bool = False) -> Run:
        """The run at ``c`` with the sharpness ratio on the measurement batch after every step.

        ``stop_on_event`` stops after the first step whose ratio exceeds 1 (or whose loss is not finite).
        """
        key = (float(c), bool(stop_on_event))
        if key in self._sharp_runs:
            return self._sharp_runs[key]
        if not stop_on_event and (float(c), True) in self._sharp_runs:
            early = self._sharp_runs[(float(c), True)]
            if early.stopped_at is None and not early.decided:
                return early
        ratios, vector, products, uppers, decided = [1.0], [self.measure0.vector], [0], [math.nan], [0]
        theta0, r0 = self.measure0.value, abs(self.measure0.residual)
        rel0 = abs(r0 / theta0)
        bands = [2 * rel0]

        def band_of(pair) -> float:
            return ratios[-1] * (abs(pair.residual / pair.value) + rel0) if pair.value else math.inf

        def rule(theta: float, residual: float, upper: float):
            """"above": the Ritz value shows the event with its own band; "below": the sharpness's upper bound
            lies under lambda_0's lower end theta_0 - r_0; None: undecided."""
            ratio = theta / theta0
            if theta and ratio - 1 > ratio * (abs(residual / theta) + rel0):
                return "above"
            return "below" if upper <= theta0 - r0 else None

        def measure(t, params, loss):
            if t == 0:
                return False
            if not math.isfinite(loss) or loss > theory.DIVERGENCE_LOSS:
                return True          # diverged: the event holds whatever the sharpness
            h = TorchHessian(self.net.flat_loss(self.measure_batch), self.net.flatten(params))
            start = vector[0] if np.all(np.isfinite(vector[0])) and np.any(vector[0]) else None
            upper = math.nan
            try:
                pair = None
                if stop_on_event and self.decide:
                    got = decide_top(h, rule, v0=start, seed=_spawn(self.setup.seed, 4 + t), max_steps=DECIDE_STEPS,
                                     scale=theta0)
                    products[0] += got.products
                    if got.decision is not None:
                        pair, decided[0] = got, decided[0] + 1
                        upper = got.upper / theta0 if got.decision == "below" else math.nan
                    else:            # undecided: converge, warm-started from the top Ritz vector
                        start = got.vector
                if pair is None:
                    pair = top_eigenpair(h, v0=start, seed=_spawn(self.setup.seed, 4 + t))
                    products[0] += pair.products
            except (ArpackError, FloatingPointError):  # products not finite (overflowing weights): no sharpness
                ratios.append(math.nan)
                bands.append(math.nan)
                uppers.append(math.nan)
                return True
            vector[0] = pair.vector
            ratios.append(pair.value / theta0)
            bands.append(band_of(pair))
            uppers.append(upper)
            return stop_on_event and ratios[-1] - 1 > bands[-1]

        res = train(self.net, self.params0, self.data, self.lr(c), self.setup.steps, self.options,
                    seed=self.setup.seed, callback=measure)
        self.runs += 1
        out = Run(float(c), res.losses, res.batch_losses, np.array(ratios),
                  diverged=_diverged(res.losses, res.batch_losses), stopped_at=res.stopped_at, products=products[0],
                  loss_band=self.loss_roundoff(), sharpness_band=np.array(bands), sharpness_upper=np.array(uppers),
                  decided=decided[0])
        self._sharp_runs[key] = out
        return out

    def constant(self, name: str, search: Search = Search(), within: tuple | None = None,
                 progress: Callable[[str], object] | None = None) -> Boundary:
        """``"c_loss"``, ``"c_sharp"`` or ``"c_max"`` of this initialisation; ``within``: where c_sharp's coarse grid
        starts and ends (:func:`sharp_hint`; a hint, :func:`~verify.early_training.search.boundary`);
        ``progress(line)`` hears of every pass of the search (the values of c tried and whether the event held)."""
        def told(events):
            if progress is None:
                return events

            def each(cs):
                out = events(cs)
                span = f"c = {cs[0]:.4g}" if len(cs) == 1 else f"{len(cs)} values of c in [{min(cs):.4g}, {max(cs):.4g}]"
                progress(f"  {name}: {span}: event at {sum(map(bool, out))} of them ({self.runs} runs so far)")
                return out
            return each

        if name == "c_loss":
            return boundary(name, told(lambda cs: [loss_event(r) for r in self.loss_runs(cs)]), search)
        if name == "c_max":
            return boundary(name, told(lambda cs: [divergence_event(r) for r in self.loss_runs(cs)]), search,
                            last_without=True)
        if name == "c_sharp":
            return boundary(name, told(lambda cs: [sharpness_event(self.run(c, stop_on_event=True)) for c in cs]),
                            search, per_pass=1, within=within)
        raise InputError("constant", name, "unknown critical constant", "use one of c_loss, c_sharp, c_max")

    def describe(self) -> dict:
        s = self.setup
        return {**asdict(s), "depth_over_width": s.depth_over_width, "parameters": self.net.size,
                "data_description": self.data.description, "training_samples": self.data.n,
                "lambda0": self.lambda0, "lambda0_residual": self.top0.residual,
                "lambda0_converged": self.top0.converged, "lambda0_products": self.top0.products,
                "lambda0_on": f"the whole training set ({self.data.n} samples)",
                "measure_batch_lambda0": self.measure0.value,
                "sharpness_on": f"a fixed batch of {s.measure_size} samples (seed {s.seed}, spawn key 2), "
                                "Lanczos warm-started from the previous step's top eigenvector"}


def sharp_hint(c_loss: Boundary | None, c_max: Boundary | None) -> tuple | None:
    """Where c_sharp's search starts: from c_loss's cell's lower end to c_max's upper end (the first diverging c,
    where the sharpness event holds by definition); None where c_loss lies below its bracket.  The paper's order
    c_loss <= c_sharp <= c_max makes this the smallest bracket; where the data reverse it (c_sharp < c_loss at
    some initialisations, issue 20) the search extends below the hint and says so (``extended_below``)."""
    if c_loss is None or c_loss.interval is None or c_loss.interval[0] is None:
        return None
    hi = None if c_max is None or c_max.interval is None else c_max.interval[1]
    return (c_loss.interval[0], hi)


def _spawn(seed: int, key: int) -> int:
    return int(np.random.SeedSequence(seed, spawn_key=(key,)).generate_state(1)[0])


def measure(setup: Setup, search: Search = Search(), names: Sequence[str] = ("c_loss", "c_sharp", "c_max"), *,
            trajectories: bool = False, notify: Callable[[str], object] | None = print,
            problem: Problem | None = None, progress: Callable[[str], object] | None = None) -> dict:
    """The constants ``names`` of one initialisation, as a JSON-ready dict (with the runs used and the time).

    ``trajectories`` adds the per-step loss and sharpness ratio of the run at each constant found; ``notify`` hears
    the device notice, ``progress`` a line per pass of each search.
    """
    start = time.perf_counter()
    prob = problem if problem is not None else Problem(setup, notify=notify)
    found = {name: prob.constant(name, search, progress=progress) for name in names if name != "c_sharp"}
    if "c_sharp" in names:          # from the measured c_loss and c_max where they were asked for
        found["c_sharp"] = prob.constant("c_sharp", search, within=sharp_hint(found.get("c_loss"), found.get("c_max")),
                                         progress=progress)
    found = {name: found[name] for name in names}
    out = {"setup": prob.describe(), "search": asdict(search),
           **{name: b.value for name, b in found.items()},
           "scan": {name: b.as_dict() for name, b in found.items()},
           "training_runs": prob.runs}
    if trajectories:
        out["trajectories"] = {name: prob.run(b.value).as_dict() for name, b in found.items() if b.value is not None}
    out["seconds"] = time.perf_counter() - start
    return out
