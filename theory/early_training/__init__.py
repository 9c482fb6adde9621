"""Early-training dynamics of deep networks: the uv model and the critical learning-rate constants.

Reconstructions of results of Kalra & Barkeshli, *Phase diagram of early
training dynamics in deep neural networks: effect of the learning rate,
depth, and width* (arXiv:2302.12250): one module per mathematical object.
The paper key ``"early-training"`` is not a Python identifier; the package
is ``early_training`` (see :data:`theory.PAPERS`).
"""
from __future__ import annotations

from .. import derivation_functions


KEY = "early-training"
ARXIV = "arXiv:2302.12250"
TITLE = "Phase diagram of early training dynamics in deep neural networks (Kalra, Barkeshli)"
#: how every result of this package is labelled in reports
LABEL = f"reconstruction of a result of {ARXIV}"

__all__ = ["KEY", "ARXIV", "TITLE", "LABEL", "LATEX_NAMES", "DERIVATIONS", "module", "derive"]

#: symbol name -> LaTeX for the names of this package's results that are not LaTeX (see theory.derivation)
LATEX_NAMES = {
    "(lambda' - lambda)/eta": r"\frac{\lambda' - \lambda}{\eta}",
    "c_loss": r"c_{\mathrm{loss}}",
    "f'": r"f'",
    "f_1/f_0": r"\frac{f_{1}}{f_{0}}",
    "f_1/f_0 (w -> oo)": r"\lim_{w \to \infty} \frac{f_{1}}{f_{0}}",
    "lambda'": r"\lambda'",
    "lambda_1 - lambda_0": r"\lambda_{1} - \lambda_{0}",
    "lambda_EoS": r"\lambda_{\mathrm{EoS}}",
    "lambda_EoS(gamma=0)": r"\lambda_{\mathrm{EoS}}\big|_{\gamma = 0}",
    "p(z)": r"p(z)",
    "theta'/theta": r"\frac{\theta'}{\theta}",
}

#: key -> module name.
DERIVATIONS = {
    "E1": "uv_model",
    "E2": "critical_constants",
}


#: ``module(key)`` and ``derive(key, *args)`` of this paper (:func:`theory.derivation_functions`)
module, derive = derivation_functions(__name__, DERIVATIONS, LABEL, LATEX_NAMES)
