"""The report renderer: validation, Markdown, self-contained HTML, atomic files, re-rendering."""
from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from theory.errors import InputError
from verify.report import SCHEMA, render_html, render_markdown, rerender, validate_report, write_report

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def make_png(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(1.2, 0.9), dpi=40)
    ax.plot([0, 1, 2], [1.0, 0.4, 0.1])
    fig.savefig(path)
    fig.savefig(path.with_suffix(".svg"))
    plt.close(fig)


def make_report() -> dict:
    return {
        "schema": SCHEMA,
        "run_id": "20250101-quick-s0",
        "paper": {"key": "demo", "title": "A demonstration paper", "arxiv": "arXiv:0000.00000"},
        "profile": "quick",
        "created": "2025-01-01T12:00:00+00:00",
        "seed": 0,
        "wall_time_s": 12.3456789,
        "git_revision": "abc1234",
        "backend": "numpy",
        "device": "cpu",
        "versions": {"python": "3.11.7", "numpy": "1.26.0", "scipy": "1.11.0", "sympy": "1.12",
                     "matplotlib": "3.8.0", "torch": None},
        "config": {"model": {"activation": "tanh", "width": 400, "alpha": 1.0}, "train": {"t_max": 60.0}},
        "summary": {"passed": 1, "failed": 1, "inconclusive": 0, "error": 0, "not-applicable": 1},
        "claims": [
            {
                "claim": "D9-descent-time", "title": "Descent time t_half", "derivation": "D9",
                "status": "passed", "label": "Reconstruction of a result of arXiv:2410.20119",
                "statement": "The loss leaves the plateau at\n    t_half = log(1/K0 - 1) / (2|z|)\nwith K0 small.",
                "assumptions": "alpha > 1/2; z != 0.",
                "latex": [r"t_{1/2} = \frac{\log(1/K_0 - 1)}{2 |z|}", r"K(t) = \frac{1}{1 + (1/K_0 - 1) e^{-2|z| t}}"],
                "predicted": {"t_half": 3.14159265358979, "growth_rate": 2.0}, "measured": {"t_half": 3.1502},
                "tolerance": {"name": "rel_tol", "value": 0.05, "justification": "discretisation error < 1%"},
                "seeds": [0, 1, 2],
                "fits": {"log_width": {"slope": 0.98765432, "interval": [0.9, 1.07], "band": [0.95, 1.05],
                                       "predicted": 1.0, "points": 4}},
                "details": {"widths": [100, 200, 400, 800]},
                "negative_control": {"description": "growth rate doubled", "status": "failed",
                                     "predicted": {"t_half": 1.57}, "measured": {"t_half": 3.1502}},
                "calibrated_control": {"description": "growth rate times 1.075", "status": "failed", "key": None},
                "resolution": {"detects": "t_half off by >= 7.5 %", "value": 0.075, "unit": "relative"},
                "figures": ["figures/descent.png"], "wall_time_s": 4.2,
            },
            {
                "claim": "H1-heuristic-width", "title": "Width scaling | heuristic", "derivation": "D11",
                "status": "failed", "label": "measurement of a heuristic claim",
                "statement": "A heuristic.", "assumptions": "", "latex": [],
                "predicted": 1.0, "measured": 1.7, "tolerance": None, "seeds": [3], "fits": {},
                "details": {}, "negative_control": None, "figures": ["figures/missing.png"],
                "wall_time_s": 1.0,
                "expected": {"status": "failed", "reason": "the heuristic does not hold at these widths"},
            },
            {
                "claim": "D6-plateau", "title": "Plateau time", "derivation": "D6", "status": "not-applicable",
                "label": "check of a reconstructed theorem", "predicted": None, "measured": None,
                "tolerance": None, "seeds": [], "fits": {}, "figures": [],
            },
        ],
        "figures": [{"name": "descent", "title": "Loss descent", "caption": "Loss against time.",
                     "png": "figures/descent.png", "svg": "figures/descent.svg"}],
    }


@pytest.fixture
def run_dir(tmp_path):
    make_png(tmp_path / "figures" / "descent.png")
    return tmp_path


class StrictParser(HTMLParser):
    """Collects src/href values and checks that every non-void tag is closed in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.urls, self.ids = [], [], [], []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href"):
                self.urls.append(value or "")
            if name == "id":
                self.ids.append(value)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}>, open: {self.stack[-3:]}")
        else:
            self.stack.pop()


def parse(page: str) -> StrictParser:
    p = StrictParser()
    p.feed(page)
    p.close()
    return p


# ------------------------------------------------------------------------------ validation

def test_validate_accepts_the_synthetic_report():
    validate_report(make_report())


@pytest.mark.parametrize("mutate, field", [
    (lambda r: r.pop("run_id"), "run_id"),
    (lambda r: r.update(schema="verify-report/1"), "schema"),
    (lambda r: r.pop("paper"), "paper"),
    (lambda r: r["paper"].update(key=" "), "paper.key"),
    (lambda r: r["claims"][1].update(status=1), "claims[1].status"),
    (lambda r: r["claims"][1].update(status="ok"), "claims[1].status"),
    (lambda r: r["claims"][0].pop("measured"), "claims[0].measured"),
    (lambda r: r["claims"][0]["tolerance"].pop("justification"), "claims[0].tolerance.justification"),
    (lambda r: r["summary"].pop("not-applicable"), "summary.not-applicable"),
    (lambda r: r["summary"].pop("error"), "summary.error"),                # schema 4 counts errors
    (lambda r: r["claims"][1]["expected"].update(status="fine"), "claims[1].expected.status"),
    (lambda r: r["claims"][1]["expected"].update(status="error"), "claims[1].expected.status"),
    (lambda r: r["claims"][1]["expected"].update(reason=3), "claims[1].expected.reason"),
    (lambda r: r["claims"][1].update(status="error"), "claims[1].traceback"),   # an error keeps its traceback
    (lambda r: r["claims"][0]["negative_control"].update(status="crashed"), "claims[0].negative_control.status"),
    (lambda r: r["versions"].update(numpy=1), "versions.numpy"),
    (lambda r: r.update(seed=True), "seed"),
    (lambda r: r["figures"][0].update(png="../outside.png"), "figures[0].png"),
    (lambda r: r["claims"][2].update(claim="D9-descent-time"), "claims[2].claim"),
    (lambda r: r["claims"][0]["fits"]["log_width"].update(interval=[1]), "claims[0].fits.log_width.interval"),
])
def test_validate_rejects_broken_variants_naming_the_key(mutate, field):
    report = make_report()
    mutate(report)
    with pytest.raises(InputError) as info:
        validate_report(report)
    assert info.value.field == field
    assert field in str(info.value)


def test_validate_rejects_a_non_object():
    with pytest.raises(InputError):
        validate_report([])


# ------------------------------------------------------------------------------ Markdown

def test_markdown_summary_math_and_figures():
    md = render_markdown(make_report())
    assert md.startswith("# Verification report 20250101-quick-s0 (quick profile, 2025-01-01)")
    rows = [ln for ln in md.splitlines() if ln.startswith("| [")]
    assert len(rows) == 3
    for row, (cid, status) in zip(rows, [("D9-descent-time", "passed"), ("H1-heuristic-width", "failed"),
                                         ("D6-plateau", "not-applicable")]):
        assert cid in row and f"| {status}" in row
        assert row.count(" | ") == 8  # nine cells: a '|' in a title is escaped
        assert row.split(" | ")[1].startswith(status)   # the status right after the claim id
    # a claim without a key number: a sentence, never its raw values (JSON) or a tolerance string
    assert "no key number; the check detects t\\_half off by \\>= 7.5 %" in rows[0]
    assert "t_half: 3.14159" not in rows[0] and "rel_tol" not in rows[0] and "{" not in rows[0]
    assert "Width scaling \\| heuristic" in rows[1]
    assert "no key number: the measurement is outside the tolerance" in rows[1]   # did not pass: says why
    # its expected verdict (the reason in its section); the default (passed) in the others
    assert rows[1].endswith("| failed (a finding: the claim's section says why) | \u2014 |")
    assert rows[0].endswith("| passed | detects t\\_half off by \\>= 7.5 % |") and rows[2].endswith("| passed | \u2014 |")
    # the calibrated and negative controls, one line each
    assert "**Calibrated control:** failed" in md and "growth rate times 1.075" in md
    assert "**Negative control:** failed" in md and "growth rate doubled" in md
    assert "**Expected verdict:** failed: the heuristic does not hold at these widths. The verdict equals it." in md
    assert "Every verdict equals its expectation." in md and "Verdicts that differ" not in md
    lines = md.splitlines()
    opens = [i for i, ln in enumerate(lines) if ln == "```math"]      # display math in fenced math blocks
    # the derivation text once per derivation; a later claim of the same derivation links to it
    assert len(opens) == 2 and lines[opens[0] + 1].startswith("t_{1/2} = \\frac")
    assert "$$" not in md
    assert "![Figure 1. Loss descent](figures/descent.png)" in md
    assert "[SVG](figures/descent.svg)" in md
    assert "![figures/missing.png](figures/missing.png)" in md
    assert "<details><summary>Statement and derived results</summary>" in md
    assert "t_half = log(1/K0 - 1) / (2|z|)" in md                             # indented formula kept as code
    assert md.index("## Figures") < md.index('<a id="claim-D9-descent-time">')  # summary and figures lead
    assert "python -m verify all" in md and "python -m verify report reports/demo/20250101-quick-s0" in md
    assert "abc1234" in md and "3.8.0" in md and "12.3457 s" in md


# ------------------------------------------------------------------------------ HTML

def test_html_is_self_contained_and_well_formed(run_dir):
    page = render_html(make_report(), run_dir)
    assert "data:image/png;base64," in page
    parser = parse(page)
    assert parser.errors == [] and parser.stack == []
    assert not [u for u in parser.urls if re.match(r"\s*(https?:)?//", u)]
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*https?://""", page, re.I)
    assert "<script" not in page and "@import" not in page and "url(" not in page
    for cid, status in [("D9-descent-time", "passed"), ("H1-heuristic-width", "failed"),
                        ("D6-plateau", "not-applicable")]:
        assert cid in page
        assert f'class="status status-{status}">{status}</span>' in page
    assert "figures/missing.png</code> is missing" in page      # visible note, no crash
    assert "Width scaling | heuristic" in page
    assert "\\frac{\\log(1/K_0 - 1)}{2 |z|}" in page
    assert len(parser.ids) == len(set(parser.ids))


def test_html_escapes_text_and_notes_missing_figures(tmp_path):
    report = make_report()
    report["claims"][0]["title"] = "<script>alert(1)</script> & co"
    page = render_html(report, tmp_path)  # no figures on disk at all
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "data:image/png" not in page
    assert "figures/descent.png</code> is missing" in page
    assert parse(page).errors == []


# ------------------------------------------------------------------------------ files

def test_write_report_writes_three_files_and_rerender_matches(run_dir):
    paths = write_report(make_report(), run_dir)
    assert set(paths) == {"json", "md", "html"}
    for p in paths.values():
        assert Path(p).parent == run_dir and Path(p).is_file()
    assert json.loads(Path(paths["json"]).read_text()) == make_report()
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]  # no temporary files left
    md, page = Path(paths["md"]).read_bytes(), Path(paths["html"]).read_bytes()
    Path(paths["md"]).unlink()
    Path(paths["html"]).write_text("stale")
    again = rerender(run_dir)
    assert set(again) == {"md", "html"}
    assert Path(again["md"]).read_bytes() == md
    assert Path(again["html"]).read_bytes() == page


def test_write_report_writes_nothing_for_an_invalid_report(tmp_path):
    report = make_report()
    report["claims"][0]["status"] = "great"
    out = tmp_path / "run"
    with pytest.raises(InputError, match=r"claims\[0\]\.status"):
        write_report(report, out)
    assert not out.exists()
    out.mkdir()
    with pytest.raises(InputError):
        write_report(report, out)
    assert list(out.iterdir()) == []


def test_write_report_normalises_non_json_values(tmp_path):
    report = make_report()
    report["claims"][0]["measured"] = {"t_half": float("nan"), "pair": (1, 2)}
    paths = write_report(report, tmp_path)
    text = Path(paths["json"]).read_text()
    assert "NaN" not in text
    assert json.loads(text)["claims"][0]["measured"] == {"t_half": None, "pair": [1, 2]}
    with pytest.raises(InputError, match=r"claims\[0\]\.details\.obj"):
        bad = make_report()
        bad["claims"][0]["details"]["obj"] = object()
        write_report(bad, tmp_path / "bad")


def test_rerender_errors_name_the_path(tmp_path):
    with pytest.raises(InputError) as info:
        rerender(tmp_path / "nowhere")
    assert "report.json" in info.value.field
    (tmp_path / "report.json").write_text("{not json")
    with pytest.raises(InputError) as info:
        rerender(tmp_path)
    assert info.value.field == str(tmp_path / "report.json")
    report = make_report()
    del report["claims"][1]["title"]
    (tmp_path / "report.json").write_text(json.dumps(report))
    with pytest.raises(InputError) as info:
        rerender(tmp_path)
    assert str(tmp_path / "report.json") in info.value.field and "claims[1].title" in info.value.field
    assert not (tmp_path / "report.md").exists() and not (tmp_path / "report.html").exists()


def test_rendering_is_deterministic(run_dir):
    report = make_report()
    text = json.dumps(report)
    a = (render_markdown(json.loads(text)), render_html(json.loads(text), run_dir))
    b = (render_markdown(json.loads(text)), render_html(json.loads(text), run_dir))
    assert a == b
    assert report == json.loads(text)  # rendering does not modify its input
    first = {k: Path(v).read_bytes() for k, v in write_report(copy.deepcopy(report), run_dir / "a").items()}
    # figures live beside report.json; a second folder without them differs only in the HTML
    second = {k: Path(v).read_bytes() for k, v in write_report(copy.deepcopy(report), run_dir / "b").items()}
    assert first["json"] == second["json"] and first["md"] == second["md"]
    again = {k: Path(v).read_bytes() for k, v in write_report(copy.deepcopy(report), run_dir / "a").items()}
    assert again == first


def test_the_same_figure_gives_the_same_svg_and_png_bytes():
    """Figures are byte-reproducible: no timestamps, and SVG ids from a fixed salt (matplotlib's default salt is
    random per process, as the control shows with a salt changed by hand)."""
    import matplotlib

    from verify.report.figures import figure_bytes, pyplot

    plt = pyplot()

    def make():
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [1, 0.5, 0.1])
        ax.set_xlabel("t")
        return fig

    figs = [make(), make()]
    for ext in ("svg", "png"):
        assert figure_bytes(figs[0], ext) == figure_bytes(figs[1], ext)
    buf = __import__("io").BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "another salt"}):
        figs[1].savefig(buf, format="svg", metadata={"Date": None})
    assert buf.getvalue() != figure_bytes(figs[0], "svg")
    for fig in figs:
        plt.close(fig)


def test_an_error_and_verdicts_that_differ_from_their_expectation_are_shown(run_dir):
    """A check that raised: status error, its traceback as a block (never markup), one line in the summary row;
    an expected failure that passed and the error are named above the table, each marked in its row and
    section; the HTML stays well-formed."""
    report = make_report()
    c0, c1 = report["claims"][0], report["claims"][1]
    c0.update(status="error", key=None, traceback="The check raised:\nTraceback (most recent call last):\n"
              "  File \"x.py\", line 1, in check\n    ```fence``` <b>\nValueError: boom <script>")
    c1["status"] = "passed"
    report["summary"] = {"passed": 1, "failed": 0, "inconclusive": 0, "error": 1, "not-applicable": 1}
    validate_report(report)
    md = render_markdown(report)
    assert ("**Verdicts that differ from their expectation:** `D9-descent-time` (error, expected passed), "
            "`H1-heuristic-width` (passed, expected failed).") in md
    rows = [ln for ln in md.splitlines() if ln.startswith("| [")]
    assert "| error | Descent time" in rows[0]
    assert ("| no key number: the check raised ValueError: boom \\<script\\> | \u2014 | \u2014 | \u2014 | "
            "**differs: expected passed** |") in rows[0]
    assert rows[1].endswith("| \u2014 | **differs: expected failed**, a finding: the claim's section says why "
                            "| \u2014 |")
    assert "**1 claims:**" not in md and "1 passed, 0 failed, 0 inconclusive, 1 error, 1 not-applicable" in md
    assert "### Error" in md and "````text\nThe check raised:" in md    # a longer fence than the traceback's
    page = render_html(report, run_dir)
    parser = parse(page)
    assert parser.errors == [] and parser.stack == []
    assert "<script>" not in page and "ValueError: boom &lt;script&gt;" in page
    assert '<section class="claim error"' in page and 'class="status status-error">error</span>' in page


# ------------------------------------------------------------------------------ the package's seams

def test_the_old_render_module_re_exports_the_split_modules_names():
    """verify.report.render was split along its jobs (issue 22): each of its old public names is still importable
    from it and is the very object of the module that now holds it."""
    from verify.report import files, html, markdown, render, schema, sections

    homes = {"validate_report": schema, "validate_claim": schema, "SCHEMA": schema, "render_markdown": markdown,
             "render_html": html, "write_report": files, "rerender": files, "format_margin": sections,
             "counts_text": sections, "range_text": sections, "expectation_of": sections, "unexpected": sections,
             "paper_line": sections, "SUMMARY_COLUMNS": sections}
    assert set(homes) <= set(render.__all__)
    for name, module in homes.items():
        assert getattr(render, name) is getattr(module, name), name


def test_the_style_sheet_is_package_data_and_inlined(run_dir):
    """The CSS lives in verify/report/report.css, read with importlib.resources: the page inlines it whole, and
    pyproject ships it as package data (a wheel without it would render pages without a style)."""
    from importlib.resources import files

    css = files("verify.report").joinpath("report.css").read_text(encoding="utf-8").strip()
    assert css.startswith(":root {") and ".status-passed" in css and "dl.kv dd" in css
    page = render_html(make_report(), run_dir)
    assert f"<style>\n{css}\n</style>" in page
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^verify = \[[^\]]*"report/report\.css"', pyproject, re.M)
