"""The data sets of the deep-network engine: digits standardised per sample, the seeded synthetic teacher set."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from theory.errors import InputError
from verify.engines.datasets import digits, synthetic

#: per-row mean and std are computed in float64 from 64 values: round-off ~1e-15.
ROW_ATOL = 1e-12


def test_digits_are_standardised_per_sample_with_consistent_targets():
    data = digits(dtype=torch.float64)
    assert (data.n, data.dim, data.classes) == (1797, 64, 10)
    x = data.x.numpy()
    assert np.abs(x.mean(axis=1)).max() < ROW_ATOL
    assert np.abs(x.std(axis=1) - 1).max() < ROW_ATOL
    assert torch.equal(data.y_onehot.argmax(dim=1), data.labels)
    assert torch.equal(data.y_onehot.sum(dim=1), torch.ones(data.n, dtype=torch.float64))
    assert "not CIFAR-10" in data.description
    # negative control: the raw pixels fail the same check
    raw = digits(standardise=False, dtype=torch.float64).x.numpy()
    assert np.abs(raw.mean(axis=1)).max() > 1
    assert digits().x.dtype == torch.float32


def test_synthetic_set_is_seeded_learnable_and_uses_every_class():
    a, b, c = synthetic(500, 6, 4, seed=3), synthetic(500, 6, 4, seed=3), synthetic(500, 6, 4, seed=4)
    assert torch.equal(a.x, b.x) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.x, c.x)
    counts = np.bincount(a.labels.numpy(), minlength=4)
    assert counts.min() > 0.05 * 500, counts           # no class starved by the centred teacher
    assert torch.equal(a.y_onehot.argmax(dim=1), a.labels)
    with pytest.raises(InputError, match="classes"):
        synthetic(10, 3, 1, seed=0)


def test_rows_and_resampling():
    data = synthetic(50, 3, 3, seed=0)
    sub = data.resample(200, seed=1)
    assert sub.n == 200 and torch.equal(sub.x, data.resample(200, seed=1).x)
    assert not torch.equal(sub.x, data.resample(200, seed=2).x)
    # every resampled row is a row of the set with its own label
    idx = [int(np.flatnonzero((data.x == row).all(dim=1).numpy())[0]) for row in sub.x[:20]]
    assert torch.equal(data.labels[idx], sub.labels[:20])
