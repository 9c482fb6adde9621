"""Q3 on the cliff set-up: the eigenbasis claims and batch-512 quadratics on tiny runs (keys, controls, figures),
their helpers against exact cases, the fast dense Hessian against jacrev, and the Q3b / Q3e derivations."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

import theory.noisy_quadratic as derivations
from verify.hessian import torch_dense_hessian
from verify.noisy_quadratic.claims import batch_quadratic as q3b
from verify.noisy_quadratic.claims import eigenbasis as q3e
from verify.noisy_quadratic.cliff import cliff_data, cliff_net
from verify.noisy_quadratic.context import Context
from verify.noisy_quadratic.mlp_hessian import mlp_dense_hessian
from verify.noisy_quadratic.spectrum_setup import CliffSetup
from verify.noisy_quadratic.spectral_figures import gaussian_cumulative, spectral_figures
from verify.registry import REGISTRY, Status, load_papers

from key_rules import assert_key_consistent

load_papers()
#: 682 parameters, two phases of 60 steps (the cliff tests' tiny set-up)
TINY = CliffSetup(width=8, lrs=(0.1, 0.01), steps=(60, 60), every=20, end_every=2, after=(6,))
IDS = ("Q3-lanczos-vs-dense", "Q3-power-law", "Q3-negative-eigenvalues", "Q3-eigenvector-concentration",
       "Q3-eigenvector-rotation", "Q3-cliff-displacement", "Q3-batch-quadratics")
EPS = np.finfo(float).eps


@pytest.fixture(scope="module")
def ctx():
    c = Context.make("quick")
    c.profile = dataclasses.replace(c.profile, cliff=TINY, cliff_seeds=3)
    return c


@pytest.mark.parametrize("key", ["Q3b", "Q3e"])
def test_every_identity_holds(key):
    d = derivations.derive(key)
    assert d.identities and all(v is True for v in d.identities.values()), d.identities
    for section in ("statement", "assumptions", "derivation", "references"):
        assert d.text.get(section), section


@pytest.mark.parametrize("bias, depth", [(True, 3), (False, 3), (True, 4)])
def test_fast_hessian_is_jacrev_to_round_off(bias, depth):
    """Independent oracle: torch.func.jacrev of the gradient of the whole network (verify.hessian)."""
    setup = dataclasses.replace(TINY, bias=bias, depth=depth)
    net, data = cliff_net(setup), cliff_data(setup)
    gen = torch.Generator().manual_seed(0)
    theta = net.flatten(net.init(np.random.SeedSequence(3))) + 0.1 * torch.randn(net.size, dtype=torch.float64,
                                                                                  generator=gen)
    fast = mlp_dense_hessian(net, data, theta)
    slow = torch_dense_hessian(net.flat_loss(data, "cross_entropy"), theta)
    scale = np.abs(slow).max()
    assert np.abs(fast - slow).max() <= 100 * net.size * EPS * scale
    assert np.array_equal(fast, fast.T)


def test_overlaps_of_a_basis_with_itself_and_with_a_random_one():
    rng = np.random.default_rng(0)
    n = 300
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    bands = np.array_split(np.arange(n)[::-1], 5)
    same = q3e.overlap_matrix(V, bands, V, bands)
    assert np.allclose(same, np.eye(5), atol=100 * n * EPS)
    W, _ = np.linalg.qr(rng.standard_normal((n, n)))
    O = q3e.overlap_matrix(V, bands, W, bands)
    assert np.allclose(O.sum(axis=1), 1.0, atol=100 * n * EPS)             # a complete basis holds all of it
    # the random-subspace reference m / n = 0.2 (Q3e); the spread of a band's mean over 60 x 60 entries
    assert np.abs(O - 0.2).max() < 0.05


def test_displacement_fractions_sum_to_one_and_an_eigenvector_sits_in_its_band():
    rng = np.random.default_rng(1)
    n = 200
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    values = np.concatenate([-np.geomspace(1e-3, 1, 20)[::-1], np.zeros(10), np.geomspace(1e-4, 3, 170)])
    bands = q3e.positive_bands(values)
    f = q3e.displacement_fractions(V, values, V @ rng.standard_normal(n), bands)
    assert sum(f["bands"]) + f["negative"] + f["null"] == pytest.approx(1.0, abs=100 * n * EPS)
    assert sum(f["band_dimension"]) + f["negative_dimension"] + f["null_dimension"] == pytest.approx(1.0)
    top = q3e.displacement_fractions(V, values, V[:, -1], bands)
    assert top["bands"][0] == pytest.approx(1.0, abs=100 * n * EPS)


def test_top_mass_window_and_roundoff():
    assert q3e.top_mass(np.eye(100)[3])[0] == 1.0
    assert q3e.top_mass(np.ones(100))[0] == pytest.approx(0.05)
    values = np.concatenate([-np.ones(10), np.geomspace(1e-3, 1, 1472)])
    win, hi, lo = q3e.talk_window(values)
    assert len(win) == math.ceil(2000 / 26000 * 1482) == 114 and len(hi) == len(lo) == 22
    assert values[hi].min() > values[lo].max()
    assert q3e.roundoff(1482) == pytest.approx(1000 * 1482 * EPS)
    assert q3e.power_law_band() == pytest.approx((-1.5, -0.5))
    assert gaussian_cumulative([0.05])[0] == pytest.approx(0.2791, abs=1e-4)


def test_batches_are_independent_uniform_subsets():
    b = q3b.sample_batches(1797, 50, 512, np.random.SeedSequence(0))
    assert b.shape == (50, 512) and all(len(set(row)) == 512 for row in b)
    assert not np.array_equal(b[0], b[1])
    assert np.array_equal(b, q3b.sample_batches(1797, 50, 512, np.random.SeedSequence(0)))


@pytest.mark.parametrize("cid", IDS)
def test_claim_keys_are_consistent_and_the_negative_control_fails(ctx, cid):
    claim = REGISTRY[cid]
    assert claim.heuristic and claim.run_group == "q3-cliff"
    good, bad = claim.check(ctx), claim.negative_control(ctx)
    assert good.key is not None and bad.key is not None
    assert_key_consistent(good.key, good.status, cid)
    assert_key_consistent(bad.key, bad.status, f"{cid} (negative control)")
    assert bad.status is Status.FAILED
    assert good.range["seeds"] == [0, 1, 2] and good.resolution


@pytest.mark.parametrize("cid", IDS)
def test_every_claim_has_a_calibrated_control_that_fails_where_it_passes_and_a_resolution(ctx, cid):
    """Issue 21: each claim on the cliff set-up has a calibrated control (the prediction moved by at most twice
    its tolerance) and states its resolution; the three added last come out failed where the check passes on the
    tiny run (Q3-eigenvector-rotation's does not resolve its halved bar on two 60-step phases: the quick run's
    does, as the runner checks)."""
    claim = REGISTRY[cid]
    assert claim.calibrated_control is not None and claim.calibrated_description.strip()
    good = claim.check(ctx)
    assert good.resolution and good.resolution["detects"]
    if good.status is Status.PASSED and cid in ("Q3-negative-eigenvalues", "Q3-eigenvector-concentration",
                                                 "Q3-cliff-displacement"):
        assert claim.calibrated_control(ctx).status is Status.FAILED


def test_displacement_is_measured_from_the_talks_iterate_mean(ctx):
    """The judged displacement starts at the mean of the late phase-1 iterates (the talk's step2g), not at the last
    iterate; the run's mean is that of the iterates CliffSetup.average_steps names (checked on a short run)."""
    run = ctx.cliff_run(0)
    cut = run.setup.cuts[0]
    row = q3e.displacement_measure(ctx, 0)
    delta = run.theta(row["after"]) - run.iterate_means[cut]
    assert row["norm"] == pytest.approx(float(np.linalg.norm(delta)), rel=1e-12)
    assert row["from_last_iterate"]["norm"] == pytest.approx(
        float(np.linalg.norm(run.theta(row["after"]) - run.theta(cut))), rel=1e-12)
    assert row["averaged"] == [30, 60, 31] and TINY.average_steps(0) == tuple(range(30, 61))
    assert set(run.iterate_means) == set(run.window_means) == {cut}


def test_lanczos_and_curvature_calibrated_controls_fail(ctx):
    assert REGISTRY["Q3-lanczos-vs-dense"].check(ctx).status is Status.PASSED
    assert REGISTRY["Q3-lanczos-vs-dense"].calibrated_control(ctx).status is Status.FAILED
    v = REGISTRY["Q3-batch-quadratics"].check(ctx)
    top = [r for r in v.measured["directions"] if r["rank"] == 1]
    # along the top eigenvector of the tiny run the mean fitted curvature is the eigenvalue within 10 %
    assert all(0.9 <= r["curvature_ratio_mean"] <= 1.1 for r in top), top
    assert REGISTRY["Q3-batch-quadratics"].calibrated_control(ctx).status is Status.FAILED


def test_transposed_eigenvectors_fail_the_concentration_contrast(ctx):
    """The talk's contrast is read from the eigenvectors as columns: the transposed matrix's 'vectors' (rows:
    one parameter's components) must not pass it."""
    v = q3e.check_concentration(ctx, vectors=lambda run, step: run.spectrum(step).vectors.T)
    assert v.status is not Status.PASSED


def test_figures_are_drawn_from_the_verdicts(ctx, tmp_path):
    verdicts = {cid: REGISTRY[cid].judge(REGISTRY[cid].check, ctx).as_dict() for cid in
                ("Q3-eigenvector-concentration", "Q3-eigenvector-rotation", "Q3-batch-quadratics")}
    figs = spectral_figures(verdicts, tmp_path)
    assert [f["name"] for f in figs] == ["nq_concentration_bands", "nq_overlap_matrix", "nq_batch_quadratics"]
    for f in figs:
        assert f["caption"] and list(tmp_path.glob(f["name"] + ".*"))
    assert spectral_figures({}, tmp_path) == []
