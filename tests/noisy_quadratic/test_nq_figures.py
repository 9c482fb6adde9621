"""The Q3 figures of the trained network and of the cliff set-up: written as PNG and SVG, with titles and string
captions."""
from __future__ import annotations

import numpy as np

from verify.noisy_quadratic.batchfit import bottom_wells, top_fit
from verify.noisy_quadratic.figures import (NO_MEMORISING_FIGURES, figure_batch_fits, figure_cliff_training,
                                             figure_concentration, figure_floor_sum, figure_spectra, figure_training,
                                             result_figures, simulated_figures)
from verify.noisy_quadratic.spectrum_training import SpectrumSetup, train_and_measure


def test_q3_figures_are_written_with_captions(tmp_path):
    setup = SpectrumSetup(width=4, steps=20, drops=(10, 15), checkpoints=(10, 20), k=2)
    run = train_and_measure(setup, seed=0)
    figures = [figure_training(run, tmp_path), figure_spectra(run, tmp_path), figure_concentration(run, tmp_path),
               figure_batch_fits(run, tmp_path)]
    for fig in figures:
        assert isinstance(fig["caption"], str) and fig["caption"] and fig["title"]
        for ext in ("png", "svg"):
            assert (tmp_path / f"{fig['name']}.{ext}").stat().st_size > 1000
    # the per-batch figure reports the fits of the claim's code path at the last checkpoint
    caption = figures[-1]["caption"]
    fit = top_fit(run, 20, 0)
    assert f"R^2 median {np.median(fit.r_squared):.4f}, minimum {fit.r_squared.min():.4f}" in caption
    assert f"Shapiro-Wilk p = {fit.shapiro_p:.3g}" in caption and f"+-{fit.half_width:.3g}" in caption
    wells = [w for w in bottom_wells(run, 20) if np.isfinite(w.t_star)]
    if wells:
        assert f"t* = {wells[0].t_star:.3g}" in caption
    else:
        assert "No negative-curvature direction" in caption


def _cliff_verdicts():
    steps = [0, 50, 90, 100, 110, 120, 150, 190, 200]
    traces = [{"seed": s, "step": steps, "loss": [2.3, 0.8, 0.75, 0.7, 0.5, 0.45, 0.44, 0.43, 0.43],
               "lambda_max": [1.0, 2.5, 2.6, 2.7, 2.8, 3.0, 3.3, 3.5, 3.5]} for s in range(3)]
    phases = [{"seed": s, "phase": k, "lr": lr, "threshold": 3.8 / lr, "lambda_max_over_threshold": 2.6 * lr / 3.8}
              for s in range(3) for k, lr in enumerate((0.1, 0.01))]
    rise = {"traces": traces, "phases": phases, "boundaries": [0, 100, 200], "checkpoints": [100, 120, 200],
            "end_windows": [[90, 100], [190, 200]]}
    rows = [{"seed": s, "cut": 100, "predicted_drop_relaxing": 0.2, "predicted_drop_not_relaxing": 0.02,
             "measured_drop": 0.21, "floor_sum": 0.25, "floor_sum_interval_95": [0.2, 0.27], "loss": 0.7}
            for s in range(3)]
    return {"Q3-lambda-max-rise": {"measured": rise}, "Q3-loss-drop": {"measured": {"cuts": rows}}}


def test_cliff_training_figure_draws_a_thinned_lambda_max_trace(tmp_path):
    """At the quick profile lambda_max is measured at fewer steps than the loss: the trace gives its own steps."""
    verdicts = _cliff_verdicts()
    for tr in verdicts["Q3-lambda-max-rise"]["measured"]["traces"]:
        keep = [0, 2, 3, 4, 7, 8]
        tr["lambda_step"] = [tr["step"][i] for i in keep]
        tr["lambda_max"] = [tr["lambda_max"][i] for i in keep]
    fig = figure_cliff_training(verdicts, tmp_path)
    assert fig is not None and (tmp_path / "nq_cliff_training.png").stat().st_size > 1000


def test_no_memorising_set_up_figures_at_quick(tmp_path):
    """The earlier set-up's figures (a training with dense spectra) are left out of the quick report."""
    assert "quick" in NO_MEMORISING_FIGURES and "default" not in NO_MEMORISING_FIGURES
    assert simulated_figures("quick", 0, "auto", "cpu", str(tmp_path)) == [] and not list(tmp_path.iterdir())


def test_cliff_figures_are_written_from_the_verdicts(tmp_path):
    verdicts = _cliff_verdicts()
    training, floors = figure_cliff_training(verdicts, tmp_path), figure_floor_sum(verdicts, tmp_path)
    for fig in (training, floors):
        assert isinstance(fig["caption"], str) and fig["caption"] and fig["title"]
        for ext in ("png", "svg"):
            assert (tmp_path / f"{fig['name']}.{ext}").stat().st_size > 1000
    assert "diamonds: the checkpoints" in training["caption"] and "0.068, 0.0068" in training["caption"]
    svg = (tmp_path / "nq_cliff_training.svg").read_text()
    assert svg.count("checkpoints") >= 1                       # the legend names the markers
    # without the verdicts there is nothing to draw
    assert figure_cliff_training({}, tmp_path) is None and figure_floor_sum({}, tmp_path) is None
    names = [f["name"] for f in result_figures(verdicts, tmp_path)]
    assert "nq_cliff_training" in names and "nq_floor_sum" in names
