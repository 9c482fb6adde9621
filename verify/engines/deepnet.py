"""Fully connected networks (bias-free by default), trained by SGD, in a functional PyTorch style.

A network is described by a frozen :class:`DeepNet` (depth = number of
weight layers, width, activation, dtype, device, biases or not); its
parameters are a tuple of weight matrices ``W_1 .. W_d`` (``W_l`` of shape
fan_out x fan_in) and ``f(x) = W_d s(W_(d-1) ... s(W_1 x))`` in standard
parameterisation. Hidden layers start He-normal (variance ``2 / fan_in``), the
last layer with variance ``1 / fan_in`` or exactly zero. With ``bias=True``
each weight matrix is followed in the tuple by its bias vector ``b_l``
(``f(x) = W_d s(... s(W_1 x + b_1) ...) + b_d``), which starts at zero; the
weights are drawn exactly as without biases, so the two networks start from
the same weights.

Because the forward pass is a pure function of the parameter tuple,
:func:`torch.func.grad` and :func:`torch.func.vmap` apply to it directly:
:func:`train_many` trains ``k`` copies with ``k`` learning rates in one
vectorised pass over stacked parameters, and :meth:`DeepNet.flat_loss` gives
the loss as a function of one flat vector for the Hessian toolkit
(:mod:`verify.hessian`).

Randomness: one ``numpy.random.SeedSequence(seed)`` is split by
:func:`seed_streams` into an initialisation child and a batch-order child,
each seeding a CPU ``torch.Generator``; the same seed gives bit-identical
runs (on one device and thread count).

SGD follows PyTorch's ``torch.optim.SGD`` without dampening or Nesterov:
``g = grad + wd * theta``, ``v' = gamma v + g``, ``theta' = theta - lr v'``.

References
----------
He, K., Zhang, X., Ren, S. and Sun, J. (2015). Delving deep into rectifiers.
ICCV (the variance ``2 / fan_in``).
Kalra, D. S. and Barkeshli, M. (2023). Phase diversity of early training
dynamics. arXiv:2302.12250 (networks without bias, MSE over batch x classes).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch.func import grad_and_value, vmap

from theory.errors import InputError

from .datasets import Dataset
from .layers import layer_shapes, parameter_shapes
from ..devices import DEVICES

__all__ = ["ACTIVATIONS", "LOSSES", "DEVICES", "resolve_device", "seed_streams", "DeepNet", "SGDOptions",
           "TrainResult", "ManyResult", "train", "train_many", "mse_loss", "cross_entropy_loss"]

Params = tuple[torch.Tensor, ...]

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "gelu": torch.nn.functional.gelu,
}


def mse_loss(f: torch.Tensor, y_onehot: torch.Tensor) -> torch.Tensor:
    """``0.5 * mean((f - y)^2)``, the mean taken over the batch and the classes."""
    return 0.5 * torch.mean((f - y_onehot) ** 2)


def cross_entropy_loss(f: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the logits ``f`` against integer ``labels``."""
    return torch.nn.functional.cross_entropy(f, labels)


#: loss name -> (function, which target of a :class:`Dataset` it takes)
LOSSES: dict[str, tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], str]] = {
    "mse": (mse_loss, "y_onehot"),
    "cross_entropy": (cross_entropy_loss, "labels"),
}


def _check_choice(field_name: str, value, choices) -> None:
    if value not in choices:
        raise InputError(field_name, value, "unknown choice", f"use one of {', '.join(map(str, choices))}")


def resolve_device(name: str, notify: Callable[[str], object] | None = print) -> str:
    """The device to run on: ``name``, or ``"cpu"`` with a one-line notice when CUDA is asked for but absent."""
    _check_choice("device", name, DEVICES)
    if name == "cuda" and not torch.cuda.is_available():
        if notify is not None:
            notify("CUDA is not available: running on the CPU")
        return "cpu"
    return name


def _generator(seq: np.random.SeedSequence) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(int(seq.generate_state(1, dtype=np.uint64)[0]))


def seed_streams(seed: int | np.random.SeedSequence) -> tuple[torch.Generator, torch.Generator]:
    """``(init, batches)``: CPU generators seeded from the two children of ``SeedSequence(seed)``."""
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    init, batches = seq.spawn(2)
    return _generator(init), _generator(batches)


@dataclass(frozen=True)
class DeepNet:
    """A fully connected network: ``depth`` weight layers, hidden ``width``, ``activation``, biases if ``bias``.

    ``device`` is resolved on construction (``"cuda"`` without a GPU becomes
    ``"cpu"`` with a one-line notice through ``notify``).
    """

    in_dim: int
    out_dim: int
    depth: int
    width: int
    activation: str = "relu"
    zero_last_layer: bool = False
    dtype: torch.dtype = torch.float32
    device: str = "cpu"
    notify: Callable[[str], object] | None = field(default=print, repr=False, compare=False)
    bias: bool = False

    def __post_init__(self):
        if not isinstance(self.bias, (bool, np.bool_)):
            raise InputError("bias", self.bias, "must be True or False", "pass bias=True for biases")
        for name in ("in_dim", "out_dim", "depth", "width"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise InputError(name, value, "must be a positive integer", f"pass {name} >= 1")
        _check_choice("activation", self.activation, tuple(ACTIVATIONS))
        _check_choice("dtype", self.dtype, (torch.float32, torch.float64))
        object.__setattr__(self, "device", resolve_device(self.device, self.notify))

    @property
    def shapes(self) -> tuple[tuple[int, int], ...]:
        """``(fan_out, fan_in)`` of each weight matrix, first layer first."""
        return layer_shapes(self.in_dim, self.out_dim, self.depth, self.width)

    @property
    def param_shapes(self) -> tuple[tuple[int, ...], ...]:
        """The shapes of the parameter tuple: :attr:`shapes`, each weight followed by its bias with ``bias``."""
        return parameter_shapes(self.in_dim, self.out_dim, self.depth, self.width, self.bias)

    @property
    def size(self) -> int:
        """The number of parameters."""
        return sum(int(np.prod(s)) for s in self.param_shapes)

    def init(self, seed: int | np.random.SeedSequence | torch.Generator) -> Params:
        """Initial weights: He-normal hidden layers, last layer ``N(0, 1/fan_in)`` or zero.

        ``seed`` is a root seed (its initialisation child is used, see
        :func:`seed_streams`) or a CPU ``torch.Generator``. The draws are made
        in float64 on the CPU and then cast, so float32 and float64 networks
        and every device start from the same weights up to rounding.
        """
        gen = seed if isinstance(seed, torch.Generator) else seed_streams(seed)[0]
        out = []
        for layer, (fan_out, fan_in) in enumerate(self.shapes):
            last = layer == self.depth - 1
            z = torch.randn((fan_out, fan_in), generator=gen, dtype=torch.float64)
            if last and self.zero_last_layer:
                z = torch.zeros_like(z)
            std = np.sqrt((1.0 if last else 2.0) / fan_in)
            out.append((std * z).to(dtype=self.dtype, device=self.device))
            if self.bias:
                out.append(torch.zeros(fan_out, dtype=self.dtype, device=self.device))
        return tuple(out)

    def forward(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """``f(x)`` for rows ``x`` (n x in_dim): n x out_dim."""
        act = ACTIVATIONS[self.activation]
        h = x
        if self.bias:
            for W, b in zip(params[0:-2:2], params[1:-2:2]):
                h = act(h @ W.T + b)
            return h @ params[-2].T + params[-1]
        for W in params[:-1]:
            h = act(h @ W.T)
        return h @ params[-1].T

    def loss(self, params: Params, x: torch.Tensor, target: torch.Tensor, kind: str = "mse") -> torch.Tensor:
        """The loss ``kind`` (see :data:`LOSSES`) of the network on ``(x, target)``."""
        return LOSSES[kind][0](self.forward(params, x), target)

    def dataset_loss(self, params: Params, data: Dataset, kind: str = "mse") -> torch.Tensor:
        """The loss on a whole :class:`Dataset`, with the target that ``kind`` takes."""
        _check_choice("loss", kind, tuple(LOSSES))
        return self.loss(params, data.x, getattr(data, LOSSES[kind][1]), kind)

    def flatten(self, params: Params) -> torch.Tensor:
        """The parameters as one vector (layer by layer, row-major; a layer's bias after its weights)."""
        return torch.cat([W.reshape(-1) for W in params])

    def unflatten(self, theta: torch.Tensor) -> Params:
        """The inverse of :meth:`flatten` (views into ``theta``, differentiable)."""
        if theta.shape != (self.size,):
            raise InputError("theta", tuple(theta.shape), f"expected a vector of {self.size} parameters",
                             "pass the output of flatten()")
        shapes = self.param_shapes
        sizes = [int(np.prod(s)) for s in shapes]
        return tuple(p.view(shape) for p, shape in zip(torch.split(theta, sizes), shapes))

    def flat_loss(self, data: Dataset, kind: str = "mse") -> Callable[[torch.Tensor], torch.Tensor]:
        """``theta -> loss`` on ``data`` for a flat parameter vector (for Hessian-vector products)."""
        _check_choice("loss", kind, tuple(LOSSES))
        x, target = data.x, getattr(data, LOSSES[kind][1])
        return lambda theta: self.loss(self.unflatten(theta), x, target, kind)


@dataclass(frozen=True)
class SGDOptions:
    """SGD settings shared by :func:`train` and :func:`train_many`.

    ``batch_size`` None means full batch; mini-batches are drawn without
    replacement, a fresh permutation each epoch, an incomplete last batch
    dropped. ``drops`` is a tuple of ``(step, factor)``: from step ``step``
    (0-based) on, the learning rate is multiplied by ``factor`` (drops
    compound). A run is flagged as diverged when the full-training loss is
    non-finite or above ``divergence_threshold``, and stops there.
    """

    batch_size: int | None = None
    momentum: float = 0.0
    weight_decay: float = 0.0
    drops: tuple[tuple[int, float], ...] = ()
    loss: str = "mse"
    divergence_threshold: float = 1e5

    def __post_init__(self):
        _check_choice("loss", self.loss, tuple(LOSSES))
        if self.batch_size is not None and (int(self.batch_size) != self.batch_size or self.batch_size < 1):
            raise InputError("batch_size", self.batch_size, "must be a positive integer or None",
                             "pass batch_size >= 1, or None for full batch")
        if not 0 <= self.momentum < 1:
            raise InputError("momentum", self.momentum, "must lie in [0, 1)", "pass 0 <= momentum < 1")
        if self.weight_decay < 0:
            raise InputError("weight_decay", self.weight_decay, "must be >= 0", "pass weight_decay >= 0")
        for step, factor in self.drops:
            if step < 0 or not factor > 0:
                raise InputError("drops", self.drops, "each drop is (step >= 0, factor > 0)",
                                 "pass e.g. ((1500, 0.1), (2250, 0.1))")
        if not self.divergence_threshold > 0:
            raise InputError("divergence_threshold", self.divergence_threshold, "must be > 0", "pass e.g. 1e5")

    def factor_at(self, step: int) -> float:
        """The product of the drop factors in force at ``step``."""
        return float(np.prod([f for s, f in self.drops if s <= step])) if self.drops else 1.0


def _batches(data: Dataset, batch_size: int | None, steps: int, gen: torch.Generator):
    """Yield ``steps`` (x, y_onehot, labels) batches in the order fixed by ``gen``."""
    if batch_size is None or batch_size == data.n:
        for _ in range(steps):
            yield data.x, data.y_onehot, data.labels
        return
    if batch_size > data.n:
        raise InputError("batch_size", batch_size, f"exceeds the {data.n} training samples",
                         f"pass batch_size <= {data.n} or None for full batch")
    per_epoch = data.n // batch_size
    done = 0
    while done < steps:
        perm = torch.randperm(data.n, generator=gen).to(data.x.device)
        for b in range(min(per_epoch, steps - done)):
            idx = perm[b * batch_size:(b + 1) * batch_size]
            yield data.x[idx], data.y_onehot[idx], data.labels[idx]
        done += per_epoch


@dataclass(frozen=True)
class TrainResult:
    """One SGD run.

    ``losses[t]`` is the full-training loss after ``t`` steps (``losses[0]``
    at initialisation); ``batch_losses[t]`` the loss of the batch used at step
    ``t`` (before its update); ``lrs[t]`` the learning rate of step ``t``.
    ``diverged_at`` is the first ``t`` at which the loss was non-finite or above
    the threshold; ``stopped_at`` the step at which the callback asked to stop.
    """

    params: Params
    losses: np.ndarray
    batch_losses: np.ndarray
    lrs: np.ndarray
    diverged: bool
    diverged_at: int | None
    stopped_at: int | None
    seed: int | None


def _check_data(net: DeepNet, data: Dataset) -> None:
    if data.x.dtype != net.dtype or data.x.device.type != torch.device(net.device).type or data.dim != net.in_dim:
        raise InputError("data", f"{data.name} ({data.x.dtype}, {data.x.device}, dim {data.dim})",
                         f"does not match the network ({net.dtype}, {net.device}, in_dim {net.in_dim})",
                         "build the data set with the network's dtype and device, e.g. digits(dtype=net.dtype)")


def _is_divergent(value: float, threshold: float) -> bool:
    return not np.isfinite(value) or value > threshold


def train(net: DeepNet, params0: Params, data: Dataset, lr: float, steps: int, options: SGDOptions = SGDOptions(),
          seed: int | np.random.SeedSequence = 0,
          callback: Callable[[int, Params, float], object] | None = None) -> TrainResult:
    """``steps`` SGD steps from ``params0`` at learning rate ``lr`` (times the drop factors).

    The batch order comes from the batch child of ``seed`` (:func:`seed_streams`).
    ``callback(t, params, loss)`` runs at ``t = 0`` and after every step with
    the full-training loss; a truthy return value stops the run.
    """
    if not lr > 0:
        raise InputError("lr", lr, "must be > 0", "pass a positive learning rate")
    if int(steps) != steps or steps < 0:
        raise InputError("steps", steps, "must be a non-negative integer", "pass steps >= 0")
    _check_data(net, data)
    kind, target = options.loss, LOSSES[options.loss][1]
    _, batch_gen = seed_streams(seed)
    params = tuple(p.detach().clone() for p in params0)
    bufs = None
    grad_fn = grad_and_value(lambda p, xb, tb: net.loss(p, xb, tb, kind))
    losses = [float(net.dataset_loss(params, data, kind))]
    batch_losses, lrs = [], []
    diverged_at = 0 if _is_divergent(losses[0], options.divergence_threshold) else None
    stopped_at = 0 if callback is not None and callback(0, params, losses[0]) else None
    if diverged_at is None and stopped_at is None:
        for t, (xb, yb, lb) in enumerate(_batches(data, options.batch_size, steps, batch_gen)):
            rate = lr * options.factor_at(t)
            grads, value = grad_fn(params, xb, yb if target == "y_onehot" else lb)
            if options.weight_decay:
                grads = tuple(g + options.weight_decay * p for g, p in zip(grads, params))
            bufs = grads if bufs is None else tuple(options.momentum * b + g for b, g in zip(bufs, grads))
            params = tuple(p - rate * b for p, b in zip(params, bufs))
            batch_losses.append(float(value))
            lrs.append(rate)
            losses.append(float(net.dataset_loss(params, data, kind)))
            if _is_divergent(losses[-1], options.divergence_threshold):
                diverged_at = t + 1
                break
            if callback is not None and callback(t + 1, params, losses[-1]):
                stopped_at = t + 1
                break
    return TrainResult(params, np.array(losses), np.array(batch_losses), np.array(lrs), diverged_at is not None,
                       diverged_at, stopped_at, seed if isinstance(seed, int) else None)


@dataclass(frozen=True)
class ManyResult:
    """``k`` SGD runs at learning rates ``lrs`` on the same batches, trained in one vectorised pass.

    ``losses`` is k x (steps + 1) (NaN after a copy diverged; the divergent
    loss itself is kept), ``batch_losses`` k x steps, ``diverged_at`` per copy
    (-1 where it never diverged); ``params`` stacked (leading axis k; a
    diverged copy is frozen at its first divergent parameters).
    """

    params: Params
    lrs: np.ndarray
    losses: np.ndarray
    batch_losses: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    seed: int | None


def train_many(net: DeepNet, params0: Params, data: Dataset, lrs: Sequence[float], steps: int,
               options: SGDOptions = SGDOptions(), seed: int | np.random.SeedSequence = 0) -> ManyResult:
    """``k = len(lrs)`` copies of :func:`train` from the same ``params0`` and batches, in one vmapped pass.

    Each copy follows the same arithmetic as :func:`train` with its own
    learning rate (equal up to the round-off of the batched matrix products).
    A copy that diverges is frozen and records NaN afterwards.
    """
    lrs = np.asarray(lrs, dtype=float)
    if lrs.ndim != 1 or lrs.size == 0 or not np.all(lrs > 0):
        raise InputError("lrs", lrs.tolist(), "must be a non-empty list of positive learning rates",
                         "pass e.g. [0.1, 0.2, 0.4]")
    if int(steps) != steps or steps < 0:
        raise InputError("steps", steps, "must be a non-negative integer", "pass steps >= 0")
    _check_data(net, data)
    k = lrs.size
    kind, target = options.loss, LOSSES[options.loss][1]
    _, batch_gen = seed_streams(seed)
    params = tuple(p.detach().unsqueeze(0).repeat((k,) + (1,) * p.dim()) for p in params0)
    rate0 = torch.as_tensor(lrs, dtype=net.dtype, device=net.device)
    grad_fn = vmap(grad_and_value(lambda p, xb, tb: net.loss(p, xb, tb, kind)), in_dims=(0, None, None))
    full_loss = vmap(lambda p: net.dataset_loss(p, data, kind))

    def shaped(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return v.view((k,) + (1,) * (like.dim() - 1))

    losses = np.full((k, steps + 1), np.nan)
    batch_losses = np.full((k, steps), np.nan)
    losses[:, 0] = full_loss(params).cpu().numpy()
    diverged_at = np.where([_is_divergent(v, options.divergence_threshold) for v in losses[:, 0]], 0, -1)
    active = torch.as_tensor(diverged_at < 0, device=net.device)
    bufs = None
    for t, (xb, yb, lb) in enumerate(_batches(data, options.batch_size, steps, batch_gen)):
        if not bool(active.any()):
            break
        grads, value = grad_fn(params, xb, yb if target == "y_onehot" else lb)
        if options.weight_decay:
            grads = tuple(g + options.weight_decay * p for g, p in zip(grads, params))
        bufs = grads if bufs is None else tuple(options.momentum * b + g for b, g in zip(bufs, grads))
        rate = rate0 * options.factor_at(t)
        params = tuple(torch.where(shaped(active, p), p - shaped(rate, p) * b, p) for p, b in zip(params, bufs))
        live = active.cpu().numpy()
        batch_losses[live, t] = value.detach().cpu().numpy()[live]
        now = full_loss(params).cpu().numpy()
        losses[live, t + 1] = now[live]
        newly = live & np.array([_is_divergent(v, options.divergence_threshold) for v in now])
        diverged_at[newly] = t + 1
        active = active & torch.as_tensor(~newly, device=net.device)
    return ManyResult(params, lrs, losses, batch_losses, diverged_at >= 0, diverged_at,
                      seed if isinstance(seed, int) else None)
