"""The noisy-quadratic command line: stationary output, unstable parameters, one-line errors, derive."""
from __future__ import annotations

import json

import pytest

from verify.cli import main


def test_stationary_json_within_interval(capsys):
    assert main(["noisy-quadratic", "stationary", "--lr", "0.05", "--curvature", "1", "--noise", "1",
                 "--momentum", "0.9", "--chains", "512", "--steps", "2000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stable"] is True and out["exact"] == pytest.approx(0.05 * 1.9 / (0.1 * 1.85))
    lo, hi = out["simulated"]["interval_95"]
    assert lo - 3 * out["simulated"]["stderr"] < out["exact"] < hi + 3 * out["simulated"]["stderr"]
    assert out["approximation"] < lo                         # the approximation is far below
    assert out["relaxation_rate"] == pytest.approx(0.9 ** 0.5)


def test_unstable_is_reported_not_an_error(capsys):
    assert main(["noisy-quadratic", "stationary", "--lr", "2.5", "--curvature", "1", "--noise", "1",
                 "--momentum", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stable"] is False and out["simulated"] is None and "1.5" in out["region"]


@pytest.mark.parametrize("args,field", [
    (["--noise", "-1"], "--noise"), (["--momentum", "1"], "--momentum"), (["--momentum", "-0.1"], "--momentum"),
    (["--chains", "0"], "--chains"), (["--lr", "x"], "--lr"), (["--steps", "0"], "--steps"),
])
def test_bad_input_one_line_exit_2(capsys, args, field):
    base = {"--lr": "0.1", "--curvature": "1", "--noise": "1"}
    extra = dict(zip(args[::2], args[1::2]))
    flat = [t for kv in {**base, **extra}.items() for t in kv]
    assert main(["noisy-quadratic", "stationary", *flat]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {field} = ") and "fix:" in err[0]


def test_derive_json(capsys):
    assert main(["noisy-quadratic", "derive", "Q2", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)[0]
    assert rec["key"] == "Q2" and all(rec["identities"].values())
