"""Global supremum of ``|g(s)|`` over the real line, exact or certified.

Used for the constants of the tanh-like assumption: ``C_L = sup |sigma'''|``
and ``C_0 = sup |sigma'|``.

Two routes, tried in order:

1. **Exact** (SymPy).  The critical points of ``g`` are found with
   :func:`sympy.solveset` (over one period when ``g`` is periodic); the
   supremum of ``|g|`` is the largest of ``|g|`` at those points and of the
   limits at ``+-oo``.  Used when SymPy returns a finite set in time.
2. **Certified** (mpmath interval arithmetic).  ``[-B, B]`` is covered by
   cells; an interval enclosure of ``g`` on each cell bounds ``|g|`` from
   above, point values at 25 digits bound it from below, and cells that
   cannot hold the supremum are discarded while the others are bisected
   (branch and bound) until the bounds agree to ``rtol``.  The tails
   ``|s| >= B`` are covered by an interval enclosure on ``[B, oo]``; when that
   enclosure is not finite, SymPy is asked whether ``g'`` has a zero beyond
   ``B``: if not, ``g`` is monotone there and the tail supremum is
   ``max(|g(B)|, |lim g|)``.  If neither argument goes through, the result
   says so in ``tail`` and ``certified`` is false.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import mpmath
import sympy as sp
from mpmath import iv

from .bridge import numeric

__all__ = ["Supremum", "sup_abs"]

_TAIL_START = 20
_EXACT_SECONDS = 10


@dataclass(frozen=True)
class Supremum:
    """Bounds on ``sup_s |g(s)|``.

    Attributes
    ----------
    lower, upper : float
        Certified (or, when ``certified`` is false, estimated) bounds.
    exact : sympy.Expr or None
        The exact value when SymPy found it.
    method : str
        ``"exact"`` or ``"interval"``.
    tail : str
        The argument used for ``|s| >= B`` (or for the whole line, if exact).
    certified : bool
        Whether ``upper`` is a proven upper bound.
    """

    lower: float
    upper: float
    exact: sp.Expr | None
    method: str
    tail: str
    certified: bool

    @property
    def value(self) -> float:
        """The upper bound: the safe constant to use in other bounds."""
        return self.upper

    def as_dict(self) -> dict:
        return {
            "value": self.upper,
            "lower": self.lower,
            "upper": self.upper,
            "exact": None if self.exact is None else str(self.exact),
            "method": self.method,
            "tail": self.tail,
            "certified": self.certified,
        }


class _Timeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: int):
    """Interrupt SymPy after ``seconds`` (only possible on the main thread)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def handler(signum, frame):
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _abs_bound_of_limit(value) -> sp.Expr | None:
    if isinstance(value, sp.AccumBounds):
        return sp.Max(sp.Abs(value.min), sp.Abs(value.max))
    if value.is_finite:
        return sp.Abs(value)
    return None


def _exact_sup(g: sp.Expr, s: sp.Symbol) -> sp.Expr | None:
    if not g.has(s):
        return sp.Abs(g)
    try:
        with _time_limit(_EXACT_SECONDS):
            period = sp.periodicity(g, s)
            domain = sp.Interval(0, period) if period else sp.S.Reals
            crit = sp.solveset(sp.diff(g, s), s, domain)
            if not isinstance(crit, sp.FiniteSet):
                return None
            candidates = [sp.Abs(sp.simplify(g.subs(s, c))) for c in crit]
            if period:
                candidates.append(sp.Abs(g.subs(s, 0)))
            else:
                for end in (sp.oo, -sp.oo):
                    bound = _abs_bound_of_limit(sp.limit(g, s, end))
                    if bound is None:
                        return sp.oo
                    candidates.append(bound)
    except (_Timeout, NotImplementedError, ValueError, TypeError):
        return None
    values = [float(sp.N(c, 30)) for c in candidates]
    best = max(range(len(values)), key=values.__getitem__)
    return sp.nsimplify(candidates[best]) if candidates[best].is_Rational else sp.simplify(candidates[best])


def _monotone(fn):
    """Interval extension of an increasing function by its end points."""

    def ext(x):
        x = iv.mpf(x)
        with mpmath.workprec(mpmath.mp.prec + 20):
            lo, hi = fn(mpmath.mpf(x.a)), fn(mpmath.mpf(x.b))
        return iv.mpf([lo, hi]) + iv.mpf([-1, 1]) * mpmath.mpf(2) ** (-mpmath.mp.prec + 4) * (abs(hi) + abs(lo) + 1)

    return ext


def _cosh(x):
    x = iv.mpf(x)
    top = max(mpmath.cosh(x.a), mpmath.cosh(x.b))
    low = mpmath.mpf(1) if x.a <= 0 <= x.b else min(mpmath.cosh(x.a), mpmath.cosh(x.b))
    return iv.mpf([low, top]) * iv.mpf([1 - mpmath.mpf(2) ** -60, 1 + mpmath.mpf(2) ** -60])


def _abs(x):
    x = iv.mpf(x)
    if x.a >= 0:
        return x
    if x.b <= 0:
        return -x
    return iv.mpf([0, max(-x.a, x.b)])


_INTERVAL_FUNCTIONS = {
    "exp": iv.exp, "log": iv.log, "sqrt": iv.sqrt, "sin": iv.sin, "cos": iv.cos,
    "tanh": _monotone(mpmath.tanh), "atan": _monotone(mpmath.atan),
    "erf": _monotone(mpmath.erf), "sinh": _monotone(mpmath.sinh),
    "asinh": _monotone(mpmath.asinh), "cosh": _cosh, "Abs": _abs,
    "pi": iv.pi, "E": iv.e, "mpf": iv.mpf,
}


def _interval_function(g: sp.Expr, s: sp.Symbol):
    if not g.atoms(sp.Function) <= {f for f in g.atoms(sp.Function) if f.func.__name__ in _INTERVAL_FUNCTIONS}:
        return None
    fn = sp.lambdify((s,), g, modules=[_INTERVAL_FUNCTIONS, "mpmath"])

    def enclosure(lo, hi):
        try:
            y = fn(iv.mpf([lo, hi]))
            y = iv.mpf(y)
        except Exception:  # noqa: BLE001 - any failure means "no enclosure"
            return None
        if not (mpmath.isfinite(y.a) and mpmath.isfinite(y.b)):
            return None
        return max(abs(y.a), abs(y.b))

    return enclosure


def _tail_argument(g, s, sign, point, enclosure, limit_value):
    """Upper bound of |g| on the tail beyond ``sign*B``; returns (bound, text)."""
    lo, hi = (point, mpmath.inf) if sign > 0 else (-mpmath.inf, point)
    if enclosure is not None:
        bound = enclosure(lo, hi)
        if bound is not None:
            return float(bound), "interval enclosure on the unbounded cell"
    try:
        with _time_limit(_EXACT_SECONDS):
            region = sp.Interval(point, sp.oo) if sign > 0 else sp.Interval(-sp.oo, point)
            crit = sp.solveset(sp.diff(g, s), s, region)
    except (_Timeout, NotImplementedError, ValueError, TypeError):
        crit = None
    if crit is sp.S.EmptySet and limit_value is not None:
        at_b = abs(float(sp.N(g.subs(s, point), 30)))
        return max(at_b, float(limit_value)), "g' has no zero there (SymPy), so g is monotone: max(|g(B)|, |lim g|)"
    return None, "not certified"


def _enclose(value: sp.Expr) -> tuple[float, float]:
    """The nearest floats below and above an exact real number (so that a bound stays a bound)."""
    import numpy as np

    approx = float(sp.N(value, 40))
    lo = approx if sp.Rational(approx) <= value else float(np.nextafter(approx, -np.inf))
    hi = approx if sp.Rational(approx) >= value else float(np.nextafter(approx, np.inf))
    return lo, hi


def sup_abs(g: sp.Expr, s: sp.Symbol, rtol: float = 1e-6, max_cells: int = 20000) -> Supremum:
    """Return exact or certified bounds on ``sup |g(s)|`` over the real line."""
    exact = _exact_sup(g, s)
    if exact is not None and exact is not sp.oo:
        lower, upper = _enclose(exact)
        return Supremum(lower, upper, exact, "exact", "critical points and limits at +-oo (SymPy)", True)
    if exact is sp.oo:
        return Supremum(float("inf"), float("inf"), sp.oo, "exact", "|g| is unbounded as |s| -> oo", True)

    with mpmath.workdps(25):
        point_value = numeric(g, (s,), "mpmath")
        enclosure = _interval_function(g, s)
        B = _TAIL_START
        limits = []
        for end in (sp.oo, -sp.oo):
            try:
                with _time_limit(_EXACT_SECONDS):
                    bound = _abs_bound_of_limit(sp.limit(g, s, end))
            except (_Timeout, NotImplementedError, ValueError, TypeError):
                bound = None
            limits.append(None if bound is None else sp.N(bound, 30))

        cells = [(mpmath.mpf(-B) + 2 * B * mpmath.mpf(i) / 400, mpmath.mpf(-B) + 2 * B * mpmath.mpf(i + 1) / 400)
                 for i in range(400)]
        lower = max(abs(point_value((a + b) / 2)) for a, b in cells)
        certified = enclosure is not None
        upper = lower
        if enclosure is not None:
            while cells and len(cells) < max_cells:
                bounds = [(enclosure(a, b), a, b) for a, b in cells]
                if any(bd is None for bd, _, _ in bounds):
                    certified = False
                    break
                keep = [(bd, a, b) for bd, a, b in bounds if bd > lower * (1 + rtol) + rtol]
                upper = max([lower] + [bd for bd, _, _ in bounds])
                if not keep:
                    break
                cells = []
                for _, a, b in keep:
                    m = (a + b) / 2
                    lower = max(lower, abs(point_value(m)), abs(point_value(a)), abs(point_value(b)))
                    cells += [(a, m), (m, b)]
            else:
                certified = certified and not cells
        else:
            # no interval extension: dense high-precision grid only
            grid = mpmath.linspace(-B, B, 20001)
            lower = max(lower, max(abs(point_value(x)) for x in grid))
            upper = lower

        tails = []
        for sign, lim in ((1, limits[0]), (-1, limits[1])):
            bound, text = _tail_argument(g, s, sign, sign * B, enclosure, lim)
            if bound is None:
                certified = False
                far = [abs(point_value(sign * mpmath.mpf(10) ** k)) for k in range(2, 9)]
                bound = float(max(far + ([lim] if lim is not None else [])))
                text = "not certified: sampled at |s| = 1e2..1e8 and the limit"
            tails.append(text)
            upper = max(upper, bound)
            lower = max(lower, abs(point_value(sign * mpmath.mpf(B))))
    method = "interval" if enclosure is not None else "high-precision grid"
    return Supremum(float(lower), float(upper), None, method, f"B = {B}; s > B: {tails[0]}; s < -B: {tails[1]}",
                    certified)
