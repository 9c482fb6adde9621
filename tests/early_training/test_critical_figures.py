"""The E2 figures: files (PNG and SVG), titles and captions, drawn from verdict dicts; none without data."""
from __future__ import annotations

import importlib

import pytest


F = importlib.import_module("verify.early_training._figures")


def _rows():
    # constants in the shape the E2 claims write (values of the order measured at the quick profile)
    out = []
    for depth, width, closs, csharp, cmax in [(2, 64, 3.1, 4.0, 150.0), (4, 64, 4.3, 7.2, 18.0),
                                              (4, 16, 9.0, 11.0, 28.0)]:
        out.append({"depth": depth, "width": width, "seed": 1, "d_over_w": depth / width, "c_loss": closs,
                    "c_sharp": csharp, "c_max": cmax, "data": "digits", "dtype": "float32", "measure_size": 64,
                    "steps": 10})
    return out


def _check(fig, out, name):
    assert fig["name"] == name and fig["title"].startswith("Figure ") and len(fig["caption"]) > 80
    for ext in ("png", "svg"):
        assert fig[ext] == f"figures/{name}.{ext}"
        assert (out / f"{name}.{ext}").stat().st_size > 1000


def test_the_phase_diagram_names_its_regions(tmp_path):
    fig = F.figure_phase_diagram({"E2-ordering": {"measured": {"rows": _rows()}}}, tmp_path)
    _check(fig, tmp_path, "phase_diagram")
    svg = (tmp_path / "phase_diagram.svg").read_text()
    for region, _ in F.PHASE_REGIONS:
        assert region in fig["caption"]
    assert "c = 2" in fig["caption"] and "no new runs" in fig["caption"] and "<svg" in svg


def test_the_region_runs_take_one_c_per_region(tmp_path):
    rows = _rows()
    cs = F._regime_cs(rows[2], 2.0)
    assert list(cs) == [name for name, _ in F.PHASE_REGIONS]
    assert cs["monotone"] < 2 < cs["sharpness reduction"] < rows[2]["c_loss"] < cs["loss catapult"] \
        < rows[2]["c_max"] < cs["divergence"]
    assert "sharpness reduction" not in F._regime_cs({**rows[0], "c_loss": 2.1}, 2.0)
    fig = F.figure_regime_runs({"E2-ordering": {"measured": {"rows": rows}}}, tmp_path)
    _check(fig, tmp_path, "phase_runs")
    assert "largest d/w (0.25)" in fig["caption"]


def test_the_eos_figure_draws_the_claims_rows(tmp_path):
    verdict = {"measured": {"rows": [{"seed": 1, "steps": [0, 5, 10], "ratio": [0.9, 0.95, 1.0],
                                      "loss": [0.05, 0.04, 0.03], "first_crossed_step": 10}]},
               "tolerance": {"value": 0.1}}
    fig = F.figure_eos({"E2-edge-of-stability": verdict}, tmp_path)
    _check(fig, tmp_path, "edge_of_stability")


@pytest.mark.parametrize("make", [F.figure_phase_diagram, F.figure_regime_runs, F.figure_eos])
def test_no_figure_without_data(tmp_path, make):
    assert make({}, tmp_path) is None
    assert make({"E2-ordering": {"measured": {"rows": []}}}, tmp_path) is None
    assert not list(tmp_path.iterdir())


def test_result_figures_lists_only_those_with_data(tmp_path):
    figs = F.result_figures({"E2-ordering": {"measured": {"rows": _rows()}}}, tmp_path)
    assert [f["name"] for f in figs] == ["phase_diagram", "phase_runs"]
