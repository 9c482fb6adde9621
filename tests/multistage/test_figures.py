"""The multistage report's figures: files, the dict the report reads, Figure 1's stages, the D11 figure."""
from __future__ import annotations

import importlib
from dataclasses import replace

import pytest

from verify.multistage.context import Context
from verify.multistage.profiles import PROFILES

# ``verify.multistage.figures`` the module (the package's ``_figures`` attribute is the runner's hook)
F = importlib.import_module("verify.multistage.figures")

KEYS = {"name", "title", "caption", "png", "svg"}


def check_written(fig: dict, out) -> None:
    assert KEYS <= set(fig), fig.keys()
    # the report numbers the figures in the order it lists them; a number in the title would be shown twice
    assert fig["title"].strip() and not fig["title"].lower().startswith("figure"), fig["title"]
    assert fig["caption"].strip()
    for ext in ("png", "svg"):
        assert fig[ext] == f"figures/{fig['name']}.{ext}"
        path = out / f"{fig['name']}.{ext}"
        assert path.stat().st_size > 1000, path


@pytest.fixture(scope="module")
def figure1(tmp_path_factory):
    """Figure 1 on the quick profile, as the report draws it (one run of m = 400 to t of about 200)."""
    out = tmp_path_factory.mktemp("figure1")
    return F.figure_multistage(Context.make("quick"), out), out


def test_figure1_is_written_with_its_caption(figure1):
    fig, out = figure1
    check_written(fig, out)
    assert fig["name"] == "figure1"


def test_figure1_reaches_the_escape_from_the_secondary_plateau(figure1):
    fig, _ = figure1
    names = [s["name"] for s in fig["stages"]]
    assert len(names) >= 4, names
    assert names[:4] == ["initial plateau", "descent", "secondary plateau", "descent 2"], names
    plateau, escape = fig["stages"][2], fig["stages"][3]
    assert plateau["end"] - plateau["start"] > 10 * (fig["stages"][1]["end"] - fig["stages"][1]["start"])
    # the run goes on past the escape: the horizon is 1.25 to 1.5 x the measured escape time
    assert fig["escape"] is not None and escape["start"] < fig["escape"]
    assert 1.25 * fig["escape"] <= fig["t_max"] <= 1.5 * fig["escape"] * 1.001


@pytest.fixture(scope="module")
def tiny_context():
    """The quick profile at m = 60 on 60 samples: the other simulated figures in a few seconds."""
    return Context(replace(PROFILES["quick"], width=60, samples=60))


@pytest.mark.parametrize("name", ["figure_targets", "figure_logistic", "figure_linear_deviation", "figure_w2rel"])
def test_simulated_figures_are_written(tiny_context, tmp_path, name):
    fig = getattr(F, name)(tiny_context, tmp_path)
    check_written(fig, tmp_path)


def test_w2rel_figure_draws_the_window_the_D7_claims_judge(tiny_context, tmp_path):
    """The D7 figure marks the plateau window (K below 2 %) and, on it, the simulated W2rel stays within
    D7-w2rel-linear-law's tolerance K(t) of the linear flow's (measured 0.34 of it at m = 60, 0.62 at quick's
    m = 400); the window starts a quarter of the way to its end, as the claims take it."""
    fig = F.figure_w2rel(tiny_context, tmp_path)
    assert fig["name"] == "w2rel" and fig["width"] == tiny_context.profile.width
    lo, hi = fig["window_tau"]
    assert 0 < lo < hi and lo == pytest.approx(hi / 4, rel=0.2)
    assert fig["max_gap_over_K"] is not None and 0 < fig["max_gap_over_K"] < 1


def d9(key: str, values: list) -> dict:
    return {"status": "passed", "measured": {key: values, "mean_T_d": [4.0 + 0.5 * i for i in range(len(values))]},
            "fits": {"T_d": {"slope": 1.0, "predicted": 1.0, "predicted_points": [4.0 + 0.5 * i for i in range(len(values))]}}}


def d11(widths, durations, **extra) -> dict:
    return {"claim": F.D11, "status": "passed",
            "measured": {"widths": widths, "durations": durations, "exponent": 0.6},
            "fits": {"log duration vs log m (every width and seed)":
                     {"slope": 0.6, "intercept": 1.2, "interval": [0.5, 0.7], "confidence": 0.95}},
            "details": {"per_width": [{"width": w, "seed": 1 + i % 2} for i, w in enumerate(widths)],
                        "censored_widths": [{"width": 800, "seed": 2}]},
            "tolerance": {"name": "escape-drop", "value": 0.05, "justification": "..."}, **extra}


def test_figure2_is_drawn_from_the_d9_verdicts(tmp_path):
    verdicts = {"D9-slope-alpha": d9("alphas", [0.75, 1.0, 1.25]),
                "D9-slope-log-m": d9("widths", [125, 250, 500, 1000])}
    fig = F.figure_descent_time(verdicts, tmp_path)
    check_written(fig, tmp_path)


def test_figure3_is_drawn_from_the_d11_verdict(tmp_path):
    verdicts = {F.D11: d11([50, 50, 100, 100, 200, 200, 400, 400], [30, 40, 45, 55, 60, 90, 130, 128])}
    fig = F.figure_secondary_plateau(verdicts, tmp_path)
    check_written(fig, tmp_path)
    assert "800" in fig["caption"]                 # the censored run is named, not drawn
    assert [f["name"] for f in F.result_figures(verdicts, tmp_path)] == ["figure3"]


@pytest.mark.parametrize("verdict", [
    None,
    {"status": "inconclusive", "measured": {"widths": [50]}, "fits": {}},       # one width: no fit
    {"status": "inconclusive", "measured": None, "fits": {}},                   # the check raised
    d11([50, 100], [30.0, 45.0], fits={}),                                     # no fit
    d11([50, 100, 200], [30.0, 45.0]),                                         # lengths disagree
])
def test_figure3_is_skipped_without_data(tmp_path, verdict):
    verdicts = {} if verdict is None else {F.D11: verdict}
    assert F.figure_secondary_plateau(verdicts, tmp_path) is None
    assert F.result_figures(verdicts, tmp_path) == []
    assert not list(tmp_path.iterdir())
