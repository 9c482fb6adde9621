"""The README's Python examples run as written (a renamed entry point or key breaks this test)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
API = README.read_text().split("## Python API", 1)[1].split("\n## ", 1)[0]
EXAMPLES = re.findall(r"```python\n(.*?)```", API, flags=re.S)


def test_the_api_section_has_an_example_per_paper():
    assert len(EXAMPLES) >= 4
    assert all(word in API for word in ("multistage", "early-training", "noisy-quadratic"))


@pytest.mark.parametrize("code", EXAMPLES, ids=[e.splitlines()[0][2:30] for e in EXAMPLES])
def test_readme_example_runs(code, monkeypatch, capsys):
    monkeypatch.chdir(README.parent)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})
    out = capsys.readouterr().out
    assert out.strip()                              # every example prints what it computed
    # issue 23: a None printed bare ("0.52 None {...}") says nothing; it is followed by the reason in words
    bare = [line for line in out.splitlines() if re.search(r"\bNone\b(?!,?\s+[A-Za-z(])", line)]
    assert not bare, bare


def test_every_documented_name_is_exported():
    import importlib

    import verify

    found = re.findall(r"from (verify(?:\.\w+)?) import ([\w, ]+)", API)
    assert {package for package, _ in found} >= {"verify", "verify.multistage", "verify.early_training",
                                                  "verify.noisy_quadratic"}
    for package, names in found:
        module = importlib.import_module(package)
        for item in names.split(","):
            assert item.strip() in module.__all__, (package, item)
            assert getattr(module, item.strip()) is not None
    assert os.path.basename(verify.__file__) == "__init__.py"


def test_the_papers_names_at_the_top_level_warn_and_still_work():
    import warnings

    import verify
    from verify.multistage import predict

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert verify.predict is predict
    assert any(issubclass(w.category, DeprecationWarning) and "verify.multistage.predict" in str(w.message)
               for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # control: a shared name does not warn
        assert callable(verify.run_claims)


def _update_readme():
    import importlib.util

    path = README.parent / "scripts" / "update_readme.py"
    spec = importlib.util.spec_from_file_location("update_readme", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_counts_and_times_are_generated_from_the_committed_reports():
    """The README's counts of passing claims and the reports' run times are the generated block, current."""
    tool = _update_readme()
    text = README.read_text()
    block = tool.summary_block()
    assert block in text, "README.md is not current: run python scripts/update_readme.py"
    assert re.search(r"\*\*\d+ of \d+ claims pass\*\*", block)
    # negative control: a count typed by hand that disagrees with the reports is caught
    forged = tool.replace_block(text, block.replace(" claims pass**", " claims pass** ").replace("**", "*", 1))
    assert tool.summary_block() not in forged
    # no other "N of M claims pass" sentence outside the block
    outside = tool.replace_block(text, "")
    assert not re.search(r"\b\d+ of (the )?\d+ claims pass", outside)


def test_the_readme_block_counts_every_status_the_verifier_reports():
    """scripts/update_readme.py reads the reports as data with its own list of statuses: the verifier's, in its
    order (a status added to verify.registry and not here would go uncounted in the README)."""
    from verify.registry import STATUSES

    assert _update_readme().STATUSES == STATUSES
