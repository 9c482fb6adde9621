"""Mutation tests of the noisy-quadratic claims: a plausible bug in the measurement must turn a passing claim to
failed (see tests/mutants/README.md and the module docstring of test_mutants_multistage.py).

The Q3 claims on the cliff set-up share its trained networks and their dense spectra (the baseline's ``q3-cliff``
context); their mutants reuse them (the per-batch fits and the Lanczos measurements are made again where a mutant
changes them).
"""
from __future__ import annotations

import pytest

import verify.noisy_quadratic.cliff as cliff
import verify.noisy_quadratic.claims.batch_quadratic as batch_quadratic
import verify.noisy_quadratic.claims.eigenbasis as eigenbasis
import verify.noisy_quadratic.cuts as cuts
import verify.noisy_quadratic.simulation as simulate
import verify.noisy_quadratic.claims.momentum as momentum
import verify.noisy_quadratic.claims.quadratic as quadratic
import verify.noisy_quadratic.claims.spectrum as spectrum

from verify.registry import REGISTRY, Status

from mutation import Baseline, MutantSurvived, assert_baseline, assert_caught, context, mutate

PAPER = "noisy-quadratic"


@pytest.fixture(scope="module")
def base():
    return Baseline(PAPER)


def _purposes(*names):
    """Cache keys of the chain simulations of the streams ``names`` and of every two-stage confirmation (rerun by
    a mutant of the simulation)."""
    return lambda key: isinstance(key, tuple) and key[0] in names + ("confirm",)   # the two-stage confirmations too


_NAIVE_ERROR = ("se = chain_means.std(axis=-1, ddof=1) / np.sqrt(n)",
                "se = np.sqrt(np.maximum(chain_sq.mean(axis=-1) - mean**2, 0.0) / (n * steps))")


def test_Q2_floors_catch_the_standard_error_that_ignores_autocorrelation(base, monkeypatch):
    """The floor's standard error computed as if every step of every chain were independent (the naive error,
    smaller by the square root of the autocorrelation time) instead of from the chains' time averages; the
    two-stage rule's confirmations are measured by the same mutated code."""
    claims = ["Q2-stationary-loss", "Q2-approximation-error"]
    assert_baseline(base, claims)
    mutate(monkeypatch, simulate.chain_interval, *_NAIVE_ERROR)
    for cid in claims:
        assert_caught(base.derive(cid), cid)


@pytest.mark.xfail(strict=True, raises=MutantSurvived,
                   reason="finding: under the two-stage z rule Q1-stationary-loss no longer catches the naive "
                          "standard error at quick seed 0 (stage-1 |z| 3.76 and 3.72 against 3.14, confirmations "
                          "-0.30 and 0.06 against 2.58); the bug inflates the z's scatter, it adds no bias for the "
                          "confirmation to reproduce (README.md)")
def test_Q1_floor_catches_the_standard_error_that_ignores_autocorrelation(base, monkeypatch):
    """The naive error above on Q1's floors: their autocorrelation times are 1.1 to 49 (quick, seed 0; 49 at
    alpha lambda = 0.01), so the naive z scatters like N(0, tau), with no bias: a confirmation lands within 2.58
    by chance (probability about 0.3 where tau = 49, more elsewhere).  Over quick seeds 0-9 the single-stage rule
    caught it at 8 seeds, the two-stage rule at 3 (seeds 5, 7, 8)."""
    assert_baseline(base, "Q1-stationary-loss")
    mutate(monkeypatch, simulate.chain_interval, *_NAIVE_ERROR)
    assert_caught(base.derive("Q1-stationary-loss"), "Q1-stationary-loss")


def test_Q1_floor_catches_time_averages_divided_by_every_step(base, monkeypatch):
    """Each chain's sum over the steps after the burn-in divided by all the steps (burn-in included) instead of
    by the steps summed: every measured floor comes out low by the burn-in's share of the run."""
    assert_baseline(base, "Q1-stationary-loss")
    mutate(monkeypatch, simulate.simulate, "count = steps - burn_in", "count = steps")
    assert_caught(base.derive("Q1-stationary-loss", drop=_purposes("stationary")), "Q1-stationary-loss")


def test_Q1_relaxation_catches_the_distance_logged_in_base_10(base, monkeypatch):
    """log10 of the distance to the floor fitted against n where the derived rate is a natural log."""
    assert_baseline(base, "Q1-relaxation")
    mutate(monkeypatch, quadratic.relaxation_fits, "np.log(d[good])", "np.log10(d[good])")
    assert_caught(base.derive("Q1-relaxation"), "Q1-relaxation")


def test_Q1_lr_cut_catches_the_cut_applied_one_step_late(base, monkeypatch):
    """The learning rate divided from step cut_step + 1 on (t > cut_step instead of t >= cut_step)."""
    assert_baseline(base, "Q1-lr-cut")
    mutate(monkeypatch, simulate.simulate, "cut_step is not None and t >= cut_step",
           "cut_step is not None and t > cut_step")
    assert_caught(base.derive("Q1-lr-cut", drop=_purposes("cut")), "Q1-lr-cut")


def test_Q2_catches_dampened_momentum(base, monkeypatch):
    """Heavy ball with the gradient dampened by 1 - gamma (v' = gamma v + (1 - gamma) g, an exponential moving
    average) instead of PyTorch's v' = gamma v + g: the floor, the region and the rate all move."""
    claims = ["Q2-stationary-loss", "Q2-approximation-error", "Q2-stability-region", "Q2-relaxation"]
    assert_baseline(base, claims)
    mutate(monkeypatch, simulate.simulate, "v = gam * v + g", "v = gam * v + (1 - gam) * g")
    for cid in claims:
        assert_caught(base.derive(cid, drop=_purposes("momentum", "region", "rate")), cid)


def test_Q2_floor_catches_the_burn_in_left_out_of_the_time_averages(base, monkeypatch):
    """The heavy-ball floors averaged from step 0 (burn_in = 0) although the chains start at x = 0: the slow
    points (gamma = 0.99) are still relaxing."""
    claims = ["Q2-stationary-loss", "Q2-approximation-error"]
    assert_baseline(base, claims)
    mutate(monkeypatch, momentum.momentum_run, "steps=burn + p.momentum_steps, burn_in=burn)",
           "steps=burn + p.momentum_steps, burn_in=0)")
    for cid in claims:
        assert_caught(base.derive(cid, drop=_purposes("momentum")), cid)


def test_Q2_stability_region_catches_the_growth_ratio_of_the_mean_x(base, monkeypatch):
    """The growth ratio taken on the mean of x over the chains instead of the mean loss: signed, noisy means."""
    assert_baseline(base, "Q2-stability-region")
    mutate(monkeypatch, momentum.check_region,
           "late, mid = run.loss[j, 3 * q:].mean(), run.loss[j, q:2 * q].mean()",
           "late, mid = run.mean_x[j, 3 * q:].mean(), run.mean_x[j, q:2 * q].mean()")
    assert_caught(base.derive("Q2-stability-region"), "Q2-stability-region")


def test_Q2_relaxation_catches_the_prony_target_one_step_early(base, monkeypatch):
    """Prony's regression m_(n+1) = T m_n - D m_(n-1) with the target lagged one step (m_n regressed on itself)."""
    assert_baseline(base, "Q2-relaxation")
    mutate(monkeypatch, momentum._prony_radius, "y = m[2:last + 1]", "y = m[1:last]")
    assert_caught(base.derive("Q2-relaxation"), "Q2-relaxation")


def test_Q3_lanczos_catches_the_dense_top_values_taken_in_ascending_order(base, monkeypatch):
    """The dense top-k compared with Lanczos's largest-first values in ascending order (the reversal dropped)."""
    assert_baseline(base, "Q3-lanczos-vs-dense")
    mutate(monkeypatch, eigenbasis.check_lanczos, "diff_top = float(np.max(np.abs(m[\"top\"] - dense[::-1][:k]))) / scale",
           "diff_top = float(np.max(np.abs(m[\"top\"] - dense[-k:]))) / scale")
    assert_caught(base.derive("Q3-lanczos-vs-dense"), "Q3-lanczos-vs-dense")


def test_Q3_lanczos_catches_the_float32_tolerance_for_float64_products(base, monkeypatch):
    """The top-k Lanczos run at ARPACK tolerance 1e-5 (the toolkit's tolerance for float32 products) instead of
    1e-12 on the float64 Hessian: its values and residuals are no longer within 1e-8 lambda_max.  The Lanczos
    measurements are made again on the baseline's trained networks."""
    assert_baseline(base, "Q3-lanczos-vs-dense")
    mutate(monkeypatch, eigenbasis.lanczos_measure, "top, res, conv, products = lanczos_top(hess, LANCZOS_K, seed)",
           "top, res, conv, products = lanczos_top(hess, LANCZOS_K, seed, tol=1e-5)")
    ctx = base.derive("Q3-lanczos-vs-dense", drop=lambda key: isinstance(key, tuple) and key[0] == "q3e-lanczos")
    assert_caught(ctx, "Q3-lanczos-vs-dense")


def test_Q3_power_law_catches_the_smallest_positive_eigenvalues_fitted(base, monkeypatch):
    """The 'top 100' positive eigenvalues taken from the ascending sort (the reversal dropped): the smallest 100.
    The quick baseline is inconclusive (a recorded finding: the shift across the second cut is not resolved)."""
    assert_baseline(base, "Q3-power-law")
    mutate(monkeypatch, eigenbasis._level, "pos = np.sort(values[values > roundoff(len(values)) * abs(values[-1])])[::-1][:TOP_FIT]",
           "pos = np.sort(values[values > roundoff(len(values)) * abs(values[-1])])[:TOP_FIT]")
    assert_caught(base.derive("Q3-power-law"), "Q3-power-law")


def test_Q3_negative_eigenvalues_catches_the_fraction_of_the_matrix_entries(base, monkeypatch):
    """The negative count divided by the number of entries of the eigenvector matrix (n^2) instead of the number
    of eigenvalues: fractions of 1e-4 instead of 7-23 %."""
    assert_baseline(base, "Q3-negative-eigenvalues")
    mutate(monkeypatch, eigenbasis.check_negative, '"fraction": count / n,', '"fraction": count / sp_.vectors.size,')
    assert_caught(base.derive("Q3-negative-eigenvalues"), "Q3-negative-eigenvalues")


def test_Q3_concentration_catches_the_transposed_eigenvector_matrix(base, monkeypatch):
    """The eigenvector matrix transposed (rows, one parameter's components over the eigenvectors, read as the
    vectors): the low fifth's 'vectors' are as concentrated as the high fifth's, nearer the high than the
    Gaussian (the midpoint rule fails), which the old claim passed."""
    assert_baseline(base, "Q3-eigenvector-concentration")
    mutate(monkeypatch, eigenbasis.check_concentration, "V = sp_.vectors if vectors is None else vectors(run, s)",
           "V = sp_.vectors.T if vectors is None else vectors(run, s)")
    assert_caught(base.derive("Q3-eigenvector-concentration"), "Q3-eigenvector-concentration")


def test_Q3_concentration_catches_the_mass_summed_over_the_smallest_coordinates(base, monkeypatch):
    """The top-5 % mass summed over the ascending sort (the reversal dropped): the smallest 5 % of coordinates."""
    assert_baseline(base, "Q3-eigenvector-concentration")
    mutate(monkeypatch, eigenbasis.top_mass, "sq = np.sort(V ** 2, axis=0)[::-1]", "sq = np.sort(V ** 2, axis=0)")
    assert_caught(base.derive("Q3-eigenvector-concentration"), "Q3-eigenvector-concentration")


def test_Q3_rotation_catches_the_transposed_later_eigenvector_matrix(base, monkeypatch):
    """The later checkpoint's eigenvector matrix transposed: its 'bands' are sets of parameters, not of
    eigenvectors, and the top band no longer keeps most of its subspace."""
    assert_baseline(base, "Q3-eigenvector-rotation")
    mutate(monkeypatch, eigenbasis.rotation_measure, "VB = B.vectors if basis is None else basis(run, b)",
           "VB = B.vectors.T if basis is None else basis(run, b)")
    ctx = base.derive("Q3-eigenvector-rotation", drop=lambda key: isinstance(key, tuple) and key[0] == "q3e-rotation")
    assert_caught(ctx, "Q3-eigenvector-rotation")


def test_Q3_cliff_displacement_catches_the_displacement_from_the_last_iterate(base, monkeypatch):
    """The displacement measured from the last iterate before the cut instead of the mean of the late phase-1
    iterates (the talk's step2g): the iterate's noise around the plateau, which lives in the high-lambda
    directions, is counted as the cliff's, and the top band's share rises far above a random direction's."""
    assert_baseline(base, "Q3-cliff-displacement")
    mutate(monkeypatch, eigenbasis.displacement_measure, "d = run.theta(after) - run.iterate_means[before]",
           "d = run.theta(after) - run.theta(before)")
    assert_caught(base.derive("Q3-cliff-displacement"), "Q3-cliff-displacement")


def test_Q3_batch_quadratics_catches_the_transposed_eigenvector_matrix(base, monkeypatch):
    """The fit directions read as rows of the eigenvector matrix (transposed): the fitted curvature is no longer
    the eigenvalue.  The per-batch fits are recomputed on the baseline's trained networks."""
    assert_baseline(base, "Q3-batch-quadratics")
    mutate(monkeypatch, batch_quadratic.batch_fits, "V = sp_.vectors[:, cols] if vectors is None",
           "V = sp_.vectors.T[:, cols] if vectors is None")
    ctx = base.derive("Q3-batch-quadratics", drop=lambda key: isinstance(key, tuple) and key[0] == "q3b-fits")
    assert_caught(ctx, "Q3-batch-quadratics")


def test_Q3_batch_quadratics_catches_fits_along_the_neighbouring_eigenvector(base, monkeypatch):
    """Each fit along the eigenvector of the next smaller eigenvalue (column c - 1, an off-by-one) while judged
    against the eigenvalue of column c: wrong fit vectors."""
    assert_baseline(base, "Q3-batch-quadratics")
    mutate(monkeypatch, batch_quadratic.batch_fits, "V = sp_.vectors[:, cols] if vectors is None",
           "V = sp_.vectors[:, [c - 1 for c in cols]] if vectors is None")
    ctx = base.derive("Q3-batch-quadratics", drop=lambda key: isinstance(key, tuple) and key[0] == "q3b-fits")
    assert_caught(ctx, "Q3-batch-quadratics")


def _cliff_runs(key) -> bool:
    """Cache keys of the cliff set-up's training runs (retrained by a mutant of the training or its measurement)."""
    return isinstance(key, tuple) and key[0] == "cliff"


@pytest.mark.xfail(strict=True, raises=MutantSurvived,
                   reason="finding: lambda_max measured on one batch moves Q3-lambda-max-rise to inconclusive, not "
                          "failed (the one-batch values scatter so that the first cut's rise at seed 2 is -0.003 "
                          "+- 0.96); README.md")
def test_Q3_lambda_max_rise_catches_lambda_max_measured_on_one_batch(base, monkeypatch):
    """lambda_max by Lanczos on the Hessian of one batch's loss (the first 128 samples) instead of all 1797: a
    noisier top eigenvalue whose rise at the cuts is not the full-data one.  The three seeds are trained and
    measured again."""
    assert_baseline(base, "Q3-lambda-max-rise")
    mutate(monkeypatch, cliff.train_cliff, "lanczos_top(TorchHessian(loss_fn, saved[step]), 1, lanczos_seed,",
           'lanczos_top(TorchHessian(net.flat_loss(data.rows(np.arange(setup.batch_size)), "cross_entropy"), '
           "saved[step]), 1, lanczos_seed,")
    assert_caught(base.derive("Q3-lambda-max-rise", drop=_cliff_runs), "Q3-lambda-max-rise")


def test_Q3_lambda_max_rise_catches_the_after_value_read_right_after_the_cut(base, monkeypatch):
    """The 'after' of a cut read on the window right after it (its first steps at the new learning rate) instead of
    at the end of the next phase: lambda_max has not risen yet."""
    assert_baseline(base, "Q3-lambda-max-rise")
    mutate(monkeypatch, spectrum.check_rise, "w = welch_rise(ends[k], ends[k + 1])",
           "w = welch_rise(ends[k], run.lambda_max[np.searchsorted(run.steps, s.after_steps(cut))])")
    assert_caught(base.derive("Q3-lambda-max-rise"), "Q3-lambda-max-rise")


def assert_finding_lost(ctx, claim_id) -> None:
    """The mutant hides a recorded finding: the claim's check no longer reaches its expected quick verdict, so the
    runner reports it against its expectation (the command's exit status is non-zero; as in the early-training
    mutants)."""
    want = Status(REGISTRY[claim_id].expected("quick")["status"])
    got = REGISTRY[claim_id].check(ctx)
    if got.status is want:
        raise MutantSurvived(f"mutant not caught: {claim_id} still {got.status.value} ({(got.key or {}).get('why')})")


def test_Q3_loss_cliff_catches_the_drift_taken_for_a_cliff(base, monkeypatch):
    """Q3-loss-cliff fails at quick by a recorded finding (no cliff beyond the pre-cut drift at the second cut).  The
    pre-cut trend read as the plateau's mean even where its slope is resolved: the drift already under way before
    the cut is counted as a cliff, the check passes, and the finding is lost."""
    assert_baseline(base, "Q3-loss-cliff", Status.FAILED)
    mutate(monkeypatch, cuts.fall_below_trend,
           'drifting = line["slope_interval"][0] > 0 or line["slope_interval"][1] < 0', "drifting = False")
    assert_finding_lost(base.derive("Q3-loss-cliff"), "Q3-loss-cliff")


def test_Q3_loss_drop_catches_the_spread_of_one_sample_for_that_of_a_batch(base, monkeypatch):
    """Q3-loss-drop fails at quick by a recorded finding (the floors summed over all positive directions are below
    the loss).  The spread sigma_j taken as one sample's (the per-batch minima scaled by sqrt(batch size)) instead of
    that of a batch of the training size: the floors grow by the batch size, the write-up's statement seems to hold,
    and the finding is lost."""
    assert_baseline(base, "Q3-loss-drop", Status.FAILED)
    mutate(monkeypatch, spectrum.floor_terms, "minima = -(run.batch_gradients(step) @ V) / h",
           "minima = -(run.batch_gradients(step) @ V) / h * np.sqrt(s.batch_size)")
    assert_finding_lost(base.derive("Q3-loss-drop"), "Q3-loss-drop")


