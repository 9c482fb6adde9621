"""The repository names no file outside itself (issue 23: example configurations and tests cited THEORY.md,
which a clone does not hold)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_OUTSIDE = re.compile(r"THEORY\.md|\.\./shared|/work/")


def _sources():
    for folder in ("verify", "theory", "tests", "benchmarks", "scripts", "docs"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".toml", ".md") and path.is_file() and path != Path(__file__):
                yield path
    yield ROOT / "README.md"


def test_no_file_names_a_file_outside_the_repository():
    found = [f"{p.relative_to(ROOT)}:{n}" for p in _sources()
             for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if _OUTSIDE.search(line)]
    assert found == []


def test_the_rule_sees_a_reference_control():
    assert _OUTSIDE.search("# The example configuration (THEORY.md Part 1).")
