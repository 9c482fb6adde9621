"""Every claim module of a paper runs (issue 22): a paper's claim modules (``Paper.claim_modules``) are exactly
its public modules (``verify/<paper>/<object>.py``, no underscore), each checks a derivation module of the same
name (``theory/<paper>/<object>.py``) and registers at least one claim.  A claim module left out of the list
would never run while the tests stayed green.  Control: a list with one module dropped is caught."""
from __future__ import annotations

from pathlib import Path

import pytest

import theory
from verify.registry import REGISTRY, load_papers

ROOT = Path(__file__).resolve().parents[1]


def problems(key: str, claim_modules) -> list[str]:
    package = theory.PAPERS[key]
    public = {p.stem for p in (ROOT / "verify" / package).glob("*.py") if not p.stem.startswith("_")}
    derived = set(theory.paper(key).DERIVATIONS.values())
    registering = {c.check.__module__.rsplit(".", 1)[-1] for c in REGISTRY.values() if c.paper == key}
    out = []
    out += [f"verify/{package}/{m}.py is not among the paper's claim modules" for m in sorted(public - set(claim_modules))]
    out += [f"claim module {m} has no file verify/{package}/{m}.py" for m in sorted(set(claim_modules) - public)]
    out += [f"claim module {m} checks no derivation module theory/{package}/{m}.py" for m in claim_modules
            if m not in derived]
    out += [f"claim module {m} registers no claim" for m in claim_modules if m not in registering]
    return out


@pytest.mark.parametrize("key", list(theory.PAPERS))
def test_every_claim_module_is_declared_and_registers_claims(key):
    paper = load_papers()[key]
    assert problems(key, paper.claim_modules) == []


def test_a_module_left_out_is_caught_control():
    paper = load_papers()["early-training"]
    dropped = tuple(m for m in paper.claim_modules if m != "uv_model")
    assert any("uv_model.py is not among" in p for p in problems("early-training", dropped))
