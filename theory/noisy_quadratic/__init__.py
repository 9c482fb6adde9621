"""The stochastic quadratic model of training: gradient descent and heavy-ball momentum, exactly.

Derivations of the results Razvan Ciuca's talk *Neural Network Training
Dynamics: Towards Making Sense of a Confusing Mess* (an empirical work: a
talk, no paper) rests on, one module per mathematical object: the noisy
quadratic under gradient descent (Q1) and under heavy-ball momentum (Q2).
The paper key ``"noisy-quadratic"`` is not a Python identifier; the package
is ``noisy_quadratic`` (see :data:`theory.PAPERS`).
"""
from __future__ import annotations

from .. import derivation_functions

KEY = "noisy-quadratic"
ARXIV = "talk (no arXiv id)"
TITLE = "Neural Network Training Dynamics: Towards Making Sense of a Confusing Mess (Ciuca, talk)"
#: how every result of this package is labelled in reports
LABEL = "derivation of a model used in a talk (an empirical work)"

__all__ = ["KEY", "ARXIV", "TITLE", "LABEL", "LATEX_NAMES", "DERIVATIONS", "module", "derive"]

#: symbol name -> LaTeX for the names of this package's results that are not LaTeX (see theory.derivation)
LATEX_NAMES = {
    "E x_n": r"\mathbb{E}\, x_{n}",
    "E[lambda x^2]": r"\mathbb{E}\left[\lambda x^{2}\right]",
    "E[lambda x^2]_approx": r"\mathbb{E}\left[\lambda x^{2}\right]_{\mathrm{approx}}",
    "E[lambda x^2]_k": r"\mathbb{E}\left[\lambda x^{2}\right]_{k}",
    "E[sum lambda_i x_i^2]": r"\mathbb{E}\left[\sum_{i} \lambda_{i} x_{i}^{2}\right]",
    "Var x": r"\operatorname{Var} x",
    "Var x_n": r"\operatorname{Var} x_{n}",
    "approx/exact - 1": r"\frac{\mathrm{approx}}{\mathrm{exact}} - 1",
    "c_pole": r"c_{\mathrm{pole}}",
    "p(z)": r"p(z)",
    "x'": r"x'",
    "h_max_loss": r"h_{\max}^{\mathrm{loss}}",
    "m(q)": r"m(q)",
    "lambda_100/lambda_1": r"\frac{\lambda_{100}}{\lambda_{1}}",
    "c_fit": r"c_{\mathrm{fit}}",
    "c_fit - h": r"c_{\mathrm{fit}} - h",
    "E|P_m u|^2": r"\mathbb{E}\,\lVert P_m u \rVert^{2}",
    "PR/n": r"\mathrm{PR}/n",
    "k/n": r"k/n",
}

#: key -> module name.
DERIVATIONS = {
    "Q1": "quadratic",
    "Q2": "momentum",
    "Q3": "spectrum",
    "Q3b": "batch_quadratic",
    "Q3e": "eigenbasis",
}


#: ``module(key)`` and ``derive(key, *args)`` of this paper (:func:`theory.derivation_functions`)
module, derive = derivation_functions(__name__, DERIVATIONS, LABEL, LATEX_NAMES)
