"""Checks of the noisy-quadratic model (R. Ciuca's talk; an empirical work, no arXiv id).

One claim module per theory module of :mod:`theory.noisy_quadratic`, with the
same name (``verify/noisy_quadratic/quadratic.py`` checks
``theory/noisy_quadratic/quadratic.py``); the underscore modules hold the
simulation, run profiles, context, command-line tools and figures.  Importing
this package registers the paper (key ``"noisy-quadratic"``); its claims are
registered when :func:`verify.registry.load_papers` imports ``CLAIM_MODULES``.
"""
from __future__ import annotations

import theory.noisy_quadratic as _theory

from ..registry import Paper, register_paper

KEY = _theory.KEY

#: the claim modules, in the order of the derivations they check (Q1, Q2, ...); a later module appends here
CLAIM_MODULES = ("quadratic", "momentum", "spectrum", "batch_quadratic", "eigenbasis")


def _make_context(profile: str, **kw):
    from ._context import Context

    return Context.make(profile, **kw)


def _config(profile: str, seed: int) -> dict:
    from ._context import Context

    return Context.make(profile, seed=seed).config()


def _figures(profile: str, seed: int, backend: str, device: str, out: str) -> list:
    from ._figures import simulated_figures

    return simulated_figures(profile, seed, backend, device, out)


def _result_figures(verdicts: dict, out) -> list:
    from ._figures import result_figures
    from ._spectral_figures import spectral_figures

    return result_figures(verdicts, out) + spectral_figures(verdicts, out)


def _setup_jobs(profile: str, seed: int, backend: str, device: str, group: str) -> list:
    from ._context import setup_jobs

    return setup_jobs(profile, seed, backend, device, group)


def _add_tools(subparsers) -> None:
    from ._cli import add_tools

    add_tools(subparsers)


PAPER = register_paper(Paper(
    key=KEY, title=_theory.TITLE, arxiv=_theory.ARXIV,
    label="check of our derivation of a model from a talk (an empirical work)",
    heuristic_label="measurement of a statement of a talk (measured, not derived)",
    make_context=_make_context, config=_config, derivation=_theory.derive, figures=_figures,
    result_figures=_result_figures, add_tools=_add_tools, claim_modules=CLAIM_MODULES,
    setup_jobs=_setup_jobs,
))

__all__ = ["KEY", "PAPER", "CLAIM_MODULES", "stationary_summary"]


#: the paper's Python entry points (README, Python API), imported on first use
_API = {"stationary_summary": "._cli"}


def __getattr__(name):
    if name in _API:
        from importlib import import_module

        return getattr(import_module(_API[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
