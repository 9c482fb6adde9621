"""The settings file of the noisy-quadratic 'stationary' tool: the example loads and runs, the command line
overrides it, and every bad file or value is one error line naming the field (exit 2)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from theory.errors import InputError
from verify.cli import main
from verify.noisy_quadratic.cli import STATIONARY_EXAMPLE, STATIONARY_SETTINGS, read_stationary_config

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / STATIONARY_EXAMPLE


def run_json(capsys, *args) -> dict:
    assert main(["noisy-quadratic", "stationary", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_example_file_loads_with_every_setting():
    values = read_stationary_config(EXAMPLE)
    assert set(values) == set(STATIONARY_SETTINGS)
    assert all(isinstance(values[k], kind) for k, kind in STATIONARY_SETTINGS.items())


def test_the_example_file_runs_and_its_settings_reach_the_tool(capsys):
    values = read_stationary_config(EXAMPLE)
    out = run_json(capsys, "--config", str(EXAMPLE))
    for key in STATIONARY_SETTINGS:
        assert out[key] == values[key], key
    sim = out["simulated"]
    assert out["stable"] and abs(sim["mean"] - out["exact"]) < 4 * sim["stderr"]     # the derived floor
    # the same settings as options give the same JSON (same seed, same numbers)
    flags = [t for key, value in values.items() for t in (f"--{key}", str(value))]
    assert run_json(capsys, *flags) == out


def test_options_on_the_command_line_override_the_file(capsys):
    out = run_json(capsys, "--config", str(EXAMPLE), "--momentum", "0.5", "--chains", "64", "--steps", "200")
    assert (out["momentum"], out["chains"], out["steps"]) == (0.5, 64, 200)
    assert out["lr"] == read_stationary_config(EXAMPLE)["lr"]


def test_a_partial_file_takes_the_rest_from_the_options_and_the_defaults(tmp_path, capsys):
    path = tmp_path / "partial.toml"
    path.write_text("[stationary]\ncurvature = 2\nnoise = 0.5\n")
    out = run_json(capsys, "--config", str(path), "--lr", "0.1", "--chains", "32", "--steps", "100")
    assert (out["curvature"], out["noise"], out["lr"], out["momentum"], out["seed"]) == (2.0, 0.5, 0.1, None, 0)


BAD = {
    "wrong type": ("[stationary]\nlr = \"fast\"\n", "[stationary] lr"),
    "int for a float is fine, a float for an int is not": ("[stationary]\nchains = 2.5\n", "[stationary] chains"),
    "unknown key": ("[stationary]\nlearning_rate = 0.1\n", "[stationary] learning_rate"),
    "unknown table": ("[stationry]\nlr = 0.1\n", "[stationry]"),
    "no table": ("lr = 0.1\n", "[lr]"),
    "not toml": ("[stationary\nlr = 0.1\n", "--config"),
    "momentum 1": ("[stationary]\nmomentum = 1.0\n", "[stationary] momentum"),
    "negative noise": ("[stationary]\nnoise = -1\n", "[stationary] noise"),
    "one chain": ("[stationary]\nchains = 1\n", "[stationary] chains"),
    "infinite lr": ("[stationary]\nlr = inf\n", "[stationary] lr"),
    "boolean seed": ("[stationary]\nseed = true\n", "[stationary] seed"),
    "lr missing everywhere": ("[stationary]\ncurvature = 1\nnoise = 1\n", "--lr"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_a_bad_file_is_one_error_line_naming_the_field(tmp_path, capsys, case):
    text, field = BAD[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    extra = [] if field == "--lr" else ["--lr", "0.1", "--curvature", "1", "--noise", "1"]
    assert main(["noisy-quadratic", "stationary", "--config", str(path), *extra]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {field} = ") and "fix:" in err[0], err
    assert captured.out == ""


def test_a_missing_file_names_it(tmp_path):
    with pytest.raises(InputError) as err:
        read_stationary_config(tmp_path / "absent.toml")
    assert err.value.field == "--config" and "no such file" in err.value.problem
