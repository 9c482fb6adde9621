"""Q3: the heavy-ball threshold and per-batch quadratic fits on tiny runs; controls fail (the post-cut claims:
test_nq_cliff_claims.py)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from theory.bridge import numeric
from theory.noisy_quadratic import spectrum as theory
from verify.noisy_quadratic import batchfit as bf
from verify.noisy_quadratic.claims import spectrum as q3
from verify.noisy_quadratic.context import Context
from verify.noisy_quadratic.spectrum_training import SpectrumSetup
from verify.registry import REGISTRY, Status, load_papers

from key_rules import assert_key_consistent

load_papers()
TINY = SpectrumSetup(width=8, steps=100, drops=(50, 75), checkpoints=(50, 100), k=3)


@pytest.fixture(scope="module")
def ctx():
    c = Context.make("quick")
    c.profile = dataclasses.replace(c.profile, spectrum=TINY)
    return c


def test_threshold_is_2_1_plus_gamma_over_eta():
    thr = numeric(theory.SHARPNESS_THRESHOLD, (theory.alpha, theory.gamma))
    assert float(thr(0.1, 0.9)) == pytest.approx(38.0, rel=1e-14)


def test_window_is_derived_from_slopes_and_curvature(ctx):
    run = ctx.spectrum_run()
    c = run.checkpoints[-1]
    batches = bf.batch_partition(1797, TINY.batch_size, 0)
    h = float(c.values[-1])
    fit = bf.fit_batches(TINY, c.theta, c.top_vectors[:, 0], h, batches)
    g = bf.batch_slopes(TINY, c.theta, c.top_vectors[:, 0], batches)
    assert fit.half_width == pytest.approx((abs(g.mean()) + bf.WINDOW_Z * g.std(ddof=1)) / h)
    # the size-weighted mean of equal batches' curvatures is the full-data curvature along v, up to the window
    assert fit.curvatures.mean() == pytest.approx(bf.line_derivatives(TINY, c.theta, c.top_vectors[:, 0])[1],
                                                  rel=0.2)
    # the second line derivative of the full loss along a unit eigenvector is its eigenvalue (all 1797 samples)
    assert bf.line_derivatives(TINY, c.theta, c.top_vectors[:, 0], 2)[1] == pytest.approx(h, rel=1e-8)


def test_partition_is_seeded_and_interior_minima_count_wells():
    a, b, c = bf.batch_partition(100, 32, 1), bf.batch_partition(100, 32, 1), bf.batch_partition(100, 32, 2)
    assert a.shape == (3, 32) and np.array_equal(a, b) and not np.array_equal(a, c)
    t = np.linspace(-2, 2, 41)
    assert bf._interior_minima(np.stack([t**2, t**4 - 2 * t**2])).tolist() == [1, 2]
