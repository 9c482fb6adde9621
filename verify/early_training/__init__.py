"""Checks of the early-training paper (Kalra & Barkeshli, arXiv:2302.12250).

One claim module per theory module of :mod:`theory.early_training`, with the
same name (``verify/early_training/uv_model.py`` checks
``theory/early_training/uv_model.py``); the underscore modules hold the
numerics, run profiles, context, command-line tools and figures.  Importing
this package registers the paper (key ``"early-training"``); its claims are
registered when :func:`verify.registry.load_papers` imports ``CLAIM_MODULES``.
"""
from __future__ import annotations

import theory.early_training as _theory

from ..registry import Paper, register_paper

KEY = _theory.KEY

#: the claim modules, in the order of the derivations they check (E1, ...)
CLAIM_MODULES = ("uv_model", "critical_constants")


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

    return result_figures(verdicts, out)


def _add_tools(subparsers) -> None:
    from ._cli import add_tools

    add_tools(subparsers)


PAPER = register_paper(Paper(
    key=KEY, title=_theory.TITLE, arxiv=_theory.ARXIV,
    label=f"check of our reconstruction of a result of {_theory.ARXIV}",
    heuristic_label=f"measurement of a claim of {_theory.ARXIV} (measured, not derived)",
    make_context=_make_context, config=_config, derivation=_theory.derive, figures=_figures,
    result_figures=_result_figures, add_tools=_add_tools, claim_modules=CLAIM_MODULES,
))

__all__ = ["KEY", "PAPER", "CLAIM_MODULES", "uv_summary"]


#: the paper's Python entry points (README, Python API), imported on first use
_API = {"uv_summary": "._cli"}


def __getattr__(name):
    if name in _API:
        from importlib import import_module

        return getattr(import_module(_API[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
