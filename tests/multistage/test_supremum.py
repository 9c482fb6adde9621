"""Tests of ``theory.multistage.supremum``: narrow certified brackets, the cache, infinite suprema, the work budget.

Oracle, and why it is trusted: a dense float64 grid of ``|g|`` (400 001 points on
``[-30, 30]``, spacing 1.5e-4) finds the neighbourhood of every near-maximal
local maximum; each is refined by :func:`mpmath.findroot` on ``g'`` at 30
digits.  Every value it returns is ``|g|`` at an actual point, so it is a
*lower* bound of the supremum computed without interval arithmetic, branch
and bound or SymPy's solvers.  A certified upper end must lie above it, and a
converged bracket within ``rtol = 1e-6`` relative of it.
"""
from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from theory.multistage import supremum as _supremum
from theory.multistage.supremum import Supremum, sup_abs
from theory.multistage.activation import BUILTIN, Activation, S
from waiting import cpu_seconds

RTOL = 1e-6

#: Composed activations whose sup |sigma'''| no closed form gives (SymPy's solveset returns a ConditionSet
#: or is skipped), so they take the interval branch and bound; tails with periodic parts included.
COMPOSED = {
    "tanh + sin^3/10": sp.tanh(S) + sp.sin(S) ** 3 / 10,
    "tanh(tanh(tanh))": sp.tanh(sp.tanh(sp.tanh(S))),
    "tanh + sin(s/2)^3/10 - sin(s/3)^3/12": sp.tanh(S) + sp.sin(S / 2) ** 3 / 10 - sp.sin(S / 3) ** 3 / 12,
}


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Each test starts cold: an empty in-process cache and a private cache folder."""
    monkeypatch.setattr(_supremum, "_MEMORY", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("VERIFY_CACHE_DIR", raising=False)
    monkeypatch.delenv("VERIFY_NO_CACHE", raising=False)
    yield


def test_the_disk_cache_lives_in_the_one_cache_folder(tmp_path, monkeypatch, capsys):
    # --cache DIR sets VERIFY_CACHE_DIR: the certified constants follow it, and 'cache clear' removes them
    from verify.cli import main

    monkeypatch.setenv("VERIFY_CACHE_DIR", str(tmp_path / "team"))
    assert _supremum.cache_path() == tmp_path / "team" / "supremum.json"
    s = sp.Symbol("s", real=True)
    _supremum.sup_abs(sp.tanh(s), s)
    assert _supremum.cache_path().is_file()
    assert main(["cache", "clear"]) == 0 and not _supremum.cache_path().exists()
    monkeypatch.delenv("VERIFY_CACHE_DIR")
    assert _supremum.cache_path() == tmp_path / "cache" / "dynamics-verifier" / "supremum.json"   # control


def grid_oracle(g: sp.Expr, lo: float = -30.0, hi: float = 30.0, n: int = 400_001) -> mpmath.mpf:
    """Max of ``|g|`` over a dense grid, refined at 30 digits near the top local maxima (a lower bound)."""
    f = sp.lambdify(S, g, "numpy")
    x = np.linspace(lo, hi, n)
    y = np.abs(np.broadcast_to(f(x), x.shape))
    peaks = np.flatnonzero((y[1:-1] >= y[:-2]) & (y[1:-1] >= y[2:])) + 1
    peaks = peaks[y[peaks] >= 0.99 * y.max()]
    g_mp, dg_mp = sp.lambdify(S, g, "mpmath"), sp.lambdify(S, sp.diff(g, S), "mpmath")
    best = mpmath.mpf(0)
    with mpmath.workdps(30):
        for i in peaks[np.argsort(-y[peaks])][:20]:
            best = max(best, abs(g_mp(mpmath.mpf(float(x[i])))))
            try:
                root = mpmath.findroot(dg_mp, mpmath.mpf(float(x[i])))
            except (ValueError, ZeroDivisionError):
                continue
            if abs(root - x[i]) <= 2 * (x[1] - x[0]):       # the same local maximum, not a far critical point
                best = max(best, abs(g_mp(root)))
    return best


def _relative_width(sup: Supremum) -> float:
    return (sup.upper - sup.lower) / sup.upper


# ---------------------------------------------------------------------------
# narrow certified brackets against the grid oracle


@pytest.mark.parametrize("name", list(COMPOSED))
def test_C_L_bracket_is_narrow_and_agrees_with_the_grid_oracle(name):
    g = sp.diff(COMPOSED[name], S, 3)
    sup = sup_abs(g, S)
    assert sup.method == "interval" and sup.certified, sup.note
    assert sup.lower <= sup.upper and _relative_width(sup) < RTOL, sup.note
    oracle = grid_oracle(g)
    assert mpmath.mpf(sup.upper) >= oracle                        # the upper end is a true upper bound
    assert mpmath.mpf(sup.upper) - oracle <= RTOL * oracle          # and it is the supremum to 1e-6
    assert mpmath.mpf(sup.lower) <= oracle * (1 + RTOL)


@pytest.mark.parametrize("name", list(COMPOSED))
def test_negative_control_a_wrong_claimed_supremum_is_refuted_by_the_oracle(name):
    """0.99 times the reported value, claimed as the supremum, is beaten by a point of the grid."""
    g = sp.diff(COMPOSED[name], S, 3)
    claimed = 0.99 * sup_abs(g, S).upper
    assert grid_oracle(g) > claimed


def test_issue_example_is_the_supremum_not_the_loose_bracket_end():
    """``tanh + 0.1 sin^3`` used to report C_L = 2.7 from the bracket [1.4, 2.7]; sup |sigma'''| = 1.4."""
    act = Activation("tanh + sin^3/10", COMPOSED["tanh + sin^3/10"])
    assert act.C_L.upper == pytest.approx(1.4, rel=RTOL) and act.C_L.upper >= 1.4
    assert act.C0.upper == pytest.approx(1.0, rel=RTOL) and act.C0.upper >= 1.0     # sigma'(0) = 1
    assert "tail" in act.C_L.tail or "periodic" in act.C_L.tail


def test_forced_interval_route_for_a_builtin_encloses_the_exact_value(monkeypatch):
    monkeypatch.setattr(_supremum, "_exact_sup", lambda g, s: None)
    sup = sup_abs(sp.diff(BUILTIN["erf"], S, 3), S)
    assert sup.method == "interval" and sup.lower <= math.pi / 2 <= sup.upper and _relative_width(sup) < RTOL


# ---------------------------------------------------------------------------
# built-ins: exact and fast


@pytest.mark.parametrize("name, value", [("tanh", sp.Integer(2)), ("sin", sp.Integer(1)), ("erf", sp.pi / 2)])
def test_builtins_are_exact_and_fast(name, value):
    """Exact values, in well under ten CPU seconds (about a second cold; CPU time, which other processes' load
    does not inflate)."""
    with cpu_seconds() as used:
        act = Activation(name, BUILTIN[name])
        sup = act.C_L
        assert act.C0.exact == 1
    assert used() < 10
    assert sup.method == "exact" and sup.certified and sp.simplify(sup.exact - value) == 0
    assert sp.Rational(sup.lower) <= value <= sp.Rational(sup.upper)


# ---------------------------------------------------------------------------
# infinite suprema


@pytest.mark.parametrize("expr", [sp.sinh(S), S - S**3 / 3 + S**5 / 10, sp.tanh(S) + S**5 / 100])
def test_infinite_supremum_is_reported_cheaply(expr):
    with cpu_seconds() as used:
        act = Activation(str(expr), expr)
        for sup in (act.C_L, act.C0):
            assert sup.method == "infinite" and sup.infinite and not sup.finite
            assert sup.upper == math.inf and sup.exact is sp.oo and sup.certified
    assert used() < 10                              # CPU seconds


def test_infinite_record_survives_the_disk_cache(monkeypatch):
    g = sp.diff(sp.sinh(S), S, 3)
    first = sup_abs(g, S)
    monkeypatch.setattr(_supremum, "_MEMORY", {})
    assert sup_abs(g, S) == first
    assert json.loads(_supremum.cache_path().read_text())["entries"]


# ---------------------------------------------------------------------------
# the work budget


def test_budget_bounds_the_time_on_nested_expressions():
    with cpu_seconds() as used:
        act = Activation("tanh(tanh(tanh))", COMPOSED["tanh(tanh(tanh))"])
        sup = act.C_L
    assert used() < 20                              # CPU seconds: it took over 30 s before; about 2 s now
    assert sup.upper >= 6 and sup.certified         # sigma'''(0) = -6


def test_an_exhausted_budget_reports_the_bracket_and_says_so():
    g = sp.diff(COMPOSED["tanh(tanh(tanh))"], S, 3)
    with cpu_seconds() as used:
        sup = sup_abs(g, S, budget_s=0.05, max_boxes=80)
    assert used() < 10                              # CPU seconds
    assert sup.method == "interval bracket" and "exhausted" in sup.note and "upper end is used" in sup.note
    assert sup.certified and sup.lower <= 6 <= sup.upper       # still a certified bracket
    assert _relative_width(sup) > RTOL


# ---------------------------------------------------------------------------
# caches


def test_cache_returns_the_same_record_without_recomputing(monkeypatch):
    g = sp.diff(COMPOSED["tanh + sin^3/10"], S, 3)
    first = sup_abs(g, S)
    assert sup_abs(g, S) is first                                   # in-process cache

    def boom(*args, **kwargs):
        raise AssertionError("recomputed a cached supremum")

    monkeypatch.setattr(_supremum, "_compute", boom)
    monkeypatch.setattr(_supremum, "_MEMORY", {})                   # a new process: only the file is left
    assert sup_abs(g, S) == first
    assert Activation("x", COMPOSED["tanh + sin^3/10"]).C_L == first


def test_cache_round_trips_exact_values(monkeypatch):
    first = Activation("erf", BUILTIN["erf"]).C_L
    monkeypatch.setattr(_supremum, "_MEMORY", {})
    monkeypatch.setattr(_supremum, "_compute", lambda *a: pytest.fail("recomputed"))
    again = Activation("erf", BUILTIN["erf"]).C_L
    assert again == first and again.exact == sp.pi / 2


def test_a_corrupt_cache_file_is_ignored_and_replaced():
    path = _supremum.cache_path()
    path.parent.mkdir(parents=True)
    path.write_text("{ this is not json")
    sup = sup_abs(sp.diff(BUILTIN["tanh"], S, 3), S)
    assert sup.exact == 2
    data = json.loads(path.read_text())                              # rewritten, valid
    assert data["version"] == _supremum.VERSION and len(data["entries"]) == 1


def test_a_tampered_cache_entry_is_ignored(monkeypatch):
    g = sp.diff(BUILTIN["tanh"], S, 3)
    sup_abs(g, S)
    path = _supremum.cache_path()
    data = json.loads(path.read_text())
    (entry,) = data["entries"].values()
    entry["upper"] = 1.0                                            # no longer encloses the stored exact value 2
    path.write_text(json.dumps(data))
    monkeypatch.setattr(_supremum, "_MEMORY", {})
    assert sup_abs(g, S).upper == 2.0


def test_a_cache_of_another_version_is_ignored(monkeypatch):
    path = _supremum.cache_path()
    path.parent.mkdir(parents=True)
    g = sp.diff(BUILTIN["sin"], S, 3)
    key = _supremum._key(g, S, RTOL, _supremum.BUDGET_SECONDS, _supremum.MAX_BOXES)
    bogus = {"lower": 5.0, "upper": 5.0, "exact": None, "method": "interval", "tail": "", "certified": True, "note": ""}
    path.write_text(json.dumps({"version": _supremum.VERSION - 1, "entries": {key: bogus}}))
    assert sup_abs(g, S).upper == 1.0


def test_no_cache_environment_variable_disables_the_file(monkeypatch):
    monkeypatch.setenv("VERIFY_NO_CACHE", "1")
    sup_abs(sp.diff(BUILTIN["sin"], S, 3), S)
    assert not _supremum.cache_path().exists()


def test_a_result_shaped_by_the_clock_is_not_written_to_disk():
    """A budget that runs out in time depends on the machine's load: memory only, not the cache file."""
    g = sp.diff(COMPOSED["tanh(tanh(tanh))"], S, 3)
    sup = sup_abs(g, S, budget_s=0.0)
    assert sup.method == "interval bracket" and sup.certified and sup.upper >= 6
    assert sup_abs(g, S, budget_s=0.0) is sup
    assert not _supremum.cache_path().exists()


def test_the_sympy_time_limit_counts_cpu_time_not_wall_time():
    """A wait (another job holding the cores) does not use up the budget; computing does.  So the route a
    supremum takes does not depend on the machine's load."""
    import time

    with _supremum._time_limit(0.3):
        time.sleep(0.6)                       # twice the budget in wall time, almost no CPU: no timeout
    with pytest.raises(_supremum._Timeout):   # control: the same budget spent computing is interrupted
        with _supremum._time_limit(0.3):
            end = time.process_time() + 5.0
            while time.process_time() < end:
                pass
