"""Q3: edge of stability, per-batch quadratic fits and the loss drop at a cut, on tiny runs; controls fail."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from theory.bridge import numeric
from theory.noisy_quadratic import spectrum as theory
from verify.noisy_quadratic import _batchfit as bf
from verify.noisy_quadratic import spectrum as q3
from verify.noisy_quadratic._context import Context
from verify.noisy_quadratic._spectrum import SpectrumSetup
from verify.registry import REGISTRY, Status, load_papers

from key_rules import assert_key_consistent

load_papers()
TINY = SpectrumSetup(width=8, steps=100, drops=(50, 75), checkpoints=(50, 100), k=3)
EDGE = SpectrumSetup(width=8, lr=0.2, batch_size=1797, steps=60, drops=(20, 40), checkpoints=(60,))


@pytest.fixture(scope="module")
def ctx():
    c = Context.make("quick")
    c.profile = dataclasses.replace(c.profile, spectrum=TINY, edge=EDGE, edge_every=20)
    return c


def test_edge_ratios_use_the_derived_threshold_and_the_control_fails(ctx):
    v = REGISTRY["Q3-edge-of-stability"].check(ctx)
    thr = numeric(theory.OBJECTIVE_THRESHOLD, (theory.alpha, theory.gamma, theory.wd))
    assert [r["phase"] for r in v.measured["phases"]] == [[0, 20], [20, 40], [40, 60]]
    for r in v.measured["phases"]:
        assert r["threshold"] == pytest.approx(float(thr(r["lr"], EDGE.momentum, EDGE.weight_decay)))
        assert r["ratio"] == pytest.approx(r["lambda_max"] / r["threshold"])
        assert r["lanczos_residual"] < 1e-8 * r["lambda_max"]
    assert v.key["measured"] is not None
    control = REGISTRY["Q3-edge-of-stability"].negative_control(ctx)
    assert control.status == Status.FAILED
    assert_key_consistent(v.key, v.status, "Q3-edge-of-stability")
    assert_key_consistent(control.key, control.status, "Q3-edge-of-stability (negative control)")


def test_wrong_threshold_is_19_times_lower_at_momentum_09():
    right = numeric(theory.SHARPNESS_THRESHOLD, (theory.alpha, theory.gamma))(0.1, 0.9)
    wrong = numeric(q3._effective_lr_threshold(), (theory.alpha, theory.gamma, theory.wd))(0.1, 0.9, 0.0)
    assert right / wrong == pytest.approx(19.0)


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


def test_loss_drop_reports_a_ratio_and_the_no_cut_control_fails(ctx):
    v = REGISTRY["Q3-loss-drop"].check(ctx)
    row = v.measured["drops"][0]
    assert row["drop_step"] == 50 and np.isfinite(row["ratio"]) and row["predicted_drop"] > 0
    assert v.key["measured"] == pytest.approx(row["ratio"])
    control = REGISTRY["Q3-loss-drop"].negative_control(ctx)
    assert control.status == Status.FAILED
    assert_key_consistent(v.key, v.status, "Q3-loss-drop")
    # the no-cut control predicts no drop: measured / predicted is not finite, so no margin, and why says so
    assert_key_consistent(control.key, control.status, "Q3-loss-drop (negative control)")
    assert control.key["margin"] is None and "predicted drop is not positive" in control.key["why"]


def test_partition_is_seeded_and_interior_minima_count_wells():
    a, b, c = bf.batch_partition(100, 32, 1), bf.batch_partition(100, 32, 1), bf.batch_partition(100, 32, 2)
    assert a.shape == (3, 32) and np.array_equal(a, b) and not np.array_equal(a, c)
    t = np.linspace(-2, 2, 41)
    assert bf._interior_minima(np.stack([t**2, t**4 - 2 * t**2])).tolist() == [1, 2]
