"""Q3: the memorising set-up's spectrum run (determinism, validation, the tool's errors); the spectrum claims run on
the cliff set-up now (tests/noisy_quadratic/test_nq_eigenbasis.py)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import theory.noisy_quadratic as derivations
from theory.errors import InputError
from verify.noisy_quadratic.context import Context
from verify.noisy_quadratic.spectrum_training import SpectrumSetup
from verify.registry import load_papers

load_papers()
TINY = SpectrumSetup(width=8, steps=100, drops=(50, 75), checkpoints=(50, 100))


@pytest.fixture(scope="module")
def ctx():
    c = Context.make("quick")
    c.profile = dataclasses.replace(c.profile, spectrum=TINY)
    return c


def test_theory_identities():
    d = derivations.derive("Q3")
    assert d.identities and all(d.identities.values()), d.identities


def test_same_seed_same_spectrum(ctx):
    again = Context.make("quick")
    again.profile = ctx.profile
    a, b = ctx.spectrum_run(), again.spectrum_run()
    assert np.array_equal(a.checkpoints[-1].values, b.checkpoints[-1].values)


@pytest.mark.parametrize("kw", [{"width": 0}, {"checkpoints": (500,)}, {"lr": -1.0}, {"k": 10_000}])
def test_bad_setup_names_the_field(kw):
    with pytest.raises(InputError) as err:
        SpectrumSetup(**{**dataclasses.asdict(TINY), **kw})
    assert next(iter(kw)) in str(err.value)


@pytest.mark.parametrize("argv, field", [(["--params", "650"], "--params"), (["--checkpoint", "9999"], "--checkpoint"),
                                         (["--k", "0"], "--k"), (["--seed", "x"], "--seed")])
def test_cli_errors_are_one_line(capsys, argv, field):
    from verify.cli import main

    assert main(["noisy-quadratic", "spectrum", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and field in err[0]
