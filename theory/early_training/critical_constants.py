"""E2. Critical learning-rate constants of deep networks: their definitions and the quadratic-model limits.

Statement
---------
The constants ``c_loss``, ``c_sharp`` and ``c_max`` of arXiv:2302.12250 are
*measured* constants, defined by event rules over the first 10 SGD steps
with learning rate ``eta = c / lambda^H_0`` (``lambda^H_0`` the top
eigenvalue of the Hessian of the training loss at initialisation):

* ``c_loss``: the smallest ``c`` at which the training loss (full training
  set) exceeds its initial value at some step ``1..10``;
* ``c_sharp``: the smallest ``c`` at which ``lambda^H_t / lambda^H_0 > 1``
  at some step ``1..10``;
* ``c_max``: the largest ``c`` at which the 10-step run does not diverge
  (a minibatch loss above ``1e5`` or not finite).

Their wide-network limit value is that of the quadratic model: gradient
descent on ``L = lambda theta^2 / 2`` multiplies ``theta`` by
``1 - eta lambda`` per step, so it is stable (and the loss does not rise)
exactly for ``0 < eta lambda < 2``; with ``eta = c / lambda_0`` on the top
curvature ``lambda_0`` the boundary is ``c = 2``.  The same multiplier puts
the edge of stability at ``lambda = 2 / eta``; heavy-ball momentum
``gamma`` (``v' = gamma v + lambda theta``, ``theta' = theta - eta v'``)
moves it to ``lambda = 2 (1 + gamma) / eta``, where the companion matrix
of the iteration has the eigenvalue ``-1`` (spectral radius 1).

Assumptions
-----------
A quadratic loss with top curvature ``lambda > 0`` (the local model of a
network's loss near initialisation when the curvature does not move: the
infinite-width limit); ``eta > 0``; ``0 <= gamma < 1``.  The finite-width
values of the constants are not derived here: they are measured.

Derivation
----------
The one-step multiplier ``m = 1 - eta lambda`` of GD on the quadratic is
obtained by differentiating the loss; ``solveset(|m| < 1)`` in
``c = eta lambda`` gives the stable interval ``(0, 2)`` and its upper end is
the wide-limit ``c_loss``.  For heavy ball the state ``(theta, v)`` evolves
by a 2 x 2 companion matrix whose characteristic polynomial is
``z^2 - (1 + gamma - eta lambda) z + gamma``; a real eigenvalue crosses the
unit circle at ``z = -1`` when ``eta lambda = 2 (1 + gamma)`` (solved for
``lambda``), while at ``z = 1`` only ``lambda = 0`` and a complex pair has
modulus ``sqrt(gamma) < 1``; with ``gamma = 0`` the threshold reduces to
``2 / eta``.

References
----------
Kalra & Barkeshli, arXiv:2302.12250 (Section 2: the definitions of the
critical constants; Appendix: the authors' public code); Cohen et al.,
arXiv:2103.00065 (the edge of stability at ``2 / eta`` and its heavy-ball
form ``2 (1 + gamma) / eta``); this is our reconstruction of E2 of
arXiv:2302.12250.
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero

KEY, TITLE = "E2", "Critical learning-rate constants: definitions and the quadratic-model limits"

__all__ = ["KEY", "TITLE", "theta", "lam", "lam0", "eta", "c", "gamma", "z", "STEPS", "DIVERGENCE_LOSS",
           "MULTIPLIER", "C_STABLE_SET", "C_LOSS_WIDE", "COMPANION", "CHAR_POLY", "SHARPNESS_EOS",
           "SHARPNESS_EOS_GD", "derive"]

theta = sp.Symbol("theta", real=True)
lam, lam0, eta, c = sp.symbols("lambda lambda_0 eta c", positive=True)
gamma = sp.Symbol("gamma", nonnegative=True)
z = sp.Symbol("z")

#: the horizon of the event rules (the authors' 10 steps)
STEPS = 10
#: the divergence rule of the authors' code: a minibatch loss above this
DIVERGENCE_LOSS = 1e5

_LOSS = lam * theta**2 / 2
_THETA_NEXT = theta - eta * sp.diff(_LOSS, theta)
#: GD's one-step multiplier on the quadratic, as a function of c = eta lambda_0 at lambda = lambda_0
MULTIPLIER = sp.simplify((_THETA_NEXT / theta).subs(eta, c / lam0).subs(lam, lam0))
#: the values of c > 0 at which GD on the quadratic is stable (the loss never rises)
C_STABLE_SET = sp.solveset(sp.Abs(MULTIPLIER) < 1, c, sp.Interval.open(0, sp.oo))
#: the wide-network limit of c_loss (and of c_sharp): the upper end of the stable set
C_LOSS_WIDE = sp.sympify(C_STABLE_SET.sup)

_v = sp.Symbol("v", real=True)
_v_next = gamma * _v + sp.diff(_LOSS, theta)
_theta_next_hb = theta - eta * _v_next
#: heavy ball on the quadratic: (theta, v) -> companion matrix times (theta, v)
COMPANION = sp.Matrix([[sp.diff(e, s) for s in (theta, _v)] for e in (sp.expand(_theta_next_hb), sp.expand(_v_next))])
CHAR_POLY = sp.expand((COMPANION - z * sp.eye(2)).det())


def _eos_threshold() -> sp.Expr:
    """The curvature at which the companion matrix has the eigenvalue -1 (solved for lambda)."""
    roots = sp.solve(CHAR_POLY.subs(z, -1), lam)
    if len(roots) != 1:
        raise ValueError(f"expected one curvature with eigenvalue -1, got {roots}")
    return sp.simplify(roots[0])


#: the sharpness at the edge of stability with heavy-ball momentum gamma
SHARPNESS_EOS = _eos_threshold()
#: the same for plain GD (gamma = 0)
SHARPNESS_EOS_GD = SHARPNESS_EOS.subs(gamma, 0)


def derive() -> Derivation:
    discriminant = sp.discriminant(CHAR_POLY, z)
    identities = {
        "GD multiplier on the quadratic is 1 - c": is_zero(MULTIPLIER - (1 - c)),
        "stable exactly on 0 < c < 2": C_STABLE_SET == sp.Interval.open(0, 2),
        "wide-limit c_loss = 2": is_zero(C_LOSS_WIDE - 2),
        "companion characteristic polynomial z^2 - (1 + gamma - eta lambda) z + gamma":
            is_zero(CHAR_POLY - (z**2 - (1 + gamma - eta * lam) * z + gamma)),
        "eigenvalue -1 at lambda = 2 (1 + gamma) / eta": is_zero(SHARPNESS_EOS - 2 * (1 + gamma) / eta),
        "p(1) = eta lambda: the eigenvalue +1 only at lambda = 0": is_zero(CHAR_POLY.subs(z, 1) - eta * lam),
        "complex eigenvalues have modulus sqrt(gamma) (product of roots = gamma)":
            is_zero(sp.Poly(CHAR_POLY, z).all_coeffs()[-1] - gamma),
        "gamma = 0: the edge of stability is 2 / eta": is_zero(SHARPNESS_EOS_GD - 2 / eta),
        "gamma = 0: eta lambda at the edge of stability is the wide-limit c_loss":
            is_zero(eta * SHARPNESS_EOS_GD - C_LOSS_WIDE),
    }
    results = {
        "GD multiplier (quadratic)": sp.Eq(sp.Symbol("theta'/theta"), MULTIPLIER),
        "stable learning rates": sp.Contains(c, C_STABLE_SET),
        "c_loss (wide limit)": sp.Eq(sp.Symbol("c_loss"), C_LOSS_WIDE),
        "heavy-ball companion matrix (rows: theta', v')": COMPANION,
        "characteristic polynomial": sp.Eq(sp.Symbol("p(z)"), CHAR_POLY),
        "discriminant": sp.Eq(sp.Symbol("Delta"), sp.factor(discriminant)),
        "edge of stability, heavy ball": sp.Eq(sp.Symbol("lambda_EoS"), SHARPNESS_EOS),
        "edge of stability, GD": sp.Eq(sp.Symbol("lambda_EoS(gamma=0)"), SHARPNESS_EOS_GD),
    }
    return derivation_of(__name__, results, identities)
