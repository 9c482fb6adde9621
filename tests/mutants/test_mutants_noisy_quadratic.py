"""Mutation tests of the noisy-quadratic claims: a plausible bug in the measurement must turn a passing claim to
failed (see tests/mutants/README.md and the module docstring of test_mutants_multistage.py).

The Q3 claims share one trained network and its dense spectra (the baseline's ``q3-spectrum`` context); the Q3
mutants of the checks and of the per-batch fits reuse that run, the Lanczos-tolerance and weight-decay mutants train
and measure the network again.
"""
from __future__ import annotations

import pytest

import verify.noisy_quadratic._batchfit as batchfit
import verify.noisy_quadratic._cliff as cliff
import verify.noisy_quadratic._simulate as simulate
import verify.noisy_quadratic._spectrum as measure_spectrum
import verify.noisy_quadratic.momentum as momentum
import verify.noisy_quadratic.quadratic as quadratic
import verify.noisy_quadratic.spectrum as spectrum

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
    mutate(monkeypatch, spectrum.check_lanczos, "diff_top = np.abs(c.lanczos_top - dense[::-1][:k]) / scale",
           "diff_top = np.abs(c.lanczos_top - dense[-k:]) / scale")
    assert_caught(base.derive("Q3-lanczos-vs-dense"), "Q3-lanczos-vs-dense")


def test_Q3_lanczos_catches_the_float32_tolerance_for_float64_products(base, monkeypatch):
    """The top-k Lanczos run at ARPACK tolerance 1e-5 (the toolkit's tolerance for float32 products) instead of
    1e-12 on the float64 Hessian: its values and residuals are no longer within 1e-8 lambda_max.  The network is
    trained and measured again."""
    assert_baseline(base, "Q3-lanczos-vs-dense")
    mutate(monkeypatch, measure_spectrum._measure, "top, res, conv, products = lanczos_top(hess, setup.k, seed)",
           "top, res, conv, products = lanczos_top(hess, setup.k, seed, tol=1e-5)")
    assert_caught(context(PAPER), "Q3-lanczos-vs-dense")


def test_Q3_power_law_catches_the_smallest_positive_eigenvalues_fitted(base, monkeypatch):
    """The 'top 100' positive eigenvalues taken from the ascending sort (the reversal dropped): the smallest 100."""
    assert_baseline(base, "Q3-power-law")
    mutate(monkeypatch, spectrum.check_power_law, "pos = np.sort(values[values > 0])[::-1][:TOP_FIT]",
           "pos = np.sort(values[values > 0])[:TOP_FIT]")
    assert_caught(base.derive("Q3-power-law"), "Q3-power-law")


@pytest.mark.xfail(strict=True, raises=MutantSurvived,
                   reason="finding: no plausible measurement bug moves Q3-negative-eigenvalues; its negative "
                          "eigenvalues lie 3 to 4 decades below the threshold (README.md)")
def test_Q3_negative_eigenvalues_catches_the_threshold_taken_from_the_wrong_entry(base, monkeypatch):
    """The threshold read from the last entry of NEGATIVE_TOLERANCES (1e-3 lambda_max) instead of 1e-6: 61 and
    55 eigenvalues still lie below it, so the verdict does not move."""
    assert_baseline(base, "Q3-negative-eigenvalues")
    mutate(monkeypatch, spectrum.check_negative, "neg = values[values < -NEGATIVE_TOLERANCE * scale]",
           "neg = values[values < -NEGATIVE_TOLERANCES[-1] * scale]")
    assert_caught(base.derive("Q3-negative-eigenvalues"), "Q3-negative-eigenvalues")


@pytest.mark.xfail(strict=True, raises=MutantSurvived,
                   reason="finding: no plausible measurement bug moves Q3-negative-eigenvalues; the weight decay's "
                          "5e-3 I added to the Hessian leaves its negative eigenvalues in place (README.md)")
def test_Q3_negative_eigenvalues_catches_the_weight_decay_added_to_the_hessian(base, monkeypatch):
    """The dense Hessian of the training objective (with the weight decay's 5e-3 I) instead of the loss's: every
    eigenvalue moves up by 5e-3, the most negative ones are -0.52 and -0.14.  Q3-lanczos-vs-dense catches the bug
    (its Lanczos products have no weight decay); Q3-negative-eigenvalues does not.  The network is trained and
    measured again."""
    assert_baseline(base, ["Q3-negative-eigenvalues", "Q3-lanczos-vs-dense"])
    mutate(monkeypatch, measure_spectrum._measure, "H = torch_dense_hessian(loss_fn, t)",
           "H = torch_dense_hessian(loss_fn, t) + setup.weight_decay * np.eye(setup.size)")
    ctx = context(PAPER)
    # the bug is real: the Lanczos check sees it (a plain assertion, not the xfail's MutantSurvived)
    assert REGISTRY["Q3-lanczos-vs-dense"].check(ctx).status is Status.FAILED
    assert_caught(ctx, "Q3-negative-eigenvalues")


def test_Q3_concentration_catches_the_mass_summed_over_the_smallest_coordinates(base, monkeypatch):
    """The top-5 % mass summed over the ascending sort (the reversal dropped): the smallest 5 % of coordinates."""
    assert_baseline(base, "Q3-eigenvector-concentration")
    mutate(monkeypatch, spectrum.top_mass, "sq = np.sort(np.asarray(v, float) ** 2)[::-1]",
           "sq = np.sort(np.asarray(v, float) ** 2)")
    assert_caught(base.derive("Q3-eigenvector-concentration"), "Q3-eigenvector-concentration")


def test_Q3_concentration_catches_the_mass_of_absolute_values_not_squares(base, monkeypatch):
    """The mass taken as the sum of |v_i| instead of v_i^2 while the Gaussian reference is the squared mass."""
    assert_baseline(base, "Q3-eigenvector-concentration")
    mutate(monkeypatch, spectrum.top_mass, "sq = np.sort(np.asarray(v, float) ** 2)[::-1]",
           "sq = np.sort(np.abs(np.asarray(v, float)))[::-1]")
    assert_caught(base.derive("Q3-eigenvector-concentration"), "Q3-eigenvector-concentration")


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


@pytest.mark.skip(reason="Q3-loss-cliff fails in the unmutated quick run (a finding: no cliff beyond the pre-cut "
                         "drift at the second cut): a mutant cannot show that a bug moves it to failed")
def test_Q3_loss_cliff_is_not_mutated():
    """Listed so that the claim without a mutation test shows in the test run."""


@pytest.mark.skip(reason="Q3-loss-drop fails in the unmutated quick run (a finding about the talk's write-up: the "
                         "floors sum to a quarter of the loss): a mutant cannot show that a bug moves it to failed")
def test_Q3_loss_drop_is_not_mutated():
    """Listed so that the claim without a mutation test shows in the test run."""


def test_Q3_batch_quadratics_catches_the_curvature_read_one_eigenvalue_off(base, monkeypatch):
    """Along the j-th top eigenvector the curvature read as values[-j] instead of values[-1 - j] (for j = 0 the
    most negative eigenvalue): the fit window, derived from the curvature, is wrong.  The per-batch fits are
    recomputed on the baseline's trained network."""
    assert_baseline(base, "Q3-batch-quadratics")
    mutate(monkeypatch, batchfit.top_fit, "float(c.values[-1 - j])", "float(c.values[-j])")
    ctx = base.derive("Q3-batch-quadratics", drop=lambda key: isinstance(key, tuple) and key[0] == "batchfit")
    assert_caught(ctx, "Q3-batch-quadratics")
