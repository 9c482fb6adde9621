"""Engines raise errors in their own words (the parameter: ``rtol``), and the command line shows them in its words
(the option: ``--rtol``), one line, exit 2 (issue 22).  The translation is :meth:`theory.errors.InputError.named`
with each tool's mapping from parameter to option, read from the tool's own options (verify/cli.py)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from theory.errors import ExpressionError, InputError
from verify.cli import main

ROOT = Path(__file__).resolve().parents[1]

#: the command-line layer, whose errors name options: the command modules and the two parsers of option values
#: and tool settings files
COMMAND_LINE = {"cli.py", "_cli.py", "threads.py", "_toolconfig.py"}


def _option_fields(path: Path) -> list[tuple[int, str]]:
    """``(line, field)`` of every error raised in ``path`` whose field is a command-line option (``"--..."``):
    an InputError's first argument, or the field of a resource check (its second)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        at = {"InputError": 0, "ExpressionError": 0, "NotTanhLike": 0, "check_memory": 1, "check_time": 1}.get(name)
        if at is None or len(node.args) <= at:
            continue
        field = node.args[at]
        text = field.value if isinstance(field, ast.Constant) else ast.unparse(field)
        if isinstance(text, str) and text.lstrip("f'\"").startswith("--"):
            out.append((node.lineno, text))
    return out


def test_no_engine_names_a_command_line_option_in_its_errors(tmp_path):
    """Outside the command-line layer, no error names an option.  Control: a planted engine error naming
    ``--rtol`` is found."""
    found = [f"{p.relative_to(ROOT)}:{line}: {field}"
             for p in sorted((ROOT / "verify").rglob("*.py")) + sorted((ROOT / "theory").rglob("*.py"))
             if p.name not in COMMAND_LINE for line, field in _option_fields(p)]
    assert found == [], "engines name parameters, the command line translates (InputError.named):\n" + "\n".join(found)
    planted = tmp_path / "engine.py"
    planted.write_text('def f(rtol):\n    raise InputError("--rtol", rtol, "must lie in (0, 1)", "use e.g. 1e-8")\n'
                       'def g(grid):\n    check_time(1e20, f"--grid", grid, "work", "lower grid")\n')
    fields = [field for _, field in _option_fields(planted)]
    assert len(fields) == 2 and fields[0] == "--rtol" and "--grid" in fields[1]


def test_named_translates_the_field_and_the_parameter_in_the_fix():
    err = InputError("rtol", 2.0, "must lie in (0, 1)", "use e.g. rtol=1e-8 (not grtol=1)")
    cli = err.named({"rtol": "--rtol", "grid": "--grid"})
    assert str(cli) == "--rtol = 2.0: must lie in (0, 1); fix: use e.g. --rtol 1e-8 (not grtol=1)"
    assert str(err).startswith("rtol = 2.0")                                    # the engine's error is unchanged
    assert str(InputError("batch", 0, "too large", "lower batch, or omit it for full-batch descent")
               .named({"batch": "--batch"})) == ("--batch = 0: too large; fix: lower --batch, or omit it for "
                                                 "full-batch descent")
    assert isinstance(ExpressionError("k", 0, "bad", "pass e.g. k=5").named({"k": "--k"}), ExpressionError)
    # control: a field the tool has no option for stays as the engine wrote it (the very same error)
    config = InputError("[train] lr", 0.0, "the step must be positive", "set lr = 0.01")
    assert config.named({"lr": "--lr"}) is config


def test_engines_raise_the_parameter():
    from verify.early_training.cost import check_uv
    from verify.engines.flow import FlowOptions
    from verify.multistage.engine.backends import select_kernel

    with pytest.raises(InputError) as info:
        FlowOptions(rtol=2.0)
    assert info.value.field == "rtol" and "--" not in str(info.value)
    with pytest.raises(InputError) as info:
        select_kernel(None, None, None, None, 4, backend="jax")
    assert info.value.field == "backend"
    with pytest.raises(InputError) as info:
        check_uv(10 ** 13, 10)
    assert info.value.field == "width" and "--" not in str(info.value)


def test_the_command_line_shows_the_option(tmp_path, capsys):
    """``simulate --rtol 2``: the flow engine refuses ``rtol``; the user reads one line naming ``--rtol``, its value
    and the fix, exit 2.  Control: a valid ``--rtol`` is not refused there (the run gets past the check)."""
    config = ROOT / "verify/multistage/configs/multistage.toml"
    assert main(["simulate", "--config", str(config), "--rtol", "2", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: --rtol = 2.0: must lie in (0, 1)")
    assert "fix: use e.g. --rtol 1e-8" in err and not (tmp_path / "x").exists()
    assert main(["early-training", "uv", "--width", str(10 ** 13)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: --width = 10000000000000:") and "smaller --width" in err
