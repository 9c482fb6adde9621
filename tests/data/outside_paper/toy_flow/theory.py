"""The paper's derivations, as a ``theory/<paper>`` package of the verifier has them."""
from __future__ import annotations

from theory import derivation_functions

KEY = "toy-flow"
ARXIV = "none (a test fixture)"
TITLE = "Exponential decay of the linear flow (a toy paper)"
LABEL = "derivation of a toy result"
LATEX_NAMES: dict = {}
DERIVATIONS = {"T1": "decay"}


module, derive = derivation_functions(__name__.rpartition(".")[0], DERIVATIONS, LABEL, LATEX_NAMES)
