"""Hypothesis helpers shared by the multistage property tests: activations, log-uniform widths, float evaluation.

No ``derive()`` runs inside a property: the module-level SymPy expressions of the derivations
are evaluated through the one bridge (:func:`theory.bridge.numeric`).  Strategies are
``@st.composite``; the number of examples comes from the profile chosen in ``tests/conftest.py``.
"""
from __future__ import annotations

import math

from hypothesis import strategies as st

from theory.bridge import numeric

ACTIVATIONS = ("tanh", "sin", "erf")


def float_function(expr, *args):
    """``expr`` as a float function of ``args`` through the one bridge (no ``derive()`` inside a property)."""
    return numeric(expr, args)


def log_uniform_int(draw, lo: int, hi: int) -> int:
    return int(round(math.exp(draw(st.floats(math.log(lo), math.log(hi))))))
