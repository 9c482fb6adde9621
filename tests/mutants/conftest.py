"""The mutation tests run their quick runs with one BLAS and one torch thread, as each worker of an ordinary quick
run does (``python -m verify all`` gives each of its two workers one of the two cores): with two threads per
process on two shared cores, Q3's training and dense Hessians took many times longer (the runner's notes)."""
from __future__ import annotations

import pytest

from verify.pools import single_threaded


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with single_threaded():
        yield
