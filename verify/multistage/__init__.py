"""Checks of the multi-stage loss dynamics paper (Chen, Luo, Wang, arXiv:2410.20119).

One claim module per theory module of :mod:`theory.multistage`, with the same
name (``verify/multistage/claims/descent_time.py`` checks
``theory/multistage/descent_time.py``); the other modules hold the paper's
configuration files (``config``), data set (``data``), predictions (``prediction``),
simulation (``simulation``, ``observables``, ``initialisation``, ``engine``), the
numbers of the derived laws (``field``, ``linear_stage``, ``wasserstein``), run
profiles, context, command-line tools and figures.  Importing this package registers the
paper; :func:`verify.registry.load_papers` then imports its claim modules.
"""
from __future__ import annotations

import theory.multistage as _theory

from ..registry import Paper, lazy_names, register_paper

KEY = _theory.KEY

PAPER = register_paper(Paper(
    key=KEY, package=__name__,
    label=f"check of our reconstruction of a result of {_theory.ARXIV}",
    heuristic_label=f"measurement of a heuristic claim ({_theory.ARXIV} argues it without proof)",
    make_context=".context:Context.make", read_config=".config:read_config",
    figures=".figures:simulated_figures", result_figures=".figures:result_figures", add_tools=".cli:add_tools",
    check_run_options=".engine:check_run_options", versions=".engine:versions",
))

__all__ = ["KEY", "PAPER", "Config", "load_config", "predict", "simulate", "measure"]

#: the paper's Python entry points (README, Python API), imported on first use
__getattr__ = lazy_names(__name__, {"Config": ".config", "load_config": ".config", "predict": ".prediction",
                                    "simulate": ".simulation", "measure": ".simulation"})
