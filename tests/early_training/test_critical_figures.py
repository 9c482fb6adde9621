"""The E2 figures: files (PNG and SVG), titles and captions, drawn from verdict dicts; none without data."""
from __future__ import annotations

import importlib

import pytest


F = importlib.import_module("verify.early_training.figures")


def _rows(seeds=(1, 2, 3), zero=False):
    # constants in the shape the E2 claims write (values of the order measured at the quick profile), three seeds per
    # architecture; depth 2 has c_max above the bracket (None, its cell open above 256)
    out = []
    for depth, width, closs, csharp, cmax in ([(2, 64, 2.1, 0.5, None), (2, 32, 2.3, 0.5, None), (2, 16, 2.4, 0.5, None)]
                                              if zero else [(2, 64, 3.1, 4.0, None), (4, 64, 4.3, 7.2, 18.0),
                                                            (4, 32, 20.0, 19.0, 30.0)]):
        for s in seeds:
            k = 1 + 0.05 * (s - 2)
            out.append({"depth": depth, "width": width, "seed": s, "d_over_w": depth / width, "c_loss": closs * k,
                        "c_sharp": csharp if zero else csharp * k, "c_max": None if cmax is None else cmax * k,
                        "c_max_interval": [256.0, None] if cmax is None else [cmax * k * 0.99, cmax * k * 1.01],
                        "c_sharp_flags": {"below_bracket": zero}, "data": "digits", "dtype": "float32",
                        "measure_size": 64, "steps": 10})
    return out


def _scan(rows):
    # the early-sharpness scan E2-c-loss-tends-to-2 reports: one crossing of 0.9 per set-up, 0.5 only at large d/w
    out = []
    for r in rows:
        edges = {"0.9": {"c": 0.05, "below_scan": False}, "0.5": {"c": 0.5 if r["d_over_w"] > 0.1 else None,
                                                                  "below_scan": False}}
        out.append({"depth": r["depth"], "width": r["width"], "seed": r["seed"], "d_over_w": r["d_over_w"],
                    "edges": edges, "scan": {"c": [2 ** -6], "c_top": r["c_loss"]}})
    return out


def _check(fig, out, name):
    assert fig["name"] == name and fig["title"].startswith("Figure ") and len(fig["caption"]) > 80
    for ext in ("png", "svg"):
        assert fig[ext] == f"figures/{name}.{ext}"
        assert (out / f"{name}.{ext}").stat().st_size > 1000


def _texts(svg_path):
    """The text of the SVG (matplotlib writes each label as a comment next to its glyphs)."""
    return svg_path.read_text()


@pytest.mark.parametrize("with_scan", [True, False])
def test_the_phase_diagram_draws_the_papers_regions_and_boundaries(tmp_path, with_scan):
    rows = _rows()
    verdicts = {"E2-ordering": {"measured": {"rows": rows}}}
    if with_scan:
        verdicts["E2-c-loss-tends-to-2"] = {"measured": {"rows": rows, "sharpness_reduction": _scan(rows)}}
    fig = F.figure_phase_diagram(verdicts, tmp_path)
    _check(fig, tmp_path, "phase_diagram")
    svg = _texts(tmp_path / "phase_diagram.svg")
    # every region the data open is labelled (the reversal c_sharp < c_loss at d/w = 1/8 opens "sharpness rises
    # first"), and so is each boundary in the legend
    for region in ("sharpness reduction", "loss catapult", "sharpness rises first", "loss and sharpness catapult",
                   "divergence"):
        assert region in svg, region
    for name in ("c_loss", "c_sharp", "c_max", "c = 2"):
        assert name in svg
    assert ("c_red(0.9)" in svg and "c_red(0.9)" in fig["caption"]) is with_scan
    assert "no new runs" in fig["caption"] and "standard error" in fig["caption"]


def test_region_labels_sit_inside_the_axes_and_the_legend_outside(tmp_path, monkeypatch):
    """No label hidden by the legend: the legend is placed below the axes, every region label inside them (the
    figure is kept open instead of saved, and measured on its renderer)."""
    plt = F.pyplot()
    created = []
    real = plt.subplots
    monkeypatch.setattr(plt, "subplots", lambda *a, **k: created.append(real(*a, **k)) or created[-1])
    monkeypatch.setattr(F, "save_figure", lambda fig, out, name: {"png": f"figures/{name}.png",
                                                                   "svg": f"figures/{name}.svg"})
    F.figure_phase_diagram({"E2-ordering": {"measured": {"rows": _rows()}}}, tmp_path)
    fig, ax = created[-1]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    assert ax.get_legend().get_window_extent(renderer).y1 <= box.y0             # below the axes
    labels = [t for t in ax.texts if t.get_text()]
    assert len(labels) >= 4
    for t in labels:
        e = t.get_window_extent(renderer)
        assert box.x0 - 1 <= e.x0 and e.x1 <= box.x1 + 1 and box.y0 - 1 <= e.y0 and e.y1 <= box.y1 + 1, t.get_text()
    plt.close(fig)


def test_the_zero_last_layer_diagram_is_drawn_from_its_claim(tmp_path):
    rows = _rows(zero=True)
    fig = F.figure_phase_diagram_zero({"E2-zero-last-layer": {"measured": {"rows": rows}}}, tmp_path)
    _check(fig, tmp_path, "phase_diagram_zero")
    svg = _texts(tmp_path / "phase_diagram_zero.svg")
    for region, _ in F.ZERO_REGIONS:
        assert region in svg, region
    # c_sharp below the bracket and c_max above it are bracket ends, named as such
    assert "<= c_sharp" in fig["caption"] and ">= c_max" in fig["caption"]
    # the default-initialised rows do not make a zero-last-layer diagram
    assert F.figure_phase_diagram_zero({"E2-ordering": {"measured": {"rows": _rows()}}}, tmp_path) is None


def test_the_region_runs_take_one_c_per_band(tmp_path):
    rows = _rows(seeds=(1,))
    row = rows[2]
    cs = F._regime_cs(row, 2.0)
    assert list(cs) == [name for name, _ in F.REGIME_RUNS]
    assert cs["c = 1"] < 2 < cs["2 < c < c_loss"] < row["c_loss"] < cs["loss catapult"] < row["c_max"] \
        < cs["divergence"]
    assert "2 < c < c_loss" not in F._regime_cs({**rows[1], "c_loss": 2.1}, 2.0)
    fig = F.figure_regime_runs({"E2-ordering": {"measured": {"rows": rows}}}, tmp_path)
    _check(fig, tmp_path, "phase_runs")
    assert "largest d/w (0.125)" in fig["caption"]


def test_the_eos_figure_draws_the_claims_rows(tmp_path):
    verdict = {"measured": {"rows": [{"seed": 1, "steps": [0, 5, 10], "ratio": [0.9, 0.95, 1.0],
                                      "loss": [0.05, 0.04, 0.03], "first_crossed_step": 10}]},
               "tolerance": {"value": 0.1}}
    fig = F.figure_eos({"E2-edge-of-stability": verdict}, tmp_path)
    _check(fig, tmp_path, "edge_of_stability")


@pytest.mark.parametrize("make", [F.figure_phase_diagram, F.figure_phase_diagram_zero, F.figure_regime_runs,
                                  F.figure_eos])
def test_no_figure_without_data(tmp_path, make):
    assert make({}, tmp_path) is None
    assert make({"E2-ordering": {"measured": {"rows": []}}}, tmp_path) is None
    assert not list(tmp_path.iterdir())


def test_result_figures_lists_only_those_with_data(tmp_path):
    figs = F.result_figures({"E2-ordering": {"measured": {"rows": _rows(seeds=(1,))}},
                             "E2-zero-last-layer": {"measured": {"rows": _rows(seeds=(1, 2), zero=True)}}}, tmp_path)
    assert [f["name"] for f in figs] == ["phase_diagram", "phase_diagram_zero", "phase_runs"]
