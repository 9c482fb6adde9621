"""Multi-stage loss dynamics of two-layer networks with small initialisation.

Reconstructions of the results of Chen, Luo, Wang, *On Multi-Stage Loss
Dynamics in Neural Networks: Mechanisms of Plateau and Descent Stages*
(arXiv:2410.20119): one module per mathematical object, in the order D1-D11.
"""
from __future__ import annotations

from .. import derivation_functions


KEY = "multistage"
ARXIV = "arXiv:2410.20119"
TITLE = "On Multi-Stage Loss Dynamics in Neural Networks (Chen, Luo, Wang)"
#: how every result of this package is labelled in reports
LABEL = f"reconstruction of a result of {ARXIV}"

__all__ = ["KEY", "ARXIV", "TITLE", "LABEL", "LATEX_NAMES", "DERIVATIONS", "module", "derive"]

#: symbol name -> LaTeX for the names of this package's results that are not LaTeX (see theory.derivation)
LATEX_NAMES = {
    "(I + eta A)^n": r"\left(I + \eta A\right)^{n}",
    "-d log W2rel/dt": r"-\frac{d \log W_{2}^{\mathrm{rel}}}{dt}",
    "E K_0": r"\mathbb{E}\, K_{0}",
    "E T_d": r"\mathbb{E}\, T_{d}",
    "E T_p^grow": r"\mathbb{E}\, T_{p}^{\mathrm{grow}}",
    "E log K_0": r"\mathbb{E} \log K_{0}",
    "E[(f - f*) x]": r"\mathbb{E}\left[(f - f^{*})\, x\right]",
    "E[f* s^3]": r"\mathbb{E}\left[f^{*} s^{3}\right]",
    "E[f*^2]": r"\mathbb{E}\left[{f^{*}}^{2}\right]",
    "E[r s^3]": r"\mathbb{E}\left[r\, s^{3}\right]",
    "E[r sigma(s)]": r"\mathbb{E}\left[r\, \sigma(s)\right]",
    "E[s^4]": r"\mathbb{E}\left[s^{4}\right]",
    "E[s^6]": r"\mathbb{E}\left[s^{6}\right]",
    "E[|f*||x|]": r"\mathbb{E}\left[|f^{*}|\, |x|\right]",
    "E[|f*||x|^3]": r"\mathbb{E}\left[|f^{*}|\, |x|^{3}\right]",
    "E|x|^2": r"\mathbb{E}\, |x|^{2}",
    "F*": r"F^{*}",
    "K_(n+1)": r"K_{n+1}",
    "K_eq": r"K_{\mathrm{eq}}",
    "P_+": r"P_{+}",
    "P_-": r"P_{-}",
    "R^*": r"R^{*}",
    "R_eq": r"R_{\mathrm{eq}}",
    "Sigma beta - z": r"\Sigma \beta - z",
    "spec(A)": r"\operatorname{spec}(A)",
    "T_p^grow": r"T_{p}^{\mathrm{grow}}",
    "Var a_k(t) / s^2": r"\frac{\operatorname{Var} a_{k}(t)}{s^{2}}",
    "\\dot a_k": r"\dot{a}_{k}",
    "\\dot beta": r"\dot{\beta}",
    "\\dot q_k": r"\dot{q}_{k}",
    "\\dot w_k": r"\dot{w}_{k}",
    "beta . z": r"\beta \cdot z",
    "beta beta^T": r"\beta \beta^{T}",
    "d/dt (a_k^2 - |w_k|^2)": r"\frac{d}{dt}\left(a_{k}^{2} - |w_{k}|^{2}\right)",
    "dK_(n+1)/dK_n at K = 1": r"\left.\frac{dK_{n+1}}{dK_{n}}\right|_{K = 1}",
    "|Sigma^-1 z|": r"|\Sigma^{-1} z|",
    "E[s_v^2]": r"\mathbb{E}\left[s_{v}^{2}\right]",
    "E[s_v^4]": r"\mathbb{E}\left[s_{v}^{4}\right]",
    "E[f* s_v^3]": r"\mathbb{E}\left[f^{*} s_{v}^{3}\right]",
    "-dK'/dK at K_eq": r"-\left.\frac{d\dot K}{dK}\right|_{K = K_{\mathrm{eq}}}",
    "T_d(law) - T_d(capacity)": r"T_{d}^{\mathrm{law}} - T_{d}^{\mathrm{capacity}}",
    "dT_d/dalpha": r"\frac{dT_{d}}{d\alpha}",
    "dT_d/dlog m": r"\frac{dT_{d}}{d \log m}",
    "e^{tA}": r"e^{tA}",
    "f^*": r"f^{*}",
    "q_max": r"q_{\max}",
    "q_max(0)": r"q_{\max}(0)",
    "q_max(t)": r"q_{\max}(t)",
    "r_GD": r"r_{\mathrm{GD}}",
    "sigma'''(0)": r"\sigma'''(0)",
    "sigma(s) - s sigma'(s)": r"\sigma(s) - s\, \sigma'(s)",
    "sum_k u_k(0)^2": r"\sum_{k} u_{k}(0)^{2}",
    "t_half": r"t_{1/2}",
    "t_half / t_half* - 1": r"\frac{t_{1/2}}{t_{1/2}^{*}} - 1",
    "t_half*": r"t_{1/2}^{*}",
    "u_k(t)": r"u_{k}(t)",
    "v_+": r"v_{+}",
    "v_k(t)": r"v_{k}(t)",
    "x^T Sigma^-1 z": r"x^{T} \Sigma^{-1} z",
    "z^T Sigma^-1 z": r"z^{T} \Sigma^{-1} z",
    "|Delta T_p|": r"|\Delta T_{p}|",
    "|N_k|": r"|N_{k}|",
    "|R(t) - R(0)|": r"|R(t) - R(0)|",
    "|beta|": r"|\beta|",
    "|q_k|": r"|q_{k}|",
    "|q_k(n)|^2": r"|q_{k}(n)|^{2}",
    "|q_k(t)|^2": r"|q_{k}(t)|^{2}",
    "|z|": r"|z|",
}

#: key -> module name.
DERIVATIONS = {
    "D1": "gradient_flow",
    "D2": "taylor",
    "D3": "higher_order",
    "D4": "linearized_flow",
    "D5": "growth",
    "D6": "initial_plateau",
    "D7": "balance",
    "D8": "reduced_dynamics",
    "D9": "descent_time",
    "D10": "critical_point",
    "D11": "secondary_plateau",
}


#: ``module(key)`` and ``derive(key, *args)`` of this paper (:func:`theory.derivation_functions`)
module, derive = derivation_functions(__name__, DERIVATIONS, LABEL, LATEX_NAMES)
