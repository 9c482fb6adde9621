"""The Q3 figures of the trained network: written as PNG and SVG, with titles and string captions."""
from __future__ import annotations

from verify.noisy_quadratic._figures import figure_concentration, figure_spectra, figure_training
from verify.noisy_quadratic._spectrum import SpectrumSetup, train_and_measure


def test_q3_figures_are_written_with_captions(tmp_path):
    setup = SpectrumSetup(width=4, steps=20, drops=(10, 15), checkpoints=(10, 20), k=2)
    run = train_and_measure(setup, seed=0)
    figures = [figure_training(run, tmp_path), figure_spectra(run, tmp_path), figure_concentration(run, tmp_path)]
    for fig in figures:
        assert isinstance(fig["caption"], str) and fig["caption"] and fig["title"]
        for ext in ("png", "svg"):
            assert (tmp_path / f"{fig['name']}.{ext}").stat().st_size > 1000
