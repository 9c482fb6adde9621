"""The Q3 figures of the trained network: written as PNG and SVG, with titles and string captions."""
from __future__ import annotations

import numpy as np

from verify.noisy_quadratic._batchfit import bottom_wells, top_fit
from verify.noisy_quadratic._figures import (figure_batch_fits, figure_concentration, figure_spectra,
                                             figure_training)
from verify.noisy_quadratic._spectrum import SpectrumSetup, train_and_measure


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
