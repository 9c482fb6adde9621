"""Signs of life of the long tools on standard error: an estimate first, a line per phase, and a heartbeat.

A tool that can take more than a few seconds (``early-training uv`` and
``critical-lr``, ``noisy-quadratic spectrum``, ``multistage simulate``, ``all``
and ``run``) says what it is about to do and how long that should take (from
the project's own resource estimates, :mod:`verify.resources`), prints a line
as each phase of the work begins, and, while a phase runs for
:data:`HEARTBEAT_S` seconds without a line, a heartbeat from a background thread
(``"  ... still training (12 s; step 400 of 800)"``).  The heartbeat keeps the
promise of issue 23, a sign of life at least every 10 s, whatever a single
library call costs (a dense Hessian by ``torch.func``, one step of an ODE
solver): the calls that take long (PyTorch, NumPy, the compiled kernel, SciPy's
LAPACK) release the GIL or are interrupted by Python's switch interval.

Everything goes to standard error, so standard output keeps the result (or the
JSON alone, with ``--json``); ``quiet`` (the tools' ``--quiet``) turns every line
off.  The stream is looked up at each line, so that a test capturing
``sys.stderr`` sees the lines.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Callable

__all__ = ["HEARTBEAT_S", "Signs"]

#: seconds without a line after which the heartbeat speaks (half the 10 s promise: a loaded machine may delay it)
HEARTBEAT_S = 5.0


class Signs:
    """The progress lines of one command on standard error (a context manager: the heartbeat runs inside).

    Parameters
    ----------
    tool : str
        The command's name, the first word of its estimate line (``"uv"``, ``"spectrum"``).
    quiet : bool
        No line at all (``--quiet``).
    every : float
        Seconds of silence after which the heartbeat speaks.
    clock : callable
        The monotonic clock (a test passes a fake one).
    """

    def __init__(self, tool: str, *, quiet: bool = False, every: float = HEARTBEAT_S,
                 clock: Callable[[], float] = time.monotonic):
        if not every > 0:
            raise ValueError(f"every = {every!r}: the heartbeat's period must be positive")
        self.tool, self.quiet, self.every, self.clock = tool, bool(quiet), float(every), clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last = self._since = clock()
        self._phase, self._detail, self._beat = "working", None, True

    # -- lines ---------------------------------------------------------------------------------------------------
    def say(self, line: str) -> None:
        """Print ``line`` on standard error now (nothing when quiet)."""
        if self.quiet:
            return
        with self._lock:
            print(line, file=sys.stderr, flush=True)
            self._last = self.clock()

    def estimate(self, seconds: float, what: str, follows: str = "a line per phase follows") -> None:
        """The line before the heavy work: ``"<tool>: <what>: estimated about N s on one core; <follows> (--quiet:
        none)"``; ``seconds`` come from the project's resource estimates."""
        from .resources import describe_seconds

        self.say(f"{self.tool}: {what}: estimated {describe_seconds(seconds)} on one core; {follows} "
                 "(--quiet: none)")

    def phase(self, name: str, detail: Callable[[], str] | None = None, *, line: str | None = None,
              beat: bool = True) -> None:
        """A phase begins: print ``"  <name>"`` (or ``line``; ``""``: no line); the heartbeat names it and adds
        ``detail()`` (for example the step reached), until the next phase; ``beat=False``: no heartbeat in this
        phase (a progress bar on a terminal speaks instead)."""
        with self._lock:
            self._phase, self._detail, self._since, self._beat = name, detail, self.clock(), bool(beat)
        text = f"  {name}" if line is None else line
        if text:
            self.say(text)

    def heard(self) -> None:
        """A line went out by another way (a progress bar's write): the heartbeat waits a full period again."""
        with self._lock:
            self._last = self.clock()

    # -- heartbeat -----------------------------------------------------------------------------------------------
    def beat(self) -> str | None:
        """The heartbeat's line when the last line is :attr:`every` seconds old (and print it), else None."""
        if self.quiet or not self._beat:
            return None
        now = self.clock()
        if now - self._last < self.every:
            return None
        detail = ""
        if self._detail is not None:
            try:
                detail = f"; {self._detail()}"
            except Exception:  # noqa: BLE001 - a detail read while the work changes it is left out, not fatal
                detail = ""
        line = f"  ... still {self._phase} ({now - self._since:.0f} s{detail})"
        self.say(line)
        return line

    def _run(self) -> None:
        while not self._stop.wait(min(1.0, self.every / 4)):
            try:
                self.beat()
            except (OSError, ValueError):   # standard error closed or its reader gone: the work goes on unheard
                return

    def __enter__(self) -> "Signs":
        self._last = self._since = self.clock()
        if not self.quiet:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"signs-of-life-{self.tool}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> bool:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        return False
