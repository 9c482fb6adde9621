"""D7. Balance of the two layers and the Wasserstein distance between them.

Statement
---------
For every neuron, with ``s = w_k . x``,

    d/dt (a_k^2 - |w_k|^2) = -2 a_k E[e (sigma(s) - s sigma'(s))],

exactly conserved for linear ``sigma``; for tanh-like ``sigma``,
``sigma(s) - s sigma'(s) = -sigma'''(0) s^3 / 3 + O(s^4)`` so the drift is of
higher order.  Under the linearized flow, with
``u_k = (a_k + zhat . w_k)/sqrt 2`` and ``v_k = (a_k - zhat . w_k)/sqrt 2``:
``u_k = u_k(0) e^{|z| t}``, ``v_k = v_k(0) e^{-|z| t}``, ``u_k v_k`` and the
components of ``w_k`` orthogonal to ``z`` are constant.  Hence neurons align
with ``+-z/|z|`` (condensation).

Amplitudes (population law).  Let ``W2rel = W2(rho_|a|, rho_|w|) / (mean
a_k^2)^(1/2)``, W2 between two equal-size samples being the root mean square
difference of the sorted samples.  With Gaussian initialisation of standard
deviation ``s`` and ``tau = |z| t``, under ``exp(tA)``: ``a_k`` and
``zhat . w_k`` are both exactly ``N(0, s^2 cosh 2 tau)``, independent of
``w_perp ~ N(0, s^2 I_(d-1))``, which is constant.  So as ``m -> oo``

    W2rel(t) -> F_d(r),   r = (cosh 2 tau)^(-1/2),
    F_d(r) = W2( |N(0,1)|, sqrt(N(0,1)^2 + r^2 chi^2_(d-1)) )

(1-D W2 between the two laws: root mean square difference of their quantile
functions).  ``F_1 = 0``; for ``d >= 2``, ``F_d(r)^2 = c_d r^3 (1 + o(1))``
with ``c_d = sqrt(2/pi) int_0^oo (eta(xi) - xi)^2 dxi``, ``eta(xi)`` solving
``E sqrt((eta^2 - Q)_+) = xi``, ``Q ~ chi^2_(d-1)`` (``c_2 = 0.330``,
``c_3 = 1.111``, ``c_5 = 3.54``), so ``-d log W2rel / dt -> 3|z|/2`` -- only
for ``tau >~ 3`` (the local slope of ``log F_3`` in ``tau`` is -1.03, -1.32,
-1.43, -1.49 at ``tau = 0.5, 1, 2, 4``).  W2rel does *not* decay like
``e^{-2|z|t}`` (an earlier statement of this module, wrong for every d).
Finite ``m``: ``W2rel^2 ~ F_d^2 + C_m^2 e^{-2 tau} / m`` with ``C_m`` about
2.5 -- *measured* by Monte Carlo of the exact linear law
(:func:`verify.multistage.wasserstein.finite_m_constant`), not derived.

Assumptions
-----------
Tanh-like ``sigma``; ``z != 0``; the linear regime (``q_max`` small, D5);
all ``a_k`` and coordinates of ``w_k`` i.i.d. ``N(0, s^2)`` for the law.

Derivation
----------
The drift follows from the D1 field by the chain rule (checked with a
generic ``sigma`` on a free finite data set).  The series of
``sigma - s sigma'`` uses ``sigma(0) = sigma''(0) = 0``, ``sigma'(0) = 1``.
The linear flow in ``(u, v)`` is diagonal (D4).  Law: ``q_k(t) = exp(tA)
q_k(0)`` is Gaussian with covariance ``s^2 exp(tA) exp(tA)^T``; from the D4
closed form (SymPy, zero differences) its ``aa`` entry and its
``zhat zhat`` entry are ``cosh 2 tau``, the ``w_perp`` block is ``I - zhat
zhat^T`` and the covariances of ``w_perp`` with ``a`` and ``zhat . w`` vanish
(Gaussian, hence independent).  Dividing by ``s (cosh 2 tau)^(1/2)`` gives
``|a|/rms -> |N|`` and ``|w|/rms -> sqrt(N'^2 + r^2 |w_perp|^2 / s^2)``.
``F_d`` is evaluated by quadrature: the survival function of
``Y = sqrt(N^2 + r^2 chi^2_(d-1))`` is ``chi.sf(y/r) + int_0^(y/r) 2
Phi_c(sqrt(y^2 - r^2 q^2)) chi_(d-1)(q) dq`` (Gauss-Legendre after
``q = (y/r) sin theta``), the transport map ``T(x)`` solves
``P(Y > T) = P(|N| > x)``, and ``F_d^2 = int_0^oo (T(x) - x)^2 2 phi(x) dx``
(``scipy.integrate.quad``).  Small ``r``: with ``x = r xi``, ``T = r eta``,
``P(|N| <= r xi) = sqrt(2/pi) r xi + O(r^3)`` and ``P(Y <= r eta) =
sqrt(2/pi) r E sqrt((eta^2 - Q)_+) + O(r^3)``, so the transport equation
becomes the ``r``-free ``E sqrt((eta^2 - Q)_+) = xi`` and the integrand
scales as ``r^3`` (SymPy: leading term of the series in ``r``); for large
``xi``, ``eta - xi = (d - 1)/(2 xi) + O(xi^-3)`` (SymPy series), so the
``xi`` integral converges and the region ``x >> r`` adds nothing of lower
order.  Hence ``F_d ~ sqrt(c_d) r^(3/2)`` and, with ``r ~ sqrt 2 e^{-tau}``,
the rate ``3|z|/2`` (SymPy limit of ``-d/dt log r^(3/2)``).

References
----------
Theorem 4* and Figure 1(c) of Chen, Luo, Wang, arXiv:2410.20119 (our
reconstruction; the population law is ours); condensation orientations:
Zhou et al., NeurIPS 2022; 1-D W2 as quantile distance: Villani, *Topics in
Optimal Transportation* (2003), Thm 2.18.
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero
from .finite_model import FiniteModel, sigma
from .activation import S, Activation, activation_from_spec
from .linearized_flow import closed_form
from .symbols import t, z_norm

__all__ = ["derive", "R_OF_TAU", "W2REL_ASYMPTOTIC_RATE", "W2REL_EXPONENT"]

KEY, TITLE = "D7", "Balance and the Wasserstein distance (Theorem 4*)"

r_sym = sp.Symbol("r", positive=True)
tau = sp.Symbol("tau", positive=True)
#: r(tau) = (cosh 2 tau)^(-1/2): the scale of the orthogonal part relative to the rms of a
R_OF_TAU = sp.cosh(2 * tau) ** sp.Rational(-1, 2)
#: F_d ~ sqrt(c_d) r^W2REL_EXPONENT as r -> 0
W2REL_EXPONENT = sp.Rational(3, 2)
#: -d log W2rel / dt as t -> oo (d >= 2)
W2REL_ASYMPTOTIC_RATE = W2REL_EXPONENT * z_norm


def _law_identities() -> dict:
    """Covariance of ``exp(tA) q(0)`` for ``q(0) ~ N(0, I)``, from the D4 closed form (``d = 2``: one
    orthogonal direction suffices for the block structure, and keeps ``simplify`` quick)."""
    z, X = closed_form(2)
    zn = sp.sqrt((z.T * z)[0])
    zhat = z / zn
    n = sp.Matrix([-z[1], z[0]]) / zn          # the orthogonal direction
    C = X * X.T
    Cwa, Cww = C[1:, 0], C[1:, 1:]
    return {
        "Var a(t) = s^2 cosh(2|z|t) under exp(tA)": is_zero(C[0, 0] - sp.cosh(2 * zn * t)),
        "Var zhat.w(t) = s^2 cosh(2|z|t) under exp(tA)": is_zero((zhat.T * Cww * zhat)[0] - sp.cosh(2 * zn * t)),
        "Cov(a, w_perp) = 0": is_zero((n.T * Cwa)[0]),
        "Cov(zhat.w, w_perp) = 0": is_zero((n.T * Cww * zhat)[0]),
        "Var w_perp = s^2 (constant)": is_zero((n.T * Cww * n)[0] - 1),
    }


def _scaling_identities() -> tuple[dict, dict]:
    xi, eta, Q = sp.symbols("xi eta Q", positive=True)
    k = sp.Symbol("k", positive=True)           # k = d - 1 = E[Q]
    phi2 = 2 * sp.exp(-(r_sym * xi) ** 2 / 2) / sp.sqrt(2 * sp.pi)   # density of |N| at x = r xi
    element = (r_sym * eta - r_sym * xi) ** 2 * phi2 * r_sym            # (T - x)^2 dG(x), dx = r dxi
    lead = sp.series(element, r_sym, 0, 4).removeO()
    c_integrand = sp.sqrt(2 / sp.pi) * (eta - xi) ** 2
    # large xi: E sqrt(eta^2 - Q) = eta - E[Q]/(2 eta) + O(eta^-3); invert to eta = xi + k/(2 xi) + ...
    e_sqrt = sp.series(sp.sqrt(eta**2 - Q), eta, sp.oo, 3).removeO().subs(Q, k)   # E[Q] = k at this order
    eta_large = xi + k / (2 * xi)
    residual = sp.series(e_sqrt.subs(eta, eta_large) - xi, xi, sp.oo, 2).removeO()
    rate = sp.limit(-sp.diff(sp.log(R_OF_TAU.subs(tau, z_norm * t) ** W2REL_EXPONENT), t), t, sp.oo)
    identities = {
        "(T - x)^2 dG = r^3 sqrt(2/pi) (eta - xi)^2 dxi + O(r^5) with x = r xi, T = r eta":
            is_zero(lead - r_sym**3 * c_integrand),
        "eta - xi = (d - 1)/(2 xi) + O(xi^-3) solves E sqrt(eta^2 - Q) = xi": is_zero(residual),
        "-d/dt log r(|z|t)^(3/2) -> 3|z|/2": is_zero(rate - W2REL_ASYMPTOTIC_RATE),
        "r(0) = 1 (equal laws of a and zhat.w at t = 0)": is_zero(R_OF_TAU.subs(tau, 0) - 1),
    }
    c = sp.Symbol("c_d", positive=True)
    F = sp.Function("F_d")
    results = {
        "r(tau)": sp.Eq(sp.Symbol("r"), R_OF_TAU),
        "F_d(r) small r": sp.Eq(F(r_sym) ** 2, c * r_sym**3),
        "c_d": sp.Eq(c, sp.Integral(c_integrand, (xi, 0, sp.oo))),
        "eta(xi) large xi": sp.Eq(eta, eta_large),
        "asymptotic rate of W2rel (d >= 2)": sp.Eq(sp.Symbol("-d log W2rel/dt"), W2REL_ASYMPTOTIC_RATE),
    }
    return identities, results


def derive(activation: Activation | None = None) -> Derivation:
    act = activation or activation_from_spec("tanh")
    model = FiniteModel(neurons=1)
    field = model.field()
    a, w = model.a[0], list(model.W.row(0))
    drift = sp.diff(a**2 - sum(c**2 for c in w), a) * field[a] + sum(
        sp.diff(-(c**2), c) * field[c] for c in w)
    claimed = -2 * a * model.E([model.e(i) * (sigma(model.pre(0, i)) - model.pre(0, i) * model.dsigma(model.pre(0, i)))
                                for i in range(model.points)])
    gap = act.expr - S * act.derivative(1)
    c3 = act.derivative(3).subs(S, 0)
    gap_series = sp.series(gap, S, 0, 4).removeO()
    u0, v0, wp = sp.symbols("u_0 v_0 w_perp", real=True)
    u, v = u0 * sp.exp(z_norm * t), v0 * sp.exp(-z_norm * t)
    a_t, w_par = (u + v) / sp.sqrt(2), (u - v) / sp.sqrt(2)
    linear = sp.Matrix([[0, z_norm], [z_norm, 0]])  # A restricted to span{(1,0),(0,zhat)}
    identities = {
        "drift of a^2 - |w|^2 from the D1 field": is_zero(drift - claimed),
        "sigma - s sigma' = -sigma'''(0) s^3/3 + O(s^4)": is_zero(gap_series + c3 * S**3 / 3),
        "(u e^{|z|t}, v e^{-|z|t}) solves the linear flow": is_zero(
            sp.diff(sp.Matrix([a_t, w_par]), t) - linear * sp.Matrix([a_t, w_par])),
        "u v is constant": is_zero(sp.diff(u * v, t)),
        "a^2 - |w|^2 = 2 u v - |w_perp|^2": is_zero(a_t**2 - (w_par**2 + wp**2) - (2 * u * v - wp**2)),
    }
    identities.update(_law_identities())
    scaling, law_results = _scaling_identities()
    identities.update(scaling)
    results = {
        "balance drift": sp.Eq(sp.Symbol("d/dt (a_k^2 - |w_k|^2)"),
                               -2 * sp.Symbol("a_k") * sp.Function("E")(sp.Symbol("e") * (
                                   sp.Function("sigma")(S) - S * sp.Derivative(sp.Function("sigma")(S), S)))),
        "sigma - s sigma' series": sp.Eq(sp.Symbol("sigma(s) - s sigma'(s)"), sp.series(gap, S, 0, 6)),
        "u(t)": sp.Eq(sp.Symbol("u_k(t)"), u),
        "v(t)": sp.Eq(sp.Symbol("v_k(t)"), v),
        "Var a(t) = Var zhat.w(t)": sp.Eq(sp.Symbol("Var a_k(t) / s^2"), sp.cosh(2 * z_norm * t)),
        **law_results,
    }
    return derivation_of(__name__, results, identities)

