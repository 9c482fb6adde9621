"""The figure of a claim that did not pass: one per failed or inconclusive verdict and none for the others, drawn
from the verdict alone whatever odd values it holds (None, NaN, infinities, a zero tolerance), shown in the
claim's section of both renderings, and written by a run of the verifier."""
from __future__ import annotations

import copy
import dataclasses

import pytest

from theory.errors import InputError
from verify.registry import Status, Tolerance, Verdict, key_number
from verify.report import render_html, render_markdown, validate_report
from verify.report.figures import draw_verdict, figure_bytes, verdict_figure, verdict_figures
from verify.stats import fraction_key, fraction_status

from test_report import StrictParser, make_png, make_report

NAN, INF = float("nan"), float("inf")
TOL = {"name": "rel", "value": 0.05, "justification": "discretisation error below 1 %"}


def verdict(cid: str, status: str, key=None, fits=None, tolerance=TOL, details=None) -> dict:
    return {"claim": cid, "title": cid, "status": status, "predicted": None, "measured": None,
            "tolerance": tolerance, "seeds": [], "fits": fits or {}, "details": details or {}, "figures": [],
            "key": key}


def k(measured, predicted=None, margin=None, why="did not pass", **extra) -> dict:
    return {"quantity": "ratio of the drops", "measured": measured, "predicted": predicted, "margin": margin,
            "why": why, **extra}


#: verdicts that did not pass, with every odd value a claim can leave in its verdict
ODD = {
    "band-and-interval": verdict("A-band", "failed", k(3.26, 1.0, 1.08, band=[1 / 3, 3.0], interval=[2.9, 3.6])),
    "no-key": verdict("B-nokey", "inconclusive", None, details={"error": "ValueError: the solver diverged"}),
    "all-none": verdict("C-none", "inconclusive", k(None, None, None, None), tolerance=None),
    "nan-measured-inf-margin": verdict("D-nan", "inconclusive", k(NAN, 1.0, INF)),
    "minus-inf-measured": verdict("E-minf", "failed", k(-INF, 0.0, NAN)),
    "zero-tolerance": verdict("F-zero", "failed", k(1e-12, 0.0, INF, band=[0.0, 0.0]),
                              tolerance={"name": "exact", "value": 0.0, "justification": "exact arithmetic"}),
    "zero-margin": verdict("G-zero-margin", "inconclusive", k(0.0, 0.0, 0.0)),
    "open-band-reversed-interval": verdict("H-open", "failed", k(-2.0, None, 4.0, band=[0.0, None],
                                                                  interval=[1.0, -5.0])),
    "decades-apart": verdict("I-log", "failed", k(1e-6, 10.0, 1e7, band=[5.0, 20.0])),
    "fits-with-holes": verdict("J-fits", "inconclusive", k(1.2, 1.0, 0.8), fits={
        "log R vs log m": {"slope": 1.2, "interval": [0.7, 1.9], "band": [0.9, 1.1], "predicted": 1.0},
        "open band": {"slope": NAN, "interval": [None, None], "band": [0.0, None]},
        "no slope": {"interval": [0.1, 0.3]},
        "not a fit": "a string where a fit should be"}),
    "many-fits": verdict("K-many", "failed", None, fits={f"fit {i}": {"slope": i, "interval": [i - 1, i + 1],
                                                                      "band": [0, 1]} for i in range(12)}),
    "tolerance-none-value": verdict("L-tolnone", "failed", k(2.0, 1.0, 2.0),
                                    tolerance={"name": "x", "value": None, "justification": ""}),
}
OTHERS = [verdict("P-passed", "passed", k(1.0, 1.0, 0.1, why=None)),
          verdict("N-not-applicable", "not-applicable", None)]


@pytest.mark.parametrize("case", list(ODD), ids=list(ODD))
def test_every_odd_verdict_draws_labelled_panels(case):
    fig = draw_verdict(ODD[case])
    assert fig is not None
    assert figure_bytes(fig, "png").startswith(b"\x89PNG")          # draws to the end, whatever the values
    for ax in fig.axes:
        assert ax.get_xlabel().strip() and ax.get_ylabel().strip(), (case, ax.get_xlabel(), ax.get_ylabel())
    assert ODD[case]["claim"] in fig._suptitle.get_text()


def test_a_figure_for_each_failed_or_inconclusive_verdict_and_none_for_the_others(tmp_path):
    chosen = [ODD["band-and-interval"], ODD["no-key"], ODD["nan-measured-inf-margin"], *OTHERS]
    figs = verdict_figures(chosen, tmp_path)
    assert [f["claim"] for f in figs] == ["A-band", "B-nokey", "D-nan"]
    for fig in figs:
        assert (tmp_path / f"{fig['name']}.png").read_bytes().startswith(b"\x89PNG")
        assert (tmp_path / f"{fig['name']}.svg").read_bytes().lstrip().startswith(b"<?xml")
        assert fig["png"] == f"figures/{fig['name']}.png" and fig["title"].strip()
    captions = {f["claim"]: f["caption"] for f in figs}
    assert "(failed)" in captions["A-band"] and "tolerance band [0.3333, 3]" in captions["A-band"]
    assert "ValueError: the solver diverged" in captions["B-nokey"]
    assert "measured NaN" in captions["D-nan"] and "margin inf" in captions["D-nan"]
    for other in OTHERS:
        assert draw_verdict(other) is None and verdict_figure(other, tmp_path) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{f['name']}.{e}" for f in figs
                                                                 for e in ("png", "svg"))


def test_claims_whose_ids_slug_alike_get_distinct_names(tmp_path):
    figs = verdict_figures([verdict("X.1", "failed", k(2.0, 1.0, 2.0)), verdict("X-1", "failed", k(2.0, 1.0, 2.0))],
                           tmp_path)
    assert [f["name"] for f in figs] == ["verdict-X-1", "verdict-X-1-2"]


def test_a_verdict_object_is_drawn_like_its_json():
    v = Verdict(Status.FAILED, 1.0, 2.0, Tolerance("rel", 0.1, "why"),
                key=key_number("ratio", 2.0, 1.0, 10.0, "too far", band=[0.9, 1.1]), claim="V-obj", title="A claim")
    fig = draw_verdict(v)
    assert fig is not None and len(fig.axes) == 2


def _key_axes(fig):
    return next(ax for ax in fig.axes if ax.get_ylabel() == "key quantity")


def test_the_key_panel_shows_the_band_and_the_interval():
    fig = draw_verdict(ODD["band-and-interval"])
    ax = _key_axes(fig)
    (band,) = ax.collections                                        # the shaded tolerance band
    xs = band.get_paths()[0].vertices[:, 0]
    assert xs.min() == pytest.approx(1 / 3) and xs.max() == pytest.approx(3.0)
    lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    assert any(list(ln.get_xdata()) == [2.9, 3.6] for ln in lines)     # the measured value's interval
    labels = ax.get_legend_handles_labels()[1]
    assert "measured 3.26" in labels and "predicted 1" in labels
    # without a band in the key nothing is shaded: the band is never guessed from the tolerance
    no_band = copy.deepcopy(ODD["band-and-interval"])
    del no_band["key"]["band"]
    assert len(_key_axes(draw_verdict(no_band)).collections) == 0


def test_a_fraction_key_carries_its_wilson_interval_and_the_band_it_must_lie_in():
    for ok, trials in ((10, 10), (2, 10), (6, 10)):
        status, interval = fraction_status(ok, trials)
        key = fraction_key("|x| <= 1", ok, trials, interval, status)
        assert key["interval"] == pytest.approx(interval) and key["band"] == [0.5, 1.0]
        assert (key["interval"][0] >= key["band"][0]) == (status is Status.PASSED)
    assert "band" not in key_number("q", 1.0) and "interval" not in key_number("q", 1.0)


def test_the_claim_section_shows_its_verdict_figure_and_the_figures_section_links_it(tmp_path):
    make_png(tmp_path / "figures" / "descent.png")
    report = make_report()
    failed = report["claims"][1]
    failed["key"] = k(1.7, 1.0, 14.0, band=[0.95, 1.05])
    (fig,) = verdict_figures(report["claims"], tmp_path / "figures")
    failed["figures"].append(fig["png"])
    report["figures"].append(fig)
    validate_report(report)
    md = render_markdown(report)
    section = md.split("## `H1-heuristic-width`", 1)[1].split("\n## ", 1)[0]
    assert "#### Figure 2. H1-heuristic-width: the failed verdict" in section
    assert f"![Figure 2. H1-heuristic-width: the failed verdict, measured against predicted]({fig['png']})" in section
    assert section.count(fig["png"]) == 1                            # the image (it links the PNG), no bullet
    figures_section = md.split("\n## Figures", 1)[1].split('<a id="claim-', 1)[0]
    assert "[Figure 2](#fig-2-verdict-H1-heuristic-width)" in figures_section
    assert "### Figure 1. Loss descent" in figures_section and "Figure 2." not in figures_section
    page = render_html(report, tmp_path)
    parser = StrictParser()
    parser.feed(page)
    assert not parser.errors and len(parser.ids) == len(set(parser.ids))
    claim_html = page.split('id="claim-H1-heuristic-width"', 1)[1].split("</section>", 1)[0]
    assert '<figure id="fig-2-verdict-H1-heuristic-width">' in claim_html
    assert "<h4>Figure 2. H1-heuristic-width" in claim_html and 'src="data:image/png;base64,' in claim_html


def test_a_figure_naming_no_claim_of_the_report_stays_in_the_figures_section(tmp_path):
    report = make_report()
    report["figures"][0]["claim"] = "not-a-claim-here"
    md = render_markdown(report)
    assert "### Figure 1. Loss descent" in md.split("\n## Figures", 1)[1]


@pytest.mark.parametrize("where, value", [("band", [1.0]), ("interval", ["a", 2.0]), ("band", 3.0)])
def test_validation_names_a_malformed_key_pair(where, value):
    report = make_report()
    report["claims"][1]["key"] = k(1.7, 1.0, 14.0, **{where: value})
    with pytest.raises(InputError) as err:
        validate_report(report)
    assert err.value.field == f"claims[1].key.{where}"


def test_a_run_with_a_failing_claim_writes_its_verdict_figure(tmp_path, monkeypatch):
    """D2 with its check replaced by its negative control (which fails): the run draws the verdict's figure,
    lists it in the report and in the claim, and the Markdown shows it in the claim's section; D1 passes and
    gets none."""
    from verify.registry import REGISTRY, load_papers
    from verify.runner import _run_papers

    load_papers()
    claim = REGISTRY["D2-taylor-remainder"]
    monkeypatch.setitem(REGISTRY, claim.id, dataclasses.replace(claim, check=claim.negative_control))
    ((report, paths),) = _run_papers([("multistage", ["D1-gradient-flow", claim.id], tmp_path)], profile="quick",
                                     paper_figures=False, progress=lambda *_: None)
    statuses = {c["claim"]: c["status"] for c in report["claims"]}
    assert statuses == {"D1-gradient-flow": "passed", claim.id: "failed"}
    figs = [f for f in report["figures"] if f.get("claim")]
    assert [f["claim"] for f in figs] == [claim.id]
    assert (tmp_path / figs[0]["png"]).is_file() and (tmp_path / figs[0]["svg"]).is_file()
    by_id = {c["claim"]: c for c in report["claims"]}
    assert figs[0]["png"] in by_id[claim.id]["figures"] and by_id["D1-gradient-flow"]["figures"] == []
    md = (tmp_path / "report.md").read_text()
    assert "#### Figure" in md.split(f"## `{claim.id}`", 1)[1].split("\n## ", 1)[0]


def test_verdict_figures_are_cached_like_the_papers_figures(tmp_path, monkeypatch):
    from verify.runner import _verdict_figures

    monkeypatch.setenv("VERIFY_NO_CACHE", "0")
    monkeypatch.setenv("VERIFY_CACHE_DIR", str(tmp_path))
    claims = [ODD["band-and-interval"], *OTHERS]
    first = _verdict_figures(claims)
    assert [f["claim"] for f in first["figures"]] == ["A-band"]
    assert set(first["files"]) == {"verdict-A-band.png", "verdict-A-band.svg"}
    assert list((tmp_path / "runs").rglob("*.json"))                 # stored
    assert _verdict_figures(claims) == first
    assert _verdict_figures(OTHERS) == {"figures": [], "files": {}}


def _numbers():
    from hypothesis import strategies as st

    return st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
                     st.sampled_from([0.0, -0.0, 1e-300, 1e300]))


def _verdicts():
    from hypothesis import strategies as st

    num = _numbers()
    text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)   # $ \\ ^ _ included
    pair = st.one_of(st.none(), st.lists(num, min_size=2, max_size=2), st.lists(num, max_size=3))
    key = st.one_of(st.none(), st.fixed_dictionaries(
        {"quantity": text, "measured": num, "predicted": num, "margin": num,
         "why": st.one_of(st.none(), text)},
        optional={"interval": pair, "band": pair}))
    fit = st.fixed_dictionaries({}, optional={"slope": num, "interval": pair, "band": pair, "predicted": num})
    tolerance = st.one_of(st.none(), st.fixed_dictionaries({"name": text, "value": num, "justification": text}))
    return st.builds(lambda status, key, fits, tol: verdict("P-prop", status, key, fits, tol),
                     st.sampled_from(["failed", "inconclusive"]), key,
                     st.dictionaries(text, fit, max_size=3), tolerance)


def test_any_verdict_draws_and_every_panel_is_labelled():
    """Whatever numbers (or None, NaN, infinities, malformed pairs) a verdict holds, its figure is drawn."""
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_verdicts())
    def draws(claim):
        fig = draw_verdict(claim)
        assert figure_bytes(fig, "png").startswith(b"\x89PNG")
        assert all(ax.get_xlabel().strip() and ax.get_ylabel().strip() for ax in fig.axes)

    draws()
