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
    assert capsys.readouterr().out.strip()          # every example prints what it computed


def test_every_documented_name_is_exported():
    import verify

    for name in re.findall(r"from verify import ([\w, ]+)", API):
        for item in name.split(","):
            assert item.strip() in verify.__all__, item
    assert os.path.basename(verify.__file__) == "__init__.py"
