"""Checks of the noisy-quadratic model (R. Ciuca's talk; an empirical work, no arXiv id).

One claim module per theory module of :mod:`theory.noisy_quadratic`, with the
same name (``verify/noisy_quadratic/claims/quadratic.py`` checks
``theory/noisy_quadratic/quadratic.py``); the other modules hold the
simulation, Q3's training and spectra, run profiles, context, command-line
tools and figures.  Importing this package registers the paper (key
``"noisy-quadratic"``); :func:`verify.registry.load_papers` then imports its
claim modules.
"""
from __future__ import annotations

import theory.noisy_quadratic as _theory

from ..registry import Paper, lazy_names, register_paper

KEY = _theory.KEY

PAPER = register_paper(Paper(
    key=KEY, package=__name__,
    label="check of our derivation of a model from a talk (an empirical work)",
    heuristic_label="measurement of a statement of a talk (measured, not derived)",
    make_context=".context:Context.make", figures=".figures:simulated_figures",
    result_figures=".figures:verdict_figures", add_tools=".cli:add_tools", setup_jobs=".context:setup_jobs",
))

__all__ = ["KEY", "PAPER", "stationary_summary"]

#: the paper's Python entry points (README, Python API), imported on first use
__getattr__ = lazy_names(__name__, {"stationary_summary": ".cli"})
