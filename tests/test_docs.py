"""The documentation holds (issue 22): the README for a user, docs/ for a maintainer.

- docs/adding.md's claim example runs against the real registry, in a state restored afterwards: its derivation
  proves what the claim's title states (every identity zero, the title's right-hand side the identity's), the
  claim registers, passes at the quick profile, and its negative and calibrated controls fail.  Controls: the
  example with a wrong identity (``3|z|^2/8``, the error of the README's former example) or with a title that
  disagrees with its identity fails.
- its paper example is the fixture package that tests/test_outside_paper.py installs and runs: each block marked
  ``<!-- file: PATH -->`` is in that file, word for word.
- every relative link of README.md and docs/*.md names a file of the tree (and a heading, for ``#anchor``); every
  path the docs name in backticks exists.  Control: a broken link and a missing path are caught.
- the README stays under 200 lines; the stage detector's specification is docs/stages.md, and ``stages --help``
  says what the command needs and where the specification is.
"""
from __future__ import annotations

import contextlib
import importlib.util
import re
import textwrap
from pathlib import Path

import pytest
import sympy as sp

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
ADDING = ROOT / "docs" / "adding.md"

# --- code blocks -----------------------------------------------------------------------------------------------

_BLOCK = re.compile(r"(?:<!-- file: (?P<file>\S+) -->\n)?(?P<indent> *)```(?P<lang>\w+)\n(?P<body>.*?)\n(?P=indent)```",
                    re.S)


def code_blocks(text: str, lang: str) -> list[tuple[str | None, str]]:
    """The ``(file marker or None, code)`` of each fenced block of ``lang`` in ``text``, dedented."""
    out = []
    for m in _BLOCK.finditer(text):
        if m.group("lang") == lang:
            body = "\n".join(line[len(m.group("indent")):] for line in m.group("body").splitlines())
            out.append((m.group("file"), textwrap.dedent(body) + "\n"))
    return out


def section(text: str, heading: str) -> str:
    return text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


def claim_example() -> tuple[str, str]:
    """The claim example of docs/adding.md: its derivation block and its check block."""
    blocks = code_blocks(section(ADDING.read_text(), "## Adding a claim"), "python")
    assert len(blocks) == 2, [code[:60] for _, code in blocks]
    return blocks[0][1], blocks[1][1]


@contextlib.contextmanager
def restored_registry():
    """The real claim registry with every paper loaded, restored to that state on leaving."""
    from verify import registry as reg

    reg.load_papers()
    claims, papers = dict(reg.REGISTRY), dict(reg.PAPER_REGISTRY)
    try:
        yield reg
    finally:
        reg.REGISTRY.clear()
        reg.REGISTRY.update(claims)
        reg.PAPER_REGISTRY.clear()
        reg.PAPER_REGISTRY.update(papers)


@pytest.fixture
def registry():
    with restored_registry() as reg:
        yield reg


def _rhs(statement: str) -> str:
    return " ".join(statement.split("=", 1)[1].split())


def run_claim_example(derive_code: str, check_code: str, registry, monkeypatch) -> dict:
    """Run the example as a maintainer would add it; raise AssertionError where it does not hold."""
    import importlib

    from theory.multistage import critical_point

    namespace = dict(vars(critical_point), identities={}, results={})
    exec(compile(derive_code, "docs/adding.md (derivation)", "exec"), namespace)
    identities, results = namespace["identities"], namespace["results"]
    assert identities and all(value is True for value in identities.values()), identities
    r_half = namespace["R_half"]
    assert isinstance(r_half, sp.Expr) and r_half.free_symbols, "the prediction is a SymPy expression"
    assert set(results) == {"R(1/2)"}
    monkeypatch.setattr(critical_point, "R_half", r_half, raising=False)

    assert "D10-loss-at-half" not in registry.REGISTRY
    exec(compile(check_code, "docs/adding.md (check)", "exec"), {"__name__": "docs_adding_example"})
    claim = registry.REGISTRY["D10-loss-at-half"]
    assert claim.paper == "multistage" and claim.derivation == "D10"
    (statement,) = identities
    assert _rhs(statement) == _rhs(claim.title), (statement, claim.title)     # the title states what is derived

    ctx = importlib.import_module("verify.multistage.context").Context.make("quick")
    verdicts = {"check": claim.check(ctx), "negative": claim.negative_control(ctx),
                "calibrated": claim.calibrated_control(ctx)}
    assert verdicts["check"].status.value == "passed", verdicts["check"].key
    assert 0 <= verdicts["check"].key["margin"] < 1 and verdicts["check"].resolution["value"] > 0
    assert verdicts["negative"].status.value == "failed", verdicts["negative"].key
    assert verdicts["calibrated"].status.value == "failed", verdicts["calibrated"].key
    return verdicts


def test_the_claim_example_runs_against_the_registry(registry, monkeypatch):
    run_claim_example(*claim_example(), registry, monkeypatch)
    assert "D10-loss-at-half" in registry.REGISTRY


def test_the_claim_example_leaves_no_claim_behind(monkeypatch):
    from theory.multistage import critical_point

    _, check_code = claim_example()
    monkeypatch.setattr(critical_point, "R_half", critical_point.R_of_K.subs(critical_point.Kv, sp.Rational(1, 2)),
                        raising=False)
    with restored_registry() as reg:
        before = dict(reg.REGISTRY)
        exec(compile(check_code, "docs/adding.md (check)", "exec"), {"__name__": "docs_adding_example"})
        assert set(reg.REGISTRY) - set(before) == {"D10-loss-at-half"}       # control: it did register
    assert reg.REGISTRY == before and "D10-loss-at-half" not in reg.REGISTRY


def test_a_wrong_identity_in_the_example_fails_control(registry, monkeypatch):
    derive_code, check_code = claim_example()
    wrong = derive_code.replace("+ z_norm**2 / 8)", "+ 3 * z_norm**2 / 8)")
    assert wrong != derive_code
    with pytest.raises(AssertionError):
        run_claim_example(wrong, check_code, registry, monkeypatch)


def test_a_title_that_disagrees_with_its_identity_fails_control(registry, monkeypatch):
    derive_code, check_code = claim_example()
    wrong = check_code.replace('"R(t_half) = R* + |z|^2/8"', '"R(t_half) = R* + 3|z|^2/8"')
    assert wrong != check_code
    with pytest.raises(AssertionError):
        run_claim_example(derive_code, wrong, registry, monkeypatch)


def test_the_prose_states_the_derived_formula():
    derive_code, _ = claim_example()
    statement = re.search(r'identities\["([^"]+)"\]', derive_code).group(1)
    prose = section(ADDING.read_text(), "## Adding a claim").split("```", 1)[0]
    assert f"`{_rhs(statement)}`" in prose


def test_the_paper_example_is_the_fixture_package_word_for_word():
    marked = [(f, code) for lang in ("python", "toml") for f, code in code_blocks(ADDING.read_text(), lang) if f]
    assert {f for f, _ in marked} >= {"tests/data/outside_paper/pyproject.toml",
                                      "tests/data/outside_paper/toy_flow/paper.py",
                                      "tests/data/outside_paper/toy_flow/theory.py"}
    for path, code in marked:
        assert code.strip() in (ROOT / path).read_text(), path


# --- links and paths -------------------------------------------------------------------------------------------

_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#+ +(.*)$", text, flags=re.M)}


def broken_links(path: Path, text: str | None = None) -> list[str]:
    """The relative links of the Markdown file ``path`` (or of ``text`` read as if at ``path``) that name no file
    of the tree, or no heading of the Markdown file they name."""
    text = path.read_text() if text is None else text
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    out = []
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        where = (path.parent / file).resolve() if file else path
        if not where.exists() or ROOT not in where.parents and where != ROOT:
            out.append(target)
        elif anchor and where.suffix == ".md" and anchor not in anchors(where):
            out.append(target)
    return out


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_every_relative_link_resolves(path):
    assert broken_links(path) == []


def test_a_broken_link_is_caught_control():
    text = "[a](docs/layout.md) [b](docs/nowhere.md) [c](docs/layout.md#no-such-heading) [d](https://x.org/y)"
    assert broken_links(README, text) == ["docs/nowhere.md", "docs/layout.md#no-such-heading"]


_PATH = re.compile(r"`((?:theory|verify|tests|benchmarks|scripts|docs|reports)/[\w./-]*)`")


def missing_paths(text: str) -> list[str]:
    """Paths named in backticks (without placeholders) that do not exist."""
    return [rel for rel in (r.rstrip("/.") for r in _PATH.findall(text)) if not (ROOT / rel).exists()]


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_every_path_the_docs_name_exists(path):
    assert missing_paths(path.read_text()) == []


def test_a_missing_path_is_caught_control():
    assert missing_paths("`verify/multistage/claims/nowhere.py` and `verify/registry.py`") == [
        "verify/multistage/claims/nowhere.py"]


# --- the two readers -------------------------------------------------------------------------------------------

def test_the_readme_is_for_a_user_and_links_the_maintainer_docs():
    text = README.read_text()
    assert len(text.splitlines()) < 200
    for name in ("layout", "adding", "kernel", "testing", "stages"):
        assert f"(docs/{name}.md)" in text, name
    assert re.search(r"!\[[^\]]*\]\(reports/[^)]+\.png\)", text)          # one picture from the committed reports


def test_the_stage_detector_specification_is_in_docs():
    import verify.stages
    from verify.cli import build_parser

    spec = (ROOT / "docs" / "stages.md").read_text()
    for heading in ("## Definition of a stage", "## Smoothing scales", "## Change points (noisy curves)"):
        assert heading in spec
    assert len(verify.stages.__doc__.splitlines()) == 1 and "docs/stages.md" in verify.stages.__doc__
    parser = build_parser()
    stages = parser._subparsers._group_actions[0].choices["stages"]
    help_text = " ".join(stages.format_help().split())
    assert "header row" in help_text and "docs/stages.md" in help_text and "loss column" in help_text
