"""Global supremum of ``|g(s)|`` over the real line: exact, certified, or an honest bracket.

Used for the constants of the tanh-like assumption: ``C_L = sup |sigma'''|``
and ``C_0 = sup |sigma'|``.

Routes, tried in order (every result is a :class:`Supremum` whose ``lower``
and ``upper`` are floats rounded outward, so ``upper`` is always a true upper
bound, ``inf`` included):

0. **Cache.**  A record computed once is kept in memory (keyed by the
   expression's ``srepr``, the tolerance, the budget and :data:`VERSION`) and
   in a small JSON file in the project's cache folder
   (``$VERIFY_CACHE_DIR/supremum.json``, else
   ``$XDG_CACHE_HOME/dynamics-verifier/supremum.json``, default
   ``~/.cache``), written atomically.  Unreadable or corrupt files and entries
   are ignored; ``VERIFY_NO_CACHE=1`` turns the file off.  A result that a
   clock shaped (a SymPy time limit expired, or the time budget below ran
   out) depends on the machine (the budgets count this process's CPU time, so
   not on its load, but on its speed): it is kept in memory only.
1. **Infinite** (cheap).  A polynomial of degree >= 1 is unbounded.  When
   the interval enclosure of ``g`` on a tail ``[B, oo)`` is not finite,
   SymPy's limit at that end (under a time limit) decides: an infinite limit
   proves ``sup = oo`` (``method = "infinite"``, ``upper = inf``).
2. **Exact** (SymPy).  The critical points of ``g`` from
   :func:`sympy.solveset` (over one period when ``g`` is periodic); the
   supremum of ``|g|`` is the largest of ``|g|`` at those points and of its
   behaviour at ``+-oo``, which is bounded by the interval enclosure of the
   tails (SymPy's slow ``limit`` is asked only if that enclosure is too
   loose).  Skipped for large expressions and under a time limit.
3. **Certified** (mpmath interval branch and bound).  The compact part
   ``[-B, B]`` (one period ``[0, P]`` if ``g`` is periodic) is covered by
   boxes kept in a heap ordered by their upper bound.  Each box gets an upper
   bound on ``|g|`` -- the natural interval extension intersected with the
   mean-value form ``g(m) + g'(X)(X - m)``, or, when the enclosure of ``g'``
   excludes 0, the hull of the end-point values (``g`` is monotone there) --
   and a certified lower bound (``|g|`` at a point, evaluated as a thin
   interval).  The box with the largest upper bound is bisected until that
   bound is within ``rtol/2`` of the best lower bound; boxes whose upper
   bound falls below the lower bound are dropped.  The tails ``|s| >= B``
   are bounded by (a) the interval enclosure on the unbounded cell, (b) when
   ``g = q + h`` with ``q`` periodic, the same branch and bound of
   ``|q(x) + H|`` over one period, ``H`` the enclosure of ``h`` on the tail,
   and (c) SymPy showing ``g'`` has no zero there (``g`` monotone).
   If the work budget (time and boxes) runs out, or the tails cannot be
   bounded tightly, the bracket is reported as it stands
   (``method = "interval bracket"``) and its upper end is used; ``note``
   says why.
4. **Grid** (no interval extension for some function in ``g``).  A dense
   grid gives a lower bound only; ``upper = inf`` and ``certified`` is false.
"""
from __future__ import annotations

import heapq
import json
import math
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mpmath
import sympy as sp
from mpmath import iv

from ..bridge import numeric
from ..files import atomic_write, cache_enabled, cache_root

__all__ = ["Supremum", "sup_abs", "VERSION", "cache_path", "clear_memory_cache"]

#: Version of the algorithm; part of every cache key, so a change of method invalidates old entries.
VERSION = 3

_TAIL_START = 20
#: SymPy time limits (seconds of CPU time; enforced only on the main thread, where SIGPROF can interrupt).
_EXACT_SECONDS = 3.0
_LIMIT_SECONDS = 3.0
#: Expressions with more operations than this skip the SymPy critical-point search.
_EXACT_MAX_OPS = 60
#: Default work budget of the interval route.
BUDGET_SECONDS = 4.0
MAX_BOXES = 200_000
_DPS = 20
_INITIAL_CELLS = 64
_CACHE_ENTRIES = 512
_TRIG = (sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc)


@dataclass(frozen=True)
class Supremum:
    """Bounds on ``sup_s |g(s)|``.

    Attributes
    ----------
    lower, upper : float
        Bounds rounded outward: ``lower <= sup |g| <= upper`` (``upper`` may be
        ``inf``).  ``lower`` is certified unless ``method`` is ``"grid"``.
    exact : sympy.Expr or None
        The exact value when SymPy found it (``oo`` when proven infinite).
    method : str
        ``"exact"``, ``"infinite"``, ``"interval"`` (bracket narrower than
        ``rtol``), ``"interval bracket"`` (wider; ``note`` says why) or
        ``"grid"``.
    tail : str
        The argument used for ``|s| >= B`` (or for the whole line, if exact).
    certified : bool
        Whether ``upper`` is a proven upper bound that says something: false
        only when no finite bound could be proven and the supremum is not
        known to be infinite either (then ``upper`` is ``inf`` and ``note``
        holds an estimate).
    note : str
        How the bracket was obtained (boxes, seconds) or why it is loose.
    """

    lower: float
    upper: float
    exact: sp.Expr | None
    method: str
    tail: str
    certified: bool
    note: str = ""

    @property
    def value(self) -> float:
        """The upper bound: the safe constant to use in other bounds."""
        return self.upper

    @property
    def finite(self) -> bool:
        """Whether a finite upper bound is known (false: infinite, or not bounded)."""
        return math.isfinite(self.upper)

    @property
    def infinite(self) -> bool:
        """Whether the supremum is proven infinite."""
        return self.method == "infinite"

    @property
    def relative_width(self) -> float:
        if not self.finite:
            return math.inf
        return (self.upper - self.lower) / self.upper if self.upper > 0 else 0.0

    def as_dict(self) -> dict:
        return {
            "value": self.upper,
            "lower": self.lower,
            "upper": self.upper,
            "exact": None if self.exact is None else str(self.exact),
            "method": self.method,
            "tail": self.tail,
            "certified": self.certified,
            "note": self.note,
        }


# ---------------------------------------------------------------------------
# helpers: time limits, rounding, interval utilities


class _Timeout(Exception):
    pass


#: the clock of every budget here: this process's CPU time (user + system), which another job on the machine
#: does not consume, unlike wall time
_cpu_time = time.process_time


@contextmanager
def _time_limit(seconds: float):
    """Interrupt SymPy after ``seconds`` of this process's CPU time (only possible on the main thread).  CPU time,
    not wall time, so a result does not depend on how loaded the machine is (other jobs' CPU is not counted)."""
    if seconds <= 0:
        raise _Timeout()
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def handler(signum, frame):
        raise _Timeout()

    previous = signal.signal(signal.SIGPROF, handler)
    old_delay, _ = signal.setitimer(signal.ITIMER_PROF, seconds)
    started = _cpu_time()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
        if old_delay > 0:     # re-arm an outer CPU timer with what it had left
            signal.setitimer(signal.ITIMER_PROF, max(old_delay - (_cpu_time() - started), 1e-3))


def _down(x) -> float:
    """The largest float <= x."""
    x = mpmath.mpf(x)
    if mpmath.isinf(x):
        return float(x)
    f = float(x)
    return math.nextafter(f, -math.inf) if mpmath.mpf(f) > x else f


def _up(x) -> float:
    """The smallest float >= x."""
    x = mpmath.mpf(x)
    if mpmath.isinf(x):
        return float(x)
    f = float(x)
    return math.nextafter(f, math.inf) if mpmath.mpf(f) < x else f


def _enclose(value: sp.Expr) -> tuple[float, float]:
    """The nearest floats below and above an exact real number (so that a bound stays a bound)."""
    approx = float(sp.N(value, 40))
    lo = approx if sp.Rational(approx) <= value else math.nextafter(approx, -math.inf)
    hi = approx if sp.Rational(approx) >= value else math.nextafter(approx, math.inf)
    return lo, hi


def _finite(y) -> bool:
    return y is not None and mpmath.isfinite(y.a) and mpmath.isfinite(y.b)


def _abs_up(y):
    return max(abs(y.a), abs(y.b)) if _finite(y) else mpmath.inf


def _abs_low(y):
    if not _finite(y) or (y.a <= 0 <= y.b):
        return mpmath.mpf(0)
    return min(abs(y.a), abs(y.b))


def _hull(y, z):
    return iv.mpf([min(y.a, z.a), max(y.b, z.b)])


def _meet(y, z):
    lo, hi = max(y.a, z.a), min(y.b, z.b)
    return iv.mpf([lo, hi]) if lo <= hi else y


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
    """``X -> enclosure of g(X)`` (an ``iv.mpf``, or None on failure), or None if some function has no extension."""
    if any(f.func.__name__ not in _INTERVAL_FUNCTIONS for f in g.atoms(sp.Function)):
        return None
    fn = sp.lambdify((s,), g, modules=[_INTERVAL_FUNCTIONS, "mpmath"], cse=True)

    def enclosure(x):
        try:
            y = iv.mpf(fn(x))
        except Exception:  # noqa: BLE001 - any failure means "no enclosure"
            return None
        return y if _finite(y) else None

    return enclosure


#: Set when a clock (a SymPy time limit or the branch and bound's budget) shaped the current result;
#: such a result depends on the machine's speed and is kept in memory only, not written to the disk cache.
_CLOCK = threading.local()


def _clock_hit() -> None:
    _CLOCK.hit = True


def _sympy_call(fn, seconds: float):
    """``fn()`` under a time limit; None on timeout or on any SymPy failure."""
    try:
        with _time_limit(seconds):
            return fn()
    except _Timeout:
        _clock_hit()
        return None
    except Exception:  # noqa: BLE001 - SymPy raises many types; any failure means "no answer"
        return None


def _limit_kind(value) -> tuple[str, sp.Expr | None]:
    """``("finite", |bound|)``, ``("infinite", None)`` or ``("unknown", None)`` for a SymPy limit."""
    if value is None or isinstance(value, sp.Limit) or value is sp.nan:
        return "unknown", None
    if isinstance(value, sp.AccumBounds):
        ends = (value.min, value.max)
        if any(e.is_infinite for e in ends):
            return "infinite", None
        return "finite", sp.Max(sp.Abs(value.min), sp.Abs(value.max))
    if value.is_infinite or value is sp.zoo:
        return "infinite", None
    if value.is_finite and value.is_real:
        return "finite", sp.Abs(value)
    return "unknown", None


def _periodic_candidate(expr: sp.Expr, s: sp.Symbol) -> bool:
    """Cheap test: every occurrence of ``s`` sits inside a trigonometric function."""
    trig = [f for f in expr.atoms(*_TRIG) if f.has(s)]
    if not trig:
        return False
    return not expr.subs({f: sp.Dummy() for f in trig}).has(s)


def _period(expr: sp.Expr, s: sp.Symbol):
    """A period of ``expr`` in ``s``, or None.

    Proven directly: every occurrence of ``s`` sits in a trigonometric function of
    ``a_i s + b_i`` with the ``a_i`` rational multiples of one another, so
    ``P = 2 pi k / |a_0|`` with ``k`` the least common denominator of ``a_i / a_0``
    shifts every argument by a multiple of ``2 pi``.  (Cheaper than
    :func:`sympy.periodicity`, which takes seconds on a derivative of tanh.)
    """
    if not _periodic_candidate(expr, s):
        return None
    slopes = []
    for f in expr.atoms(*_TRIG):
        if not f.has(s):
            continue
        arg = sp.expand(f.args[0])
        a = arg.coeff(s, 1)
        if not (a.is_number and a != 0 and (arg - a * s).is_number and a.is_real):
            return None
        slopes.append(sp.Abs(a))
    base = slopes[0]
    k = sp.Integer(1)
    for a in slopes:
        ratio = sp.simplify(a / base)
        if not ratio.is_Rational:
            return None
        k = sp.ilcm(k, ratio.q)
    return sp.simplify(2 * sp.pi * k / base)


# ---------------------------------------------------------------------------
# exact route


def _exact_sup(g: sp.Expr, s: sp.Symbol) -> sp.Expr | None:
    """The exact ``sup |g|`` from the critical points, or None (SymPy could not, or not in time)."""
    if not g.has(s):
        return sp.Abs(g)
    if sp.count_ops(g) > _EXACT_MAX_OPS:
        return None
    deadline = _cpu_time() + _EXACT_SECONDS

    def left():
        return deadline - _cpu_time()

    period = _period(g, s)
    domain = sp.Interval(0, period) if period else sp.S.Reals
    crit = _sympy_call(lambda: sp.solveset(sp.diff(g, s), s, domain), left())
    if not isinstance(crit, sp.FiniteSet):
        return None
    candidates = _sympy_call(lambda: [sp.Abs(sp.simplify(g.subs(s, c))) for c in crit], left())
    if candidates is None:
        return None
    if period:
        candidates.append(sp.Abs(g.subs(s, 0)))
    try:
        values = [sp.N(c, 30) for c in candidates]
        if not all(v.is_real and v.is_finite for v in values):
            return None
    except Exception:  # noqa: BLE001
        return None
    if not period:
        # the behaviour at +-oo: enough that the tails' enclosure lies below the best critical value
        best = max(values) if values else sp.Integer(0)
        enclosure = _interval_function(g, s)
        for sign in (1, -1):
            tail = None
            if enclosure is not None:
                with mpmath.workdps(_DPS):
                    cell = iv.mpf([_TAIL_START, mpmath.inf]) if sign > 0 else iv.mpf([-mpmath.inf, -_TAIL_START])
                    tail = _abs_up(enclosure(cell))
            if tail is not None and tail <= mpmath.mpf(best) * (1 - mpmath.mpf(10) ** -20):
                continue
            kind, bound = _limit_kind(_sympy_call(lambda: sp.limit(g, s, sign * sp.oo), max(left(), 0.5)))
            if kind == "infinite":
                return sp.oo
            if kind != "finite":
                return None
            candidates.append(bound)
            values.append(sp.N(bound, 30))
    if not candidates:
        return None
    i = max(range(len(values)), key=values.__getitem__)
    best = candidates[i]
    return sp.nsimplify(best) if best.is_Rational else sp.simplify(best)


# ---------------------------------------------------------------------------
# interval branch and bound


class _Boxes:
    """Upper and lower bounds of ``|g + offset|`` on boxes ``[a, b]``."""

    def __init__(self, F, F1, offset=None):
        self.F, self.F1, self.offset = F, F1, offset
        self.count = 0

    def bounds(self, a, b):
        """``(upper bound on [a, b], a certified lower bound at some point of [a, b])``."""
        self.count += 1
        F, X = self.F, iv.mpf([a, b])
        m = a + (b - a) / 2
        Ym = F(iv.mpf(m))
        Y = F(X)
        D = self.F1(X) if self.F1 is not None else None
        low = _abs_low(Ym)
        if _finite(D) and (D.a > 0 or D.b < 0):
            Ya, Yb = F(iv.mpf(a)), F(iv.mpf(b))
            if _finite(Ya) and _finite(Yb):
                Y = _hull(Ya, Yb) if Y is None else _meet(Y, _hull(Ya, Yb))
                low = max(low, _abs_low(Ya), _abs_low(Yb))
        elif _finite(D) and _finite(Ym):
            mv = Ym + D * (X - m)
            Y = mv if Y is None else _meet(Y, mv)
        if Y is None:
            return mpmath.inf, low
        if self.offset is not None:
            Y = Y + self.offset
            low = max(mpmath.mpf(0), low - _abs_up(self.offset))
        return _abs_up(Y), low


def _branch_and_bound(boxes: _Boxes, a0, b0, lower, rtol, deadline, max_boxes):
    """Refine ``sup |g|`` on ``[a0, b0]``; returns ``(lower, upper, exhausted)``."""
    heap = []
    edges = [a0 + (b0 - a0) * mpmath.mpf(i) / _INITIAL_CELLS for i in range(_INITIAL_CELLS + 1)]
    edges[-1] = b0
    tick = 0
    for i, (a, b) in enumerate(zip(edges, edges[1:])):
        if i and _cpu_time() > deadline:
            # out of time before the first cover: the rest is one box (a true, if loose, upper bound)
            _clock_hit()
            b = b0
        ub, lb = boxes.bounds(a, b)
        lower = max(lower, lb)
        heap.append((-ub, tick, a, b))
        tick += 1
        if b == b0:
            break
    heapq.heapify(heap)
    exhausted = False
    while heap:
        ub = -heap[0][0]
        if ub <= lower * (1 + rtol):
            break
        if boxes.count >= max_boxes or _cpu_time() > deadline:
            if boxes.count < max_boxes:
                _clock_hit()
            exhausted = True
            break
        _, _, a, b = heapq.heappop(heap)
        m = a + (b - a) / 2
        if not (a < m < b):     # cannot split further at this precision
            heapq.heappush(heap, (-ub, tick, a, b))
            exhausted = True
            break
        for lo, hi in ((a, m), (m, b)):
            ub_half, lb_half = boxes.bounds(lo, hi)
            lower = max(lower, lb_half)
            if ub_half > lower:
                tick += 1
                heapq.heappush(heap, (-ub_half, tick, lo, hi))
    upper = max(lower, -heap[0][0]) if heap else lower
    return lower, upper, exhausted


def _tail_monotone(g, s, sign, limit_bound, seconds):
    """SymPy: ``g'`` has no zero beyond ``sign*B``, so ``sup |g|`` there is ``max(|g(+-B)|, |lim g|)``."""
    region = sp.Interval(_TAIL_START, sp.oo) if sign > 0 else sp.Interval(-sp.oo, -_TAIL_START)
    crit = _sympy_call(lambda: sp.solveset(sp.diff(g, s), s, region), seconds)
    if crit is not sp.S.EmptySet or limit_bound is None:
        return None
    at_b = abs(sp.N(g.subs(s, sign * _TAIL_START), 30))
    return max(mpmath.mpf(at_b), mpmath.mpf(sp.N(limit_bound, 30))) * (1 + mpmath.mpf(10) ** -25)


def _interval_route(g, s, rtol, budget_s, max_boxes, started) -> Supremum:
    deadline = started + budget_s
    eps = rtol / 2        # internal target, so the outward-rounded floats still meet rtol
    F = _interval_function(g, s)
    if F is None:
        return _grid_route(g, s)
    F1 = _interval_function(sp.diff(g, s), s)
    B = mpmath.mpf(_TAIL_START)
    notes, tails = [], []
    certified = True

    period = _period(g, s)
    if period is not None:
        P = mpmath.mpf(_up(sp.N(period, 30)))
        boxes = _Boxes(F, F1)
        lower, upper, exhausted = _branch_and_bound(boxes, mpmath.mpf(0), P, mpmath.mpf(0), eps, deadline, max_boxes)
        tails.append(f"g is periodic with period {period}: one period [0, {period}] covers the line")
        count = boxes.count
    else:
        boxes = _Boxes(F, F1)
        # reserve part of the budget for the tails' own branch and bound
        lower, upper, exhausted = _branch_and_bound(boxes, -B, B, mpmath.mpf(0), eps,
                                                    deadline - 0.25 * budget_s, max_boxes)
        count = boxes.count
        terms = sp.Add.make_args(g)
        q = sp.Add(*[t for t in terms if not t.has(s) or _periodic_candidate(t, s)])
        h = g - q
        q_period = _period(q, s) if q.has(s) and h != 0 else None
        for sign in (1, -1):
            side = "s > B" if sign > 0 else "s < -B"
            cell = iv.mpf([B, mpmath.inf]) if sign > 0 else iv.mpf([-mpmath.inf, -B])
            bound, text = _abs_up(F(cell)), "interval enclosure on the unbounded cell"
            if bound > lower * (1 + eps) and q_period is not None:
                Fh = _interval_function(h, s)
                H = Fh(cell) if Fh is not None else None
                Fq = _interval_function(q, s)
                if _finite(H) and Fq is not None:
                    tail_boxes = _Boxes(Fq, _interval_function(sp.diff(q, s), s), offset=H)
                    P = mpmath.mpf(_up(sp.N(q_period, 30)))
                    t_lower, t_upper, _ = _branch_and_bound(
                        tail_boxes, mpmath.mpf(0), P, lower, eps, max(deadline, _cpu_time() + 0.5), max_boxes)
                    count += tail_boxes.count
                    lower = max(lower, t_lower)
                    if t_upper < bound:
                        bound = t_upper
                        text = (f"g = q + h with q periodic (period {q_period}): sup over one period of |q + H|, "
                                f"H the enclosure of h on the tail")
            if bound > lower * (1 + eps):
                kind, limit_bound = _limit_kind(
                    _sympy_call(lambda: sp.limit(g, s, sign * sp.oo), min(_LIMIT_SECONDS, deadline - _cpu_time() + 0.5)))
                if kind == "infinite":
                    return _infinite(f"lim g at {'+' if sign > 0 else '-'}oo is infinite (SymPy)")
                mono = _tail_monotone(g, s, sign, limit_bound, max(0.5, min(_LIMIT_SECONDS, deadline - _cpu_time())))
                if mono is not None and mono < bound:
                    bound, text = mono, "g' has no zero there (SymPy), so g is monotone: max(|g(B)|, |lim g|)"
            if not mpmath.isfinite(bound):
                certified = False
                text = "not bounded: no finite enclosure and no monotonicity argument"
                far = [abs(numeric(g, (s,), "mpmath")(sign * mpmath.mpf(10) ** k)) for k in range(2, 9)]
                notes.append(f"{side}: |g| sampled at |s| = 1e2..1e8 reaches {mpmath.nstr(max(far), 8)} "
                             "(an estimate, not a bound)")
            elif bound > lower * (1 + eps):
                notes.append(f"{side}: the tail bound {mpmath.nstr(bound, 10)} is above the best lower bound")
            tails.append(f"{side}: {text}")
            upper = max(upper, bound)
    elapsed = _cpu_time() - started
    lo, hi = _down(lower), _up(upper)
    converged = math.isfinite(hi) and hi - lo <= rtol * hi
    if exhausted:
        notes.insert(0, f"work budget ({budget_s:g} s, {max_boxes} boxes) exhausted")
    if converged:
        method = "interval"
        notes.insert(0, f"branch and bound: bracket width {(hi - lo) / hi if hi else 0:.1e} relative "
                        f"after {count} boxes, {elapsed:.2f} s")
    else:
        method = "interval bracket"
        notes.insert(0, f"bracket [{lo!r}, {hi!r}] after {count} boxes, {elapsed:.2f} s, wider than rtol = {rtol:g}; "
                        "its upper end is used")
    B_text = "" if period is not None else f"B = {_TAIL_START}; "
    return Supremum(lo, hi, None, method, B_text + "; ".join(tails), certified, "; ".join(notes))


def _grid_route(g, s) -> Supremum:
    point_value = numeric(g, (s,), "mpmath")
    with mpmath.workdps(_DPS):
        grid = mpmath.linspace(-_TAIL_START, _TAIL_START, 20001)
        lower = max(abs(point_value(x)) for x in grid)
    names = sorted({f.func.__name__ for f in g.atoms(sp.Function)} - set(_INTERVAL_FUNCTIONS))
    return Supremum(_down(lower * (1 - mpmath.mpf(10) ** -15)), math.inf, None, "grid",
                    "no interval extension", False,
                    f"no interval extension of {', '.join(names)}: a grid on [-{_TAIL_START}, {_TAIL_START}] "
                    f"reaches {_up(lower)!r} (an estimate, not a bound)")


def _infinite(reason: str) -> Supremum:
    return Supremum(math.inf, math.inf, sp.oo, "infinite", reason, True, "the supremum is infinite: " + reason)


# ---------------------------------------------------------------------------
# caches


_MEMORY: dict[str, Supremum] = {}


def clear_memory_cache() -> None:
    _MEMORY.clear()


def cache_path() -> Path:
    """The on-disk cache file: ``supremum.json`` in the project's one cache folder (``$VERIFY_CACHE_DIR``, which
    ``--cache DIR`` sets, else ``$XDG_CACHE_HOME`` or ``~/.cache``, then ``dynamics-verifier``), so that
    ``python -m verify cache clear`` and ``--cache`` reach it."""
    return cache_root() / "supremum.json"


def _encode_float(x: float):
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _to_json(rec: Supremum) -> dict:
    return {"lower": _encode_float(rec.lower), "upper": _encode_float(rec.upper),
            "exact": None if rec.exact is None else str(rec.exact), "method": rec.method,
            "tail": rec.tail, "certified": rec.certified, "note": rec.note}


def _from_json(d: dict) -> Supremum | None:
    """A record from the cache file, or None if anything about it is off."""
    from ..expressions import parse_expression

    try:
        lower, upper = float(d["lower"]), float(d["upper"])
        text = d["exact"]
        exact = None
        if text is not None:
            exact = sp.oo if text == "oo" else parse_expression(text, [], "supremum cache")
            if exact is not sp.oo:       # the stored floats must enclose the stored exact value
                lo, hi = _enclose(exact)
                if (lo, hi) != (lower, upper):
                    return None
        if not (lower <= upper) or math.isnan(lower):
            return None
        rec = Supremum(lower, upper, exact, str(d["method"]), str(d["tail"]), bool(d["certified"]), str(d["note"]))
    except Exception:  # noqa: BLE001 - a bad entry is ignored, never fatal
        return None
    return rec


def _read_disk() -> dict:
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - missing, unreadable or corrupt: ignore
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("entries"), dict):
        return {}
    return data["entries"]


def _write_disk(key: str, rec: Supremum) -> None:
    path = cache_path()
    try:
        entries = _read_disk()
        entries[key] = _to_json(rec)
        while len(entries) > _CACHE_ENTRIES:
            entries.pop(next(iter(entries)))
        atomic_write(path, json.dumps({"version": VERSION, "entries": entries}, indent=0, sort_keys=True))
    except Exception:  # noqa: BLE001 - a cache that cannot be written is no error
        pass


def _key(g, s, rtol, budget_s, max_boxes) -> str:
    return f"v{VERSION}|rtol={rtol!r}|budget={budget_s!r}|boxes={max_boxes}|{sp.srepr(s)}|{sp.srepr(g)}"


# ---------------------------------------------------------------------------
# entry point


def sup_abs(g: sp.Expr, s: sp.Symbol, rtol: float = 1e-6, budget_s: float = BUDGET_SECONDS,
            max_boxes: int = MAX_BOXES) -> Supremum:
    """Return exact, certified or bracketed bounds on ``sup |g(s)|`` over the real line (cached)."""
    key = _key(g, s, rtol, budget_s, max_boxes)
    rec = _MEMORY.get(key)
    if rec is not None:
        return rec
    if cache_enabled():
        stored = _read_disk().get(key)
        rec = _from_json(stored) if isinstance(stored, dict) else None
        if rec is not None:
            _MEMORY[key] = rec
            return rec
    _CLOCK.hit = False
    rec = _compute(g, s, rtol, budget_s, max_boxes)
    _MEMORY[key] = rec
    if cache_enabled() and not getattr(_CLOCK, "hit", False):
        _write_disk(key, rec)
    return rec


def _compute(g: sp.Expr, s: sp.Symbol, rtol: float, budget_s: float, max_boxes: int) -> Supremum:
    if g.has(s) and g.is_polynomial(s) and sp.degree(g, s) >= 1:
        return _infinite(f"g is a polynomial of degree {sp.degree(g, s)} in {s}")
    if g.has(s):
        # cheap tests for an infinite supremum: g = p + r with p a polynomial of degree >= 1 and r bounded on
        # the tails; otherwise SymPy's limit, asked only where the tail has no finite enclosure
        terms = sp.Add.make_args(sp.expand(g)) if sp.count_ops(g) <= 4 * _EXACT_MAX_OPS else (g,)
        poly = sp.Add(*[term for term in terms if term.is_polynomial(s)])
        rest = _interval_function(g - poly, s) if poly.has(s) else None
        if rest is not None:
            with mpmath.workdps(_DPS):
                if all(_finite(rest(c)) for c in (iv.mpf([_TAIL_START, mpmath.inf]), iv.mpf([-mpmath.inf, -_TAIL_START]))):
                    return _infinite(f"g = p + r with p = {poly} a polynomial of degree {sp.degree(poly, s)} "
                                     "and r bounded for |s| >= 20 (interval enclosure)")
        enclosure = _interval_function(g, s)
        for sign in (1, -1):
            if enclosure is not None:
                with mpmath.workdps(_DPS):
                    cell = iv.mpf([_TAIL_START, mpmath.inf]) if sign > 0 else iv.mpf([-mpmath.inf, -_TAIL_START])
                    if _finite(enclosure(cell)):
                        continue
            kind, _ = _limit_kind(_sympy_call(lambda: sp.limit(g, s, sign * sp.oo), _LIMIT_SECONDS))
            if kind == "infinite":
                return _infinite(f"lim g at {'+' if sign > 0 else '-'}oo is infinite (SymPy)")
    exact = _exact_sup(g, s)
    if exact is sp.oo:
        return _infinite("|g| is unbounded as |s| -> oo (SymPy)")
    if exact is not None:
        lower, upper = _enclose(exact)
        return Supremum(lower, upper, exact, "exact", "critical points and the behaviour at +-oo (SymPy)", True,
                        "exact value from SymPy's critical points")
    with mpmath.workdps(_DPS):     # the budget counts from here: the exact route has its own time limit
        return _interval_route(g, s, rtol, budget_s, max_boxes, _cpu_time())
