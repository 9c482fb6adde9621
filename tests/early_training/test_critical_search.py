"""The search for a switching event in c: coarse grid, multi-section, run counts and the non-monotone fallback."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

from theory.errors import InputError
from verify.early_training._search import AUTHORS_GRID_STEP, Search, boundary


def threshold_events(t, calls=None):
    def events(cs):
        if calls is not None:
            calls.append(list(cs))
        return [c >= t for c in cs]
    return events


@settings(max_examples=40, deadline=None)
@given(t=st.floats(0.6, 250.0), per_pass=st.integers(1, 7))
def test_first_switch_is_found_to_the_resolution(t, per_pass):
    search = Search(resolution=0.01, per_pass=per_pass)
    b = boundary("c", threshold_events(t), search)
    lo, hi = b.interval
    assert lo < t <= hi and math.log2(hi / lo) <= search.resolution + 1e-12
    assert b.value == hi and b.monotone and not b.fallback
    # run count: the coarse grid plus per_pass values per refining pass
    assert b.runs == len(search.grid(search.coarse_step)) + per_pass * (b.passes - 1)


def test_last_without_returns_the_lower_end_and_multisection_uses_fewer_passes():
    calls1, calls7 = [], []
    b1 = boundary("c_max", threshold_events(37.0, calls1), Search(resolution=0.01, per_pass=1), last_without=True)
    b7 = boundary("c_max", threshold_events(37.0, calls7), Search(resolution=0.01, per_pass=7), last_without=True)
    assert b1.value < 37.0 <= b1.interval[1] and b7.value < 37.0
    assert b7.passes < b1.passes and b7.runs > b1.runs          # fewer calls, more values of c per call


def test_event_outside_the_bracket_is_flagged():
    below = boundary("c", threshold_events(0.1), Search())
    above = boundary("c", threshold_events(1e4), Search())
    assert below.below_bracket and below.value == 0.5 and below.interval == (None, 0.5)
    assert above.above_bracket and above.value is None and above.interval == (256.0, None)


def test_non_monotone_event_falls_back_to_the_authors_grid():
    # on at c in [1, 1.3), off until 8, on from 8: a coarse grid with step 0.5 in log2 sees it switch off again
    events = lambda cs: [1 <= c < 1.3 or c >= 8 for c in cs]          # noqa: E731
    b = boundary("c", events, Search(coarse_step=0.5))
    assert not b.monotone and b.fallback
    fine = Search().grid(AUTHORS_GRID_STEP)
    assert b.value == min(c for c in fine if 1 <= c < 1.3 or c >= 8) == 1.0
    assert len(b.flips) == 3 and b.runs == len(Search().grid(0.5)) + len(fine)


def test_a_non_monotone_event_inside_a_pass_is_reported():
    events = lambda cs: [c >= 3 or 2.15 < c < 2.25 for c in cs]       # noqa: E731
    b = boundary("c", events, Search(coarse_step=1.0, per_pass=15, resolution=0.001))
    assert not b.monotone


@pytest.mark.parametrize("kw", [{"bracket": (2, 1)}, {"coarse_step": 0}, {"resolution": -1}, {"per_pass": 0}])
def test_bad_search_is_an_input_error(kw):
    with pytest.raises(InputError):
        Search(**kw)
