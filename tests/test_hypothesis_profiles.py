"""The Hypothesis profiles of tests/conftest.py: the default repeats itself, and no profile times its examples."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def test_no_profile_times_its_examples():
    for name in ("derandomized", "ci", "random", "dev", "thorough"):
        profile = settings.get_profile(name)
        assert profile.deadline is None, name
        assert HealthCheck.too_slow in profile.suppress_health_check, name


def test_the_default_profile_draws_the_same_examples_on_every_run():
    assert settings.get_profile("derandomized").derandomize and settings.get_profile("ci").derandomize
    assert not settings.get_profile("random").derandomize and not settings.get_profile("thorough").derandomize
    if not os.environ.get("HYPOTHESIS_PROFILE"):        # plain `python -m pytest`, as the README says
        assert settings.default.derandomize and settings.default.database is None
