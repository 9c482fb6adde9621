"""Shared test configuration: Hypothesis settings profiles.

Choose a profile with the environment variable ``HYPOTHESIS_PROFILE``:

``derandomized`` (the default; ``ci`` is the same profile)
    25 examples per property, derandomised: the same examples on every run and every machine, so a plain
    ``python -m pytest`` gives the same result each time and a red run is reproducible.
``random`` (``dev`` is its former name)
    25 examples, drawn afresh on each run (``--hypothesis-seed N`` repeats a run): to look for new failures.
``thorough``
    250 examples, random: for a run before a release.

No profile has a deadline or the "too slow" health check: both time the examples on the wall clock, and a slow
or loaded machine would fail them.  Tests that need more or fewer examples set ``max_examples`` themselves.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

try:  # the package is normally installed (``pip install -e .``); fall back to the checkout
    import theory  # noqa: F401
except ImportError:  # pragma: no cover - only without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The content-addressed cache stays off in the tests (its own tests switch it on in a temporary folder): a test
# that patches code in-process would otherwise read results cached under the unpatched code's address.
os.environ["VERIFY_NO_CACHE"] = "1"

#: what every profile shares: no wall-clock limits on an example (see the docstring), and a failing example is
#: printed with the blob that reproduces it
_COMMON = dict(deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow])
PROFILES = {
    "derandomized": dict(max_examples=25, derandomize=True, **_COMMON),
    "ci": dict(max_examples=25, derandomize=True, **_COMMON),
    "random": dict(max_examples=25, derandomize=False, **_COMMON),
    "dev": dict(max_examples=25, derandomize=False, **_COMMON),
    "thorough": dict(max_examples=250, derandomize=False, **_COMMON),
}
# every setting a profile relies on is given explicitly: Hypothesis detects CI machines (CI=true) and then makes
# its own derandomised "ci" profile the default, which a profile registered here would otherwise inherit
for _name, _values in PROFILES.items():
    settings.register_profile(_name, **_values)
_profile = os.environ.get("HYPOTHESIS_PROFILE") or "derandomized"
if _profile not in PROFILES:
    raise pytest.UsageError(f"HYPOTHESIS_PROFILE = {_profile!r}: no such profile; fix: use one of "
                            f"{', '.join(PROFILES)} (or leave it unset for derandomized)")
settings.load_profile(_profile)
