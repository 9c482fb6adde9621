"""Q3: the measured-spectrum claims pass on a tiny trained network and their negative controls fail."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import theory.noisy_quadratic as derivations
from theory.errors import InputError
from verify.noisy_quadratic import spectrum as q3
from verify.noisy_quadratic._context import Context
from verify.noisy_quadratic._spectrum import SpectrumSetup
from verify.registry import REGISTRY, Status, load_papers

from key_rules import assert_key_consistent

load_papers()
TINY = SpectrumSetup(width=8, steps=100, drops=(50, 75), checkpoints=(50, 100))
IDS = ("Q3-lanczos-vs-dense", "Q3-power-law", "Q3-negative-eigenvalues", "Q3-eigenvector-concentration")


@pytest.fixture(scope="module")
def ctx():
    c = Context.make("quick")
    c.profile = dataclasses.replace(c.profile, spectrum=TINY)
    return c


def test_theory_identities():
    d = derivations.derive("Q3")
    assert d.identities and all(d.identities.values()), d.identities


@pytest.mark.parametrize("cid", IDS)
def test_claim_passes_and_control_fails(ctx, cid):
    claim = REGISTRY[cid]
    assert claim.heuristic
    good, bad = claim.check(ctx), claim.negative_control(ctx)
    assert good.status == Status.PASSED
    assert bad.status == Status.FAILED
    assert good.key is not None and bad.key is not None, cid
    assert_key_consistent(good.key, good.status, cid)
    assert_key_consistent(bad.key, bad.status, f"{cid} (negative control)")


def test_power_band_is_derived():
    assert q3.power_law_band() == pytest.approx((-1.5, -0.5))


def test_top_mass_of_a_basis_vector_and_a_flat_vector():
    assert q3.top_mass(np.eye(100)[3]) == 1.0
    assert q3.top_mass(np.ones(100)) == pytest.approx(0.05)


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
