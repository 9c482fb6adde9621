"""Symbolic derivations of the multi-stage loss dynamics of two-layer networks.

Each module ``theory/<object>.py`` derives one result of THEORY.md (a
reconstruction of arXiv:2410.20119) and exposes ``KEY``, ``TITLE`` and a
``derive()`` returning a :class:`~theory._derivation.Derivation` with SymPy
objects.  Numeric forms go through :func:`theory.bridge.numeric`.
"""
from __future__ import annotations

from importlib import import_module

from ._derivation import Derivation
from .activation import Activation, activation_from_spec
from .data import DataSet, make_data
from .errors import InputError, NotTanhLike, VerifierError

__all__ = ["DERIVATIONS", "derive", "Derivation", "Activation", "activation_from_spec", "DataSet",
           "make_data", "InputError", "NotTanhLike", "VerifierError"]

#: key -> module name, in the order of THEORY.md.
DERIVATIONS = {
    "D1": "gradient_flow",
    "D2": "taylor",
    "D3": "higher_order",
    "D4": "linearized_flow",
    "D5": "growth",
    "D6": "initial_plateau",
    "D7": "balance",
    "D8": "reduced_dynamics",
    "D9": "descent_time",
    "D10": "critical_point",
    "D11": "secondary_plateau",
}


def module(key: str):
    """The module deriving ``key`` (``"D4"`` or ``"linearized_flow"``)."""
    name = DERIVATIONS.get(key, key)
    if name not in DERIVATIONS.values():
        raise KeyError(key)
    return import_module(f"{__name__}.{name}")


def derive(key: str) -> Derivation:
    """Run one derivation by key or module name."""
    return module(key).derive()
