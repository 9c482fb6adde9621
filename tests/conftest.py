"""Shared test configuration: Hypothesis settings profiles.

Choose a profile with the environment variable ``HYPOTHESIS_PROFILE``:

``dev`` (default)
    25 examples per property, Hypothesis' default deadline; random.
``ci``
    25 examples, derandomised (the same examples on every run, so a red CI
    run is reproducible), no deadline (shared runners have noisy clocks).
``thorough``
    250 examples, no deadline: for a run before a release.

Tests that call SymPy or integrate ODEs inside a property set
``deadline=None`` themselves, whatever the profile.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

try:  # the package is normally installed (``pip install -e .``); fall back to the checkout
    import theory  # noqa: F401
except ImportError:  # pragma: no cover - only without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The content-addressed cache stays off in the tests (its own tests switch it on in a temporary folder): a test
# that patches code in-process would otherwise read results cached under the unpatched code's address.
os.environ["VERIFY_NO_CACHE"] = "1"

settings.register_profile("dev", max_examples=25)
settings.register_profile("ci", max_examples=25, derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=250, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
