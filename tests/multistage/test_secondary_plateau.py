"""D11, leaving the secondary plateau: derivation identities (symbolic)."""
from __future__ import annotations

from theory.multistage import secondary_plateau

from symbolic_checks import assert_every_identity_holds, assert_records_statement_and_serialises


def test_every_identity_of_the_derivation_holds(derivations):
    assert_every_identity_holds(derivations(secondary_plateau.KEY), secondary_plateau.KEY)


def test_derivation_records_statement_and_serialises(derivations):
    assert_records_statement_and_serialises(derivations(secondary_plateau.KEY), secondary_plateau.KEY)
