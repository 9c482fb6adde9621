"""Classification data sets for the deep-network engine: scikit-learn's digits and a seeded synthetic set.

Both return a :class:`Dataset` of tensors: inputs ``x`` (n x dim), one-hot
targets ``y_onehot`` (n x classes, for the mean-squared error) and integer
``labels`` (n, for the cross-entropy), with a name and a one-line
description to quote in reports (the data differ from the papers' CIFAR-10,
and every report must say which data it used).

References
----------
Alpaydin, E. and Kaynak, C. (1998). Optical recognition of handwritten digits.
UCI Machine Learning Repository (the copy bundled with scikit-learn,
``sklearn.datasets.load_digits``: 1797 images of 8 x 8 pixels, 10 classes).
Kalra, D. S. and Barkeshli, M. (2023). Phase diversity of early training
dynamics. arXiv:2302.12250 (per-sample standardisation of the images).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from theory.errors import InputError

__all__ = ["Dataset", "STANDARDISATIONS", "digits", "noisy_labels", "synthetic"]


@dataclass(frozen=True)
class Dataset:
    """A classification set: ``x`` (n x dim), ``y_onehot`` (n x classes), ``labels`` (n,), name, description."""

    x: torch.Tensor
    y_onehot: torch.Tensor
    labels: torch.Tensor
    name: str
    description: str

    def __post_init__(self):
        n = self.x.shape[0]
        if self.y_onehot.shape[0] != n or self.labels.shape[0] != n:
            raise InputError("Dataset", (tuple(self.x.shape), tuple(self.y_onehot.shape), tuple(self.labels.shape)),
                             "x, y_onehot and labels have different numbers of rows", "give one row per sample")

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def dim(self) -> int:
        return int(self.x.shape[1])

    @property
    def classes(self) -> int:
        return int(self.y_onehot.shape[1])

    def rows(self, index) -> "Dataset":
        """The rows ``index`` (a sequence or tensor of integers, repeats allowed) as a new data set."""
        idx = torch.as_tensor(np.asarray(index), dtype=torch.long, device=self.x.device)
        return Dataset(self.x[idx], self.y_onehot[idx], self.labels[idx], self.name,
                       f"{self.description}; {len(idx)} rows selected")

    def resample(self, n: int, seed: int) -> "Dataset":
        """``n`` rows drawn uniformly with replacement (``numpy.random.default_rng(SeedSequence(seed))``)."""
        if n < 1:
            raise InputError("n", n, "must be a positive number of rows", "pass n >= 1")
        idx = np.random.default_rng(np.random.SeedSequence(seed)).integers(0, self.n, size=n)
        out = self.rows(idx)
        return Dataset(out.x, out.y_onehot, out.labels, self.name,
                       f"{self.description}; {n} rows resampled with replacement (seed {seed})")


def _one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    out = np.zeros((labels.size, classes))
    out[np.arange(labels.size), labels] = 1.0
    return out


def _build(x: np.ndarray, labels: np.ndarray, classes: int, name: str, description: str, dtype, device) -> Dataset:
    kw = {"dtype": dtype, "device": device}
    return Dataset(torch.as_tensor(x, **kw), torch.as_tensor(_one_hot(labels, classes), **kw),
                   torch.as_tensor(labels, dtype=torch.long, device=device), name, description)


STANDARDISATIONS = ("sample", "feature")


def digits(standardise: bool = True, dtype: torch.dtype = torch.float32, device: str = "cpu", *,
           per: str = "sample", label_noise: float = 0.0, noise_seed: int = 0) -> Dataset:
    """scikit-learn's bundled digits: 1797 samples of 64 pixels, 10 classes.

    With ``standardise`` and ``per="sample"`` (the default) each sample (row)
    is shifted to mean 0 and scaled to standard deviation 1 over its own 64
    pixels, as Kalra and Barkeshli do for images; no sample of the set is
    constant, so the division is safe. With ``per="feature"`` each pixel
    (column) is shifted to mean 0 and scaled to standard deviation 1 over the
    1797 samples, as the talk standardises CIFAR-10 per pixel; the pixels that
    are constant over the set (three are always 0) are left at 0. Without
    ``standardise`` the raw pixel values 0..16 are kept.

    ``label_noise`` (a fraction in [0, 1)) makes the labels partly random:
    ``round(label_noise * 1797)`` samples, chosen without replacement, get a
    label drawn uniformly from the nine other classes, so that exactly that
    many labels are wrong. Both draws come from
    ``numpy.random.default_rng(SeedSequence(noise_seed))`` (choice first, then
    the new labels); the clean set does not use the seed.
    """
    from sklearn.datasets import load_digits

    _check_standardisation(per)
    if not 0 <= label_noise < 1:
        raise InputError("label_noise", label_noise, "must be a fraction in [0, 1)", "pass e.g. label_noise=0.3")
    if int(noise_seed) != noise_seed or noise_seed < 0:
        raise InputError("noise_seed", noise_seed, "must be a non-negative integer", "pass e.g. noise_seed=0")
    raw = load_digits()
    x = np.asarray(raw.data, dtype=float)
    if standardise and per == "sample":
        x = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
        how = "each sample standardised to mean 0, std 1"
    elif standardise:
        std = x.std(axis=0)
        x = np.where(std > 0, (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0), 0.0)
        how = "each pixel standardised to mean 0, std 1 over the samples (constant pixels 0)"
    else:
        how = "raw pixels 0..16"
    labels = np.asarray(raw.target).copy()
    name = "digits"
    if label_noise > 0:
        labels, flipped = noisy_labels(labels, 10, label_noise, noise_seed)
        how += f"; {flipped} labels ({label_noise:.0%}) redrawn from the other classes (seed {noise_seed})"
        name = "digits-noisy"
    return _build(x, labels, 10, name,
                  f"scikit-learn digits (1797 x 64, 10 classes; {how}), not CIFAR-10", dtype, device)


def _check_standardisation(per: str) -> None:
    if per not in STANDARDISATIONS:
        raise InputError("per", per, "unknown standardisation", f"use one of {', '.join(STANDARDISATIONS)}")


def noisy_labels(labels: np.ndarray, classes: int, fraction: float, seed: int) -> tuple[np.ndarray, int]:
    """``labels`` with ``round(fraction * n)`` of them (chosen without replacement) replaced by a class drawn
    uniformly from the ``classes - 1`` others; returns the new labels and the number replaced.  Both draws from
    ``default_rng(SeedSequence(seed))``."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    labels = np.asarray(labels).copy()
    count = int(round(fraction * labels.size))
    chosen = rng.choice(labels.size, size=count, replace=False)
    shift = rng.integers(1, classes, size=count)            # 1..classes-1: never the old class
    labels[chosen] = (labels[chosen] + shift) % classes
    return labels, count


def synthetic(n: int, dim: int, classes: int, seed: int, teacher_width: int = 64,
              dtype: torch.dtype = torch.float32, device: str = "cpu") -> Dataset:
    """A seeded synthetic classification set labelled by a random ReLU teacher.

    Inputs are standard Gaussian, ``x ~ N(0, I_dim)``; the label of ``x`` is
    ``argmax_c (V h(x))_c`` with centred teacher features
    ``h_j(x) = relu(u_j . x) - |u_j| / sqrt(2 pi)`` (the subtracted term is
    ``E relu(u_j . x)`` over the input law, so that no class wins merely
    because its row of ``V`` has a large sum), a random ``U`` (``teacher_width``
    x ``dim``, entries ``N(0, 1/dim)``) and ``V`` (``classes`` x
    ``teacher_width``, entries ``N(0, 1/teacher_width)``). The labels are thus
    a deterministic, learnable, non-linear function of the inputs; the classes
    are of similar but not equal sizes. Inputs, ``U`` and ``V`` come from three
    children of ``SeedSequence(seed)``.
    """
    for field, value, low in (("n", n, 1), ("dim", dim, 1), ("classes", classes, 2), ("teacher_width", teacher_width, 1)):
        if int(value) != value or value < low:
            raise InputError(field, value, f"must be an integer >= {low}", f"pass {field} >= {low}")
    rx, ru, rv = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    x = rx.standard_normal((n, dim))
    U = ru.standard_normal((teacher_width, dim)) / np.sqrt(dim)
    V = rv.standard_normal((classes, teacher_width)) / np.sqrt(teacher_width)
    features = np.maximum(x @ U.T, 0.0) - np.linalg.norm(U, axis=1) / np.sqrt(2 * np.pi)
    labels = np.argmax(features @ V.T, axis=1)
    return _build(x, labels, classes, "synthetic",
                  f"synthetic Gaussian inputs ({n} x {dim}) labelled by a random ReLU teacher of width "
                  f"{teacher_width}, {classes} classes, seed {seed}", dtype, device)
