"""Q3. Reference values for the measured Hessian spectra of a small trained network.

Statement
---------
The talk's observations on Hessian spectra are measurements, not theorems;
three reference values they are compared with are derived here.

1. The sharpness threshold of heavy ball.  Near a minimum the loss along a
   Hessian eigenvector of eigenvalue ``h`` is ``(h / 2) (x + eps)^2``, i.e.
   Q2's ``lambda (x + eps)^2`` with ``lambda = h / 2``; Q2's region
   ``alpha lambda < 1 + gamma`` becomes ``h < 2 (1 + gamma) / alpha``
   (``h_max``).  With weight decay ``wd`` the objective's Hessian is the
   loss's plus ``wd I``.
2. The mass of a Gaussian vector in its largest coordinates.  For
   ``z ~ N(0, 1)`` and the two-sided quantile ``q = Phi^{-1}(1 - p / 2)``,
   the fraction of ``E[z^2] = 1`` carried by ``|z| > q`` (the largest
   fraction ``p`` of the coordinates of a long Gaussian vector) is
   ``2 (q phi(q) + 1 - Phi(q))``: 0.2791 at ``p = 0.05``.
3. A power law ``lambda_i = lambda_1 i^s`` puts the 100th eigenvalue at
   ``lambda_1 100^s``: "100 times below the top" is the slope ``s = -1``.

Assumptions
-----------
Item 1 treats each Hessian eigendirection as an independent noisy quadratic
(the Hessian constant over the step's reach, the directions decoupled), the
assumption under which the talk uses Q1 and Q2.  Item 2 is the law of large
numbers for the empirical quantile of ``n`` Gaussian coordinates (exact as
``n -> infinity``; the finite-``n`` spread is measured by the claims).

Derivation
----------
1. ``diff`` of ``(h/2)(x + eps)^2`` twice is ``h``, so ``lambda = h / 2``;
   substituting into Q2's ``STABLE_UPPER`` and solving ``alpha h / 2 =
   1 + gamma`` for ``h`` gives the threshold.
2. ``E[z^2 1{|z| > q}] = 2 int_q^oo z^2 phi(z) dz``, integrated by SymPy
   (by parts: ``q phi(q) + 1 - Phi(q)``).
3. ``log(lambda_100 / lambda_1) = s log 100``, solved for ``s``.

References
----------
R. Ciuca, talk "Neural Network Training Dynamics: Towards Making Sense of a
Confusing Mess" (the observations); J. Cohen et al., "Gradient descent on
neural networks typically occurs at the edge of stability", ICLR 2021 (the
threshold ``2 / eta`` and its heavy-ball form ``2 (1 + beta) / eta``);
V. Papyan, "The full spectrum of deepnet Hessians at scale", ICML 2020.
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero
from . import momentum as q2

KEY, TITLE = "Q3", "Hessian spectra of a small trained network: reference values of the measurements"

__all__ = ["KEY", "TITLE", "alpha", "gamma", "h", "wd", "p", "q", "s", "SHARPNESS_THRESHOLD",
           "OBJECTIVE_THRESHOLD", "GAUSSIAN_TOP_MASS", "GAUSSIAN_QUANTILE", "HUNDREDTH_RATIO", "derive"]

alpha, gamma, lam = q2.alpha, q2.gamma, q2.lam
h = sp.Symbol("h", positive=True)            # a Hessian eigenvalue of the loss
wd = sp.Symbol("wd", nonnegative=True)       # weight decay
p = sp.Symbol("p", positive=True)            # the fraction of coordinates kept
q = sp.Symbol("q", positive=True)            # the two-sided Gaussian quantile of p
s = sp.Symbol("s", real=True)                # a log-log slope
_x, _e, _z = sp.symbols("x epsilon z", real=True)

_LAM_OF_H = sp.solve(sp.Eq(sp.diff(lam * (_x + _e) ** 2, _x, 2), h), lam)[0]
#: the largest loss-Hessian eigenvalue at which heavy ball stays stable: 2 (1 + gamma) / alpha
SHARPNESS_THRESHOLD = sp.solve(sp.Eq(alpha * _LAM_OF_H, q2.STABLE_UPPER), h)[0]
#: the same for the loss-Hessian eigenvalue when the objective adds (wd / 2) |theta|^2
OBJECTIVE_THRESHOLD = SHARPNESS_THRESHOLD - wd

_PHI = sp.exp(-_z**2 / 2) / sp.sqrt(2 * sp.pi)
#: q = Phi^{-1}(1 - p / 2)
GAUSSIAN_QUANTILE = sp.sqrt(2) * sp.erfinv(1 - p)
#: the fraction of a Gaussian vector's squared norm in its largest fraction p of coordinates (p -> its quantile q)
GAUSSIAN_TOP_MASS = sp.simplify(2 * sp.integrate(_z**2 * _PHI, (_z, q, sp.oo)))
#: lambda_100 / lambda_1 under a power law of slope s
HUNDREDTH_RATIO = sp.Integer(100) ** s


def derive() -> Derivation:
    """The three reference values, with zero-difference identities."""
    cdf_tail = (1 - sp.erf(q / sp.sqrt(2))) / 2
    top = GAUSSIAN_TOP_MASS.subs(q, GAUSSIAN_QUANTILE)
    identities = {
        "(h/2)(x + eps)^2 has curvature h: lambda = h / 2": is_zero(_LAM_OF_H - h / 2),
        "sharpness threshold = 2 (1 + gamma) / alpha": is_zero(SHARPNESS_THRESHOLD - 2 * (1 + gamma) / alpha),
        "gamma = 0: the gradient-descent threshold 2 / alpha": is_zero(SHARPNESS_THRESHOLD.subs(gamma, 0) - 2 / alpha),
        "Gaussian top mass = 2 (q phi(q) + 1 - Phi(q))":
            is_zero(GAUSSIAN_TOP_MASS - 2 * (q * _PHI.subs(_z, q) + cdf_tail)),
        "p = 1 (q = 0) keeps all the mass": is_zero(GAUSSIAN_TOP_MASS.subs(q, 0) - 1),
        "Phi(q) = 1 - p / 2": is_zero(sp.simplify(cdf_tail.subs(q, GAUSSIAN_QUANTILE)) - p / 2),
        "at p = 5 %: 0.2791 (the talk's 0.28)": abs(float(top.subs(p, sp.Rational(1, 20))) - 0.2791) < 5e-5,
        "slope -1: the 100th eigenvalue 100 times below the top":
            is_zero(HUNDREDTH_RATIO.subs(s, -1) - sp.Rational(1, 100)),
    }
    results = {
        "sharpness threshold": sp.Eq(sp.Symbol("h_max"), SHARPNESS_THRESHOLD),
        "with weight decay": sp.Eq(sp.Symbol("h_max_loss"), OBJECTIVE_THRESHOLD),
        "Gaussian top mass": sp.Eq(sp.Symbol("m(q)"), GAUSSIAN_TOP_MASS),
        "quantile of p": sp.Eq(q, GAUSSIAN_QUANTILE),
        "100th over 1st eigenvalue": sp.Eq(sp.Symbol("lambda_100/lambda_1"), HUNDREDTH_RATIO),
    }
    return derivation_of(__name__, results, identities)
