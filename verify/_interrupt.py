"""Holding Ctrl-C back while something must be finished whole.

:class:`HeldInterrupt` replaces the SIGINT handler inside a block: a Ctrl-C
there is remembered (``caught``) instead of raised as ``KeyboardInterrupt``,
and the caller stops after the block as if interrupted.  The simulation uses it
for the losses of a finished trajectory and for the files it writes, so that a
Ctrl-C after the integration never loses the trajectory.  Outside the main
thread (where Python delivers no signal) it does nothing.
"""
from __future__ import annotations

import signal
import threading

__all__ = ["HeldInterrupt"]


class HeldInterrupt:
    """A context manager: SIGINT inside the block sets ``caught`` instead of raising."""

    def __init__(self):
        self.caught = False
        self._previous = None

    def __enter__(self) -> "HeldInterrupt":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._hold)
        return self

    def _hold(self, signum, frame) -> None:
        self.caught = True

    def __exit__(self, *exc) -> bool:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        return False
