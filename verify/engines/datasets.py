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

__all__ = ["Dataset", "digits", "synthetic"]


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


def digits(standardise: bool = True, dtype: torch.dtype = torch.float32, device: str = "cpu") -> Dataset:
    """scikit-learn's bundled digits: 1797 samples of 64 pixels, 10 classes.

    With ``standardise`` each sample (row) is shifted to mean 0 and scaled to
    standard deviation 1 over its own 64 pixels, as Kalra and Barkeshli do for
    images; otherwise the raw pixel values 0..16 are kept. No sample of the set
    is constant, so the division is safe.
    """
    from sklearn.datasets import load_digits

    raw = load_digits()
    x = np.asarray(raw.data, dtype=float)
    if standardise:
        x = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
    how = "each sample standardised to mean 0, std 1" if standardise else "raw pixels 0..16"
    return _build(x, np.asarray(raw.target), 10, "digits",
                  f"scikit-learn digits (1797 x 64, 10 classes; {how}), not CIFAR-10", dtype, device)


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
