"""Every claim module of a paper runs (issue 22): a paper's claim modules (``Paper.claim_modules``, found from
its derivations: ``claims.<m>`` for each derivation module ``m``) are exactly the modules of
``verify/<paper>/claims/``, each checks a derivation module of the same name (``theory/<paper>/<object>.py``) and
registers at least one claim.  A claim module named after no derivation would never run while the tests stayed
green.  Control: a list with one module dropped, and a stray module name, are caught."""
from __future__ import annotations

from pathlib import Path

import pytest

import theory
from verify.registry import REGISTRY, load_papers

ROOT = Path(__file__).resolve().parents[1]


def problems(key: str, claim_modules) -> list[str]:
    package = theory.PAPERS[key]
    files = {p.stem for p in (ROOT / "verify" / package / "claims").glob("*.py") if p.stem != "__init__"}
    declared = {m.removeprefix("claims.") for m in claim_modules}
    derived = set(theory.paper(key).DERIVATIONS.values())
    registering = {c.check.__module__.rsplit(".", 1)[-1] for c in REGISTRY.values() if c.paper == key}
    out = []
    out += [f"verify/{package}/claims/{m}.py is not among the paper's claim modules" for m in sorted(files - declared)]
    out += [f"claim module {m} has no file verify/{package}/claims/{m}.py" for m in sorted(declared - files)]
    out += [f"claim module {m} checks no derivation module theory/{package}/{m}.py" for m in sorted(declared)
            if m not in derived]
    out += [f"claim module {m} registers no claim" for m in sorted(declared) if m not in registering]
    return out


@pytest.mark.parametrize("key", list(theory.PAPERS))
def test_every_claim_module_is_declared_and_registers_claims(key):
    paper = load_papers()[key]
    assert all(m.startswith("claims.") for m in paper.claim_modules)
    assert problems(key, paper.claim_modules) == []


def test_a_module_left_out_is_caught_control():
    paper = load_papers()["early-training"]
    dropped = tuple(m for m in paper.claim_modules if m != "claims.uv_model")
    assert any("claims/uv_model.py is not among" in p for p in problems("early-training", dropped))


def test_a_stray_module_is_caught_control():
    paper = load_papers()["noisy-quadratic"]
    assert any("checks no derivation module" in p
               for p in problems("noisy-quadratic", (*paper.claim_modules, "claims.stray")))
