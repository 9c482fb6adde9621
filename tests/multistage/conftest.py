"""Fixtures shared by the multistage object test modules: derivations, activations, memoised suprema."""
from __future__ import annotations

import functools

import pytest

import theory.multistage.activation as activation_module
import theory.multistage as paper_theory
from theory.multistage.activation import activation_from_spec

from strategies import ACTIVATIONS


@pytest.fixture(scope="module")
def derivations():
    """Each derivation is run once per test session (they take about a second each)."""
    cache = {}

    def get(key):
        if key not in cache:
            cache[key] = paper_theory.derive(key)
        return cache[key]

    return get


@pytest.fixture(scope="module")
def activations():
    return {name: activation_from_spec(name) for name in ACTIVATIONS}


@pytest.fixture(scope="module")
def memoised_suprema():
    """Compute each sup |sigma'''| and sup |sigma'| once for the whole module.

    ``Activation.C_L`` is cached per object and every new configuration builds a new
    object, which would redo the (deterministic) SymPy search, ~3 s for tanh, in every
    example.  Memoising ``sup_abs`` on its (hashable) arguments changes nothing else.
    """
    cached = functools.lru_cache(maxsize=None)(activation_module.sup_abs)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(activation_module, "sup_abs", cached)
        yield
