"""Train a small GELU network on digits and measure its full Hessian spectrum at checkpoints (Q3).

The network is a bias-free GELU MLP (:class:`verify.engines.deepnet.DeepNet`,
64 inputs, ``depth`` weight layers of hidden ``width``, 10 outputs) trained by
SGD with heavy-ball momentum, weight decay and learning-rate drops on the
cross-entropy of scikit-learn's digits (1797 samples; not the talk's
CIFAR-10).  At each checkpoint the loss Hessian on all 1797 samples is formed
densely in float64 (:func:`verify.hessian.torch_dense_hessian`) and
diagonalised (:func:`verify.hessian.full_spectrum`); Lanczos (``eigsh`` on
exact Hessian-vector products, seeded start vector) gives the top ``k`` and
the bottom eigenvalue with their residuals, to compare with the dense values.

Training runs in float64 too (:data:`TRAIN_DTYPE`).  SGD over hundreds of
steps amplifies a difference in the last bits of one step: trained in
float32, the parameters after the default profile's 800 steps differed by
7e-5 of their largest entry between PyTorch's AVX-512 and baseline kernels
(``ATEN_CPU_CAPABILITY``), enough to move a per-batch R^2 by a quarter of its
tolerance; in float64 they differ by 5e-13, for 1.2-1.6 times the training
time (about 2 s at the default profile).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.sparse.linalg import eigsh

from theory.errors import InputError

from ..engines.datasets import digits
from ..engines.deepnet import DeepNet, resolve_device, train
from ..hessian import TorchHessian, as_operator, bottom_eigenpair, full_spectrum, torch_dense_hessian
from .spectrum_setup import SpectrumSetup

__all__ = ["SpectrumSetup", "Checkpoint", "SpectrumRun", "SharpnessTrace", "lanczos_top", "train_and_measure",
           "sharpness_trace", "TRAIN_DTYPE"]

#: the dtype of the training runs (see the module's docstring)
TRAIN_DTYPE = torch.float64


@dataclass(frozen=True)
class Checkpoint:
    """The measured spectrum after ``step`` steps: dense eigenvalues (ascending), Lanczos values and residuals.

    ``lr`` is the learning rate of the step that led here (a checkpoint at a drop's step is the end of the
    phase before it).
    """

    step: int
    lr: float
    loss: float
    accuracy: float
    values: np.ndarray                  # all eigenvalues of the dense Hessian, ascending
    top_vectors: np.ndarray             # eigenvectors (columns) of the largest eigenvalues, largest first
    bottom_vectors: np.ndarray          # eigenvectors of the smallest eigenvalues, smallest first
    lanczos_top: np.ndarray             # Lanczos top-k, largest first
    lanczos_top_residuals: np.ndarray
    lanczos_top_converged: bool
    lanczos_bottom: float
    lanczos_bottom_residual: float
    lanczos_bottom_converged: bool
    products: int
    last_layer: slice = field(default_factory=lambda: slice(0, 0))
    last_layer_values: np.ndarray = field(default_factory=lambda: np.empty(0))
    theta: np.ndarray = field(default_factory=lambda: np.empty(0))       # the parameters (float64)

    @property
    def top(self) -> float:
        return float(self.values[-1])


@dataclass(frozen=True)
class SpectrumRun:
    """A training run and the checkpoints measured on it."""

    setup: SpectrumSetup
    seed: int
    losses: np.ndarray
    lrs: np.ndarray
    checkpoints: tuple
    device: str

    def at(self, step: int) -> Checkpoint:
        for c in self.checkpoints:
            if c.step == step:
                return c
        raise InputError("checkpoint", step, "was not measured",
                         f"use one of {', '.join(str(c.step) for c in self.checkpoints)}")


def lanczos_top(hessian, k: int, seed: int, tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray, bool, int]:
    """The ``k`` largest eigenvalues (largest first) by ``eigsh`` with residuals ``|H v - lambda v|``.

    The start vector is ``default_rng(SeedSequence(seed))``'s Gaussian; the
    residuals are measured by ``k`` extra products.
    """
    op = as_operator(hessian)
    n = op.shape[0]
    start = np.random.default_rng(np.random.SeedSequence(seed)).standard_normal(n)
    values, vectors = eigsh(op, k=k, which="LA", v0=start, tol=tol, ncv=min(n, max(2 * k + 1, 20)))
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    residuals = np.array([np.linalg.norm(op.matvec(vectors[:, j]) - values[j] * vectors[:, j])
                          for j in range(k)])
    return values, residuals, True, op.products


def _measure(setup: SpectrumSetup, theta: np.ndarray, data, seed: int, device: str, keep: int,
             phase=None) -> dict:
    say = phase if phase is not None else (lambda name: None)
    net = DeepNet(64, 10, setup.depth, setup.width, activation="gelu", dtype=torch.float64, device=device,
                  notify=None)
    loss_fn = net.flat_loss(data, "cross_entropy")
    t = torch.as_tensor(theta, dtype=torch.float64, device=device)
    say(f"forming the dense {setup.size} x {setup.size} Hessian")
    H = torch_dense_hessian(loss_fn, t)
    say("diagonalising it (eigh)")
    spec = full_spectrum(H)
    hess = TorchHessian(loss_fn, t)
    say(f"Lanczos: the top {setup.k} and the bottom eigenvalue")
    top, res, conv, products = lanczos_top(hess, setup.k, seed)
    bottom = bottom_eigenpair(hess, seed=seed, tol=1e-12, ncv=40)
    last = slice(setup.size - 10 * setup.width, setup.size)
    return {"values": spec.values, "top_vectors": spec.vectors[:, ::-1][:, :keep],
            "bottom_vectors": spec.vectors[:, :keep], "lanczos_top": top, "lanczos_top_residuals": res,
            "lanczos_top_converged": conv, "lanczos_bottom": bottom.value,
            "lanczos_bottom_residual": bottom.residual, "lanczos_bottom_converged": bottom.converged,
            "products": products + bottom.products, "last_layer": last,
            "last_layer_values": full_spectrum(H[last, last], vectors=False).values,
            "loss": float(hess.loss)}


def train_and_measure(setup: SpectrumSetup, seed: int = 0, device: str = "cpu", keep: int = 10,
                      phase=None) -> SpectrumRun:
    """Train from ``SeedSequence(seed)`` (initialisation and batch order) and measure every checkpoint.

    Training runs in float64 (:data:`TRAIN_DTYPE`), as does the measurement
    of each checkpoint.  ``keep`` eigenvectors at each end are kept.  The
    Lanczos start vector is seeded from ``seed`` too (its own child).
    ``phase(name, detail=None)`` hears as each phase begins (training, each checkpoint's dense Hessian, its
    eigh and Lanczos; ``detail()`` gives the step reached): the command line's progress lines.
    """
    say = phase if phase is not None else (lambda name, detail=None: None)
    reached = [0]
    device = resolve_device(device)
    net = DeepNet(64, 10, setup.depth, setup.width, activation="gelu", dtype=TRAIN_DTYPE, device=device,
                  notify=None)
    data64 = digits(dtype=TRAIN_DTYPE, device=device)
    wanted = set(int(c) for c in setup.checkpoints)
    saved = {}

    def grab(step, params, loss):
        reached[0] = step
        if step in wanted:
            saved[step] = net.flatten(params).detach().to("cpu", torch.float64).numpy().copy()

    root = np.random.SeedSequence(seed)
    train_seq, lanczos_seq = root.spawn(2)
    say(f"training {setup.steps} steps", lambda: f"step {reached[0]} of {setup.steps}")
    result = train(net, net.init(train_seq), data64, setup.lr, setup.steps, setup.options, seed=train_seq,
                   callback=grab)
    lanczos_seed = int(lanczos_seq.generate_state(1)[0])
    checkpoints = []
    for step in sorted(saved):
        m = _measure(setup, saved[step], data64, lanczos_seed, device, keep,
                     phase=lambda name: say(f"step {step}: {name}"))
        params = net.unflatten(torch.as_tensor(saved[step], dtype=TRAIN_DTYPE, device=device))
        acc = float((net.forward(params, data64.x).argmax(1) == data64.labels).float().mean())
        checkpoints.append(Checkpoint(step=step, lr=setup.lr_at(max(step - 1, 0)), accuracy=acc, theta=saved[step],
                                      **m))
    return SpectrumRun(setup, seed, result.losses, result.lrs, tuple(checkpoints), device)


@dataclass(frozen=True)
class SharpnessTrace:
    """The top Hessian eigenvalue (Lanczos, float64, all samples) every ``every`` steps of one training run.

    ``steps``, ``lambda_max``, ``residuals`` and ``lrs`` (the learning rate of the step that led to each measured
    step) are aligned; ``losses`` is the full training loss after every step.
    """

    setup: SpectrumSetup
    seed: int
    every: int
    steps: np.ndarray
    lambda_max: np.ndarray
    residuals: np.ndarray
    lrs: np.ndarray
    losses: np.ndarray
    products: int
    device: str


def sharpness_trace(setup: SpectrumSetup, seed: int = 0, every: int = 25, device: str = "cpu") -> SharpnessTrace:
    """Train as :func:`train_and_measure` does and measure the top eigenvalue every ``every`` steps.

    Lanczos (``eigsh`` 'LA', seeded start vector, tolerance 1e-8) on exact
    float64 Hessian-vector products of the loss without the weight decay.
    """
    if int(every) != every or every < 1:
        raise InputError("every", every, "must be a positive integer", "pass e.g. every=25")
    device = resolve_device(device)
    net = DeepNet(64, 10, setup.depth, setup.width, activation="gelu", dtype=TRAIN_DTYPE, device=device,
                  notify=None)
    data = digits(dtype=TRAIN_DTYPE, device=device)
    saved = {}

    def grab(step, params, loss):
        if step % every == 0:
            saved[step] = net.flatten(params).detach().to("cpu", torch.float64).clone()

    train_seq, lanczos_seq = np.random.SeedSequence(seed).spawn(2)
    result = train(net, net.init(train_seq), data, setup.lr, setup.steps, setup.options, seed=train_seq,
                   callback=grab)
    loss_fn = net.flat_loss(data, "cross_entropy")
    lanczos_seed = int(lanczos_seq.generate_state(1)[0])
    steps, tops, res, products = sorted(saved), [], [], 0
    for step in steps:
        values, residuals, _, count = lanczos_top(TorchHessian(loss_fn, saved[step].to(device)), 1, lanczos_seed,
                                                  tol=1e-8)
        tops.append(float(values[0]))
        res.append(float(residuals[0]))
        products += count
    return SharpnessTrace(setup, seed, int(every), np.array(steps), np.array(tops), np.array(res),
                          np.array([setup.lr_at(max(s - 1, 0)) for s in steps]), result.losses, products, device)
