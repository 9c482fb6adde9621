"""Event functions shared by the flow and descent drivers, and the progress bar."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Event", "Progress"]


@dataclass(frozen=True)
class Event:
    """A scalar function of ``(t, theta)`` whose crossing of zero (in ``direction``) is recorded."""

    name: str
    fn: Callable[[float, np.ndarray], float]
    direction: int = 0        # +1 upward crossings, -1 downward, 0 both
    costly: bool = False      # needs a pass over the data (the loss)


class Progress:
    """A one-line progress bar on standard error, shown only when it is a terminal (or forced)."""

    def __init__(self, total: float, label: str = "simulating", enabled: bool | None = None):
        self.total, self.label = float(total), label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._last = 0.0
        self.t = 0.0            # the time reached, also where no bar is drawn (a heartbeat line reads it)

    def update(self, t: float) -> None:
        self.t = float(t)
        if not self.enabled or time.monotonic() - self._last < 0.2:
            return
        self._last = time.monotonic()
        frac = min(1.0, t / self.total) if self.total else 1.0
        bar = "#" * int(30 * frac)
        sys.stderr.write(f"\r{self.label} [{bar:<30}] t = {t:.4g} / {self.total:g}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
