"""The early-training command line: ``uv`` output and errors, ``derive``, ``list``."""
from __future__ import annotations

import json

import pytest

from verify.cli import main


def test_uv_json_reports_the_constants_and_the_prediction(capsys):
    assert main(["early-training", "uv", "--width", "1024", "--seed", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("f0", "lambda0", "c_loss", "c_sharp", "c_max", "c_loss_predicted"):
        assert isinstance(out[key], float), key
    assert abs(out["c_loss"] - out["c_loss_predicted"]) < 1e-5           # O(1/w^2) at w = 1024
    assert abs(out["c_sharp"] - 4) < 1e-8                               # y = 0: exactly 4
    assert out["c_loss"] <= out["c_sharp"] <= out["c_max"]
    assert all(s["monotone"] for s in out["scan"].values())


def test_uv_text_output_is_deterministic(capsys):
    assert main(["early-training", "uv", "--width", "64", "--target", "0.5", "--seed", "2"]) == 0
    first = capsys.readouterr().out
    assert main(["early-training", "uv", "--width", "64", "--target", "0.5", "--seed", "2"]) == 0
    assert capsys.readouterr().out == first
    for key in ("f0", "lambda0", "c_loss", "c_sharp", "c_max", "c_loss_predicted"):
        assert f"  {key} " in first


@pytest.mark.parametrize("args,field", [
    (["--width", "0"], "--width"), (["--width", "abc"], "--width"), (["--width", "8", "--steps", "-1"], "--steps"),
    (["--width", "8", "--steps", "0"], "--steps"), (["--width", "8", "--seed", "-4"], "--seed"),
    (["--width", "8", "--target", "inf"], "--target"), (["--width", "8", "--target", "x"], "--target"),
])
def test_bad_input_is_one_line_naming_the_field_exit_2(capsys, args, field):
    assert main(["early-training", "uv", *args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field} = ") and "fix:" in lines[0]
    assert captured.out == ""


def test_missing_width_is_a_usage_error(capsys):
    """--width may come from a settings file (--config), so its absence is one error line, exit 2."""
    assert main(["early-training", "uv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --width = None: is required") and "--config" in err[0]


def test_derive_lists_E1_verified(capsys):
    assert main(["early-training", "derive", "E1", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)[0]
    assert record["key"] == "E1" and all(record["identities"].values())
    assert main(["early-training", "derive", "uv_modle"]) == 2
    assert "did you mean uv_model" in capsys.readouterr().err


def test_list_shows_the_paper(capsys):
    assert main(["list", "--paper", "early-training"]) == 0
    out = capsys.readouterr().out
    assert "[early-training]" in out and "E1-uv-map" in out and "python -m verify early-training derive" in out
