"""One seed scheme for every paper: each purpose draws from its own child of the root seed.

A paper's context derives from :class:`SeededContext` and names its purposes in ``STREAMS`` (purpose -> spawn
key).  Every random draw of a purpose comes from ``SeedSequence(root, spawn_key=STREAMS[purpose] + index)``:
streams of different purposes, and of different indices of one purpose, are independent (NumPy's
``SeedSequence`` spawning), and a new purpose added later changes no other purpose's numbers.  The root seed is
the ``--seed`` of ``python -m verify all`` (0 by default) and is recorded in every report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

__all__ = ["SeededContext"]


@dataclass
class SeededContext:
    """The head every paper's claim context shares: profile, root seed, backend, device, notes, seed streams."""

    profile: Any
    seed: int = 0
    backend: str = "auto"
    device: str = "cpu"
    notes: list = field(default_factory=list)

    #: purpose -> spawn key (a tuple of non-negative integers), set by each paper's context
    STREAMS: ClassVar[dict[str, tuple]] = {}
    #: profile name -> profile, set by each paper's context
    PROFILES: ClassVar[dict] = {}

    @classmethod
    def make(cls, profile: str = "default", **kw):
        """The context of the profile named ``profile``."""
        return cls(cls.PROFILES[profile], **kw)

    def stream(self, purpose: str, *index: int) -> np.random.SeedSequence:
        """The seed sequence of ``purpose`` (child ``index`` of it, if given)."""
        if purpose not in self.STREAMS:
            raise KeyError(f"no seed stream {purpose!r}; the streams are {', '.join(self.STREAMS)}")
        return np.random.SeedSequence(self.seed, spawn_key=(*self.STREAMS[purpose], *map(int, index)))

    def seed_of(self, purpose: str, *index: int) -> int:
        """An integer seed drawn from the stream of ``purpose`` (for code that takes an integer seed)."""
        return int(self.stream(purpose, *index).generate_state(1)[0])

    def seeds(self, purpose: str, count: int) -> list[int]:
        """``count`` independent integer seeds of ``purpose``: children 0, 1, ... of its stream."""
        return [self.seed_of(purpose, i) for i in range(count)]
