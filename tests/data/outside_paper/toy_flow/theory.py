"""The paper's derivations, as a ``theory/<paper>`` package of the verifier has them."""
from __future__ import annotations

from dataclasses import replace
from importlib import import_module

KEY = "toy-flow"
ARXIV = "none (a test fixture)"
TITLE = "Exponential decay of the linear flow (a toy paper)"
LABEL = "derivation of a toy result"
LATEX_NAMES: dict = {}
DERIVATIONS = {"T1": "decay"}


def module(key: str):
    name = DERIVATIONS.get(key, key)
    if name not in DERIVATIONS.values():
        raise KeyError(key)
    return import_module(f"toy_flow.{name}")


def derive(key: str, *args):
    return replace(module(key).derive(*args), label=LABEL, latex_names=LATEX_NAMES)
