"""Multi-stage loss dynamics of two-layer networks with small initialisation.

Reconstructions of the results of Chen, Luo, Wang, *On Multi-Stage Loss
Dynamics in Neural Networks: Mechanisms of Plateau and Descent Stages*
(arXiv:2410.20119): one module per mathematical object, in the order D1-D11.
"""
from __future__ import annotations

from dataclasses import replace
from importlib import import_module

from .._derivation import Derivation

KEY = "multistage"
ARXIV = "arXiv:2410.20119"
TITLE = "On Multi-Stage Loss Dynamics in Neural Networks (Chen, Luo, Wang)"
#: how every result of this package is labelled in reports
LABEL = f"reconstruction of a result of {ARXIV}"

__all__ = ["KEY", "ARXIV", "TITLE", "LABEL", "DERIVATIONS", "module", "derive"]

#: key -> module name.
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


def derive(key: str, *args) -> Derivation:
    """Run one derivation by key or module name, labelled with this paper."""
    return replace(module(key).derive(*args), label=LABEL)
