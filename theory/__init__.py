"""Symbolic derivations of the results the verifier checks, one package per paper.

``theory/<paper>/<object>.py`` derives one result and exposes ``KEY``,
``TITLE`` and a ``derive()`` returning a :class:`~theory.derivation.Derivation`
with SymPy objects.  Numeric forms go through :func:`theory.bridge.numeric`.
The modules at this level (the bridge, the expression parser, errors, the
derivation record) are shared by every paper and import none.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from .errors import InputError, NotTanhLike, VerifierError

if TYPE_CHECKING:
    from .derivation import Derivation, derivation_of, is_zero

#: names imported on first use: the derivation record imports SymPy (0.3-0.8 s), which ``python -m verify
#: --version`` and ``--help`` never need (the activations of the two-layer network are the multistage paper's:
#: ``theory.multistage.activation``)
_LAZY = {"Derivation": ".derivation", "derivation_of": ".derivation", "is_zero": ".derivation"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["PAPERS", "OUTSIDE", "add_paper", "paper", "derivation_functions", "derive", "derivation_names", "Derivation",
           "derivation_of", "is_zero", "InputError",
           "NotTanhLike", "VerifierError"]

#: paper key (as used on the command line and in reports) -> package under ``theory`` (and ``verify``).
#: A key need not be a Python identifier ("early-training"); the package name is.
PAPERS = {
    "multistage": "multistage",
    "early-training": "early_training",
    "noisy-quadratic": "noisy_quadratic",
}


#: papers of installed packages (``verify.registry.load_papers`` adds them from their entry points): paper key ->
#: the absolute name of the module that holds the paper's derivations (its ``KEY``, ``DERIVATIONS``, ``derive``)
OUTSIDE: dict[str, str] = {}


def add_paper(key: str, module: str) -> None:
    """Make the derivations of an outside paper known by its key (``module``: an absolute module name)."""
    if key in PAPERS:
        raise ValueError(f"paper key {key!r} is one of the built-in papers")
    OUTSIDE[key] = module


def paper(key: str):
    """The theory package of a paper (``"multistage"``, ``"early-training"``, or an outside paper's key)."""
    if key in PAPERS:
        return import_module(f"{__name__}.{PAPERS[key]}")
    if key in OUTSIDE:
        return import_module(OUTSIDE[key])
    raise KeyError(key)


def derivation_functions(package: str, derivations: dict, label: str, latex_names: dict):
    """``(module, derive)`` of a paper's theory package ``package`` (its ``__name__``), whose ``derivations`` map
    keys to module names (``{"D1": "gradient_flow", ...}``): ``module(key)`` imports the module deriving ``key``
    (a key or a module name), ``derive(key, *args)`` runs its ``derive()``, labelled ``label`` and given the
    paper's ``latex_names``.  Every paper package, in the tree or outside it, gets the two from here."""
    from dataclasses import replace

    def module(key: str):
        """The module deriving ``key`` (a key such as ``"D4"``, or a module name such as ``"linearized_flow"``)."""
        name = derivations.get(key, key)
        if name not in derivations.values():
            raise KeyError(key)
        return import_module(f"{package}.{name}")

    def derive(key: str, *args) -> "Derivation":
        """Run one derivation by key or module name, labelled with this paper and given its LaTeX names."""
        return replace(module(key).derive(*args), label=label, latex_names=latex_names)

    return module, derive


def derivation_names(paper_key: str) -> str:
    """The derivations of a paper as a command line lists them: ``"D1 (gradient_flow), D2 (taylor), ..."``."""
    return ", ".join(f"{k} ({name})" for k, name in paper(paper_key).DERIVATIONS.items())


def derive(paper_key: str, key: str) -> "Derivation":
    """Run one derivation of a paper by key or module name: ``derive("multistage", "D9")``."""
    return paper(paper_key).derive(key)
