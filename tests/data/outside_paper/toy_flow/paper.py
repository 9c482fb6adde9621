"""The toy paper's declaration: importing this module registers it with the verifier."""
from __future__ import annotations

from dataclasses import dataclass

from verify.registry import Paper, register_paper

from . import theory


@dataclass
class Context:
    profile: str
    seed: int = 0
    backend: str = "auto"
    device: str = "cpu"


def make_context(profile: str, **kw) -> Context:
    return Context(profile, **kw)


def config(profile: str, seed: int) -> dict:
    return {"profile": profile, "seed": seed, "rates": [0.5, 1.0, 2.0]}


PAPER = register_paper(Paper(
    key=theory.KEY, title=theory.TITLE, arxiv=theory.ARXIV, label="check of a toy derivation",
    heuristic_label="measurement of a toy statement", make_context=make_context, config=config,
    derivation=theory.derive, claim_modules=("claims",), theory_module="toy_flow.theory",
))
