"""Checks of the early-training paper (Kalra & Barkeshli, arXiv:2302.12250).

One claim module per theory module of :mod:`theory.early_training`, with the
same name (``verify/early_training/claims/uv_model.py`` checks
``theory/early_training/uv_model.py``); the other modules hold the numerics
(``uv``, ``critical``, ``search``, ``reduction``, ``eos``), run profiles,
context, command-line tools and figures.  Importing this package registers the
paper (key ``"early-training"``); :func:`verify.registry.load_papers` then
imports its claim modules.
"""
from __future__ import annotations

import theory.early_training as _theory

from ..registry import Paper, lazy_names, register_paper

KEY = _theory.KEY

PAPER = register_paper(Paper(
    key=KEY, package=__name__,
    label=f"check of our reconstruction of a result of {_theory.ARXIV}",
    heuristic_label=f"measurement of a claim of {_theory.ARXIV} (measured, not derived)",
    make_context=".context:Context.make", figures=".figures:simulated_figures",
    result_figures=".figures:result_figures", add_tools=".cli:add_tools",
))

__all__ = ["KEY", "PAPER", "uv_summary"]

#: the paper's Python entry points (README, Python API), imported on first use
__getattr__ = lazy_names(__name__, {"uv_summary": ".cli"})
