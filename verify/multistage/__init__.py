"""Checks of the multi-stage loss dynamics paper (Chen, Luo, Wang, arXiv:2410.20119).

One claim module per theory module of :mod:`theory.multistage`, with the same
name (``verify/multistage/descent_time.py`` checks
``theory/multistage/descent_time.py``); the underscore modules hold the
paper's configuration files, predictions, simulation, run profiles, context
and figures.  Importing this package registers the paper; its claims are
registered when :func:`verify.registry.load_papers` imports ``CLAIM_MODULES``.
"""
from __future__ import annotations

import theory.multistage as _theory

from ..registry import Paper, register_paper

KEY = _theory.KEY

#: the claim modules, in the order of the derivations they check (D1 ... D11)
CLAIM_MODULES = ("gradient_flow", "taylor", "higher_order", "linearized_flow", "growth", "initial_plateau",
                 "balance", "reduced_dynamics", "descent_time", "critical_point", "secondary_plateau")


def _make_context(profile: str, **kw):
    from ._context import Context

    return Context.make(profile, **kw)


def _config(profile: str, seed: int, user: dict | None = None) -> dict:
    from ._context import Context

    return Context.make(profile, seed=seed, user=user).config().as_dict()


def _read_config(path: str) -> dict:
    from ._config import load_config

    return load_config(path).as_dict()


def _figures(profile: str, seed: int, backend: str, device: str, out: str) -> list:
    from ._figures import simulated_figures

    return simulated_figures(profile, seed, backend, device, out)


def _result_figures(verdicts: dict, out) -> list:
    from ._figures import result_figures

    return result_figures(verdicts, out)


def _add_tools(subparsers) -> None:
    from ._cli import add_tools

    add_tools(subparsers)


def _check_run_options(backend: str, device: str) -> None:
    from .engine import BACKENDS

    if backend not in BACKENDS:
        from theory.errors import InputError

        raise InputError("backend", backend, "unknown backend", f"use one of {', '.join(BACKENDS)}")


def _versions() -> dict:
    from .engine import fused_status

    fused, why = fused_status()
    return {"fused_kernel": "built" if fused else why}


PAPER = register_paper(Paper(
    key=KEY, title=_theory.TITLE, arxiv=_theory.ARXIV,
    label=f"check of our reconstruction of a result of {_theory.ARXIV}",
    heuristic_label=f"measurement of a heuristic claim ({_theory.ARXIV} argues it without proof)",
    make_context=_make_context, config=_config, derivation=_theory.derive, figures=_figures,
    result_figures=_result_figures, add_tools=_add_tools, claim_modules=CLAIM_MODULES, read_config=_read_config,
    check_run_options=_check_run_options, versions=_versions,
))

__all__ = ["KEY", "PAPER", "CLAIM_MODULES", "Config", "load_config", "predict", "simulate", "measure"]


#: the paper's Python entry points (README, Python API), imported on first use
_API = {"Config": "._config", "load_config": "._config", "predict": "._predict", "simulate": "._simulate",
        "measure": "._simulate"}


def __getattr__(name):
    if name in _API:
        from importlib import import_module

        return getattr(import_module(_API[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
