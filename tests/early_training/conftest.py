"""Fixtures shared by the early-training test modules."""
from __future__ import annotations

import pytest

import theory.early_training as paper_theory


@pytest.fixture(scope="session")
def uv_derivation():
    """E1 is derived once per test session (about two seconds)."""
    return paper_theory.derive("E1")
