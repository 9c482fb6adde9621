"""How many threads a command uses: from the work it does and the cores that are free, or ``--threads N``.

PyTorch and OpenBLAS start one thread per core by default.  On a machine
where another process already keeps a core busy, those threads wait for each
other at every synchronisation: a depth-4, width-64 ``critical-lr`` search took
6 min 20 s with the defaults next to one busy process, against 22 s with one
thread.  So every command asks :func:`choose` before its heavy work:

* ``--threads N`` is taken as given (capped at the cores this process may run
  on, said once);
* small work (below ``parallel_from``, in the command's own unit) gets one
  thread: splitting it costs more than it gains;
* otherwise the cores that are idle now (measured over 0.1 s from
  ``/proc/stat``; the one-minute load average where that is unreadable),
  divided among ``workers``, at least one.  The command line opens that
  window when it starts (:func:`window_from_here`), so the first measurement
  covers the command's own start-up, this process's CPU time taken out,
  and waits only for what is left of the 0.1 s (none, after the imports of
  a heavy command).

:func:`limit` then applies the number to the BLAS and OpenMP pools
(``threadpoolctl``) and to PyTorch, and restores them afterwards.
"""
from __future__ import annotations

import math
import os
import sys
import time
from contextlib import contextmanager

__all__ = ["cores", "busy_cores", "window_from_here", "choose", "limit", "add_option", "THREADS_LIMIT",
           "KERNEL_PARALLEL_FROM"]

#: the most threads ``--threads`` accepts (a typo such as 1000 is refused, not obeyed)
THREADS_LIMIT = 256

#: n x m (points x width) from which the two-layer kernel shares its rows among idle cores; below it one kernel
#: thread (the recorded losses then take a second core).  The crossover that ``benchmarks/bench_flow_vs_jax.py
#: --threads-table`` measures: two kernel threads against one over a range of sizes (benchmarks/README.md,
#: "Issue 25, targets 2 and 7")
KERNEL_PARALLEL_FROM = 1e5


def cores() -> int:
    """The cores this process may run on (its CPU affinity; ``os.cpu_count()`` where that is unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _ticks_per_second() -> float:
    """The unit of ``/proc/stat``'s counts (USER_HZ, 100 on Linux)."""
    try:
        return float(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, ValueError, OSError):
        return 100.0


def _cpu_times() -> tuple[float, float] | None:
    """``(busy, total)`` jiffies of all CPUs from ``/proc/stat``, or None where it cannot be read."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    try:
        values = [float(v) for v in fields[1:]]
    except ValueError:
        return None
    if len(values) < 4:
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)      # idle + iowait
    total = sum(values[:8])                                            # guest time is counted in user already
    return total - idle, total


#: a window opened by :func:`window_from_here` and not yet used: (monotonic seconds, busy and total jiffies of all
#: CPUs, this process's CPU seconds) at its start
_opened: tuple | None = None

#: an opened window older than this is not used: it would average the load over too long a past
_OPEN_FOR_S = 10.0


def _sample() -> tuple | None:
    times = _cpu_times()
    return None if times is None else (time.monotonic(), times[0], times[1], time.process_time())


@contextmanager
def window_from_here():
    """:func:`busy_cores`'s next window starts here (the command line opens it around each command): the
    measurement then spans the command's start-up, with this process's own CPU time taken out, and sleeps only
    for what is left of its ``window``.  Used once, within 10 s, and inside the block only."""
    global _opened
    _opened = _sample()
    try:
        yield
    finally:
        _opened = None


def busy_cores(window: float = 0.1) -> float:
    """How many of the machine's cores other work keeps busy now: the busy share of all CPUs over at least
    ``window`` seconds (from :func:`window_from_here`'s start when that is recent), less this process's own CPU
    time, times their number; the one-minute load average where ``/proc/stat`` is unreadable; 0 if neither."""
    global _opened
    opened, _opened = _opened, None
    before = opened if opened is not None and time.monotonic() - opened[0] < _OPEN_FOR_S else _sample()
    if before is not None:
        left = window - (time.monotonic() - before[0])
        if left > 0:
            time.sleep(left)
        after = _sample()
        if after is not None and after[2] > before[2]:
            # /proc/stat counts in clock ticks (USER_HZ); this process's CPU time (all its threads) is not other work
            own = (after[3] - before[3]) * _ticks_per_second()
            share = (after[1] - before[1] - own) / (after[2] - before[2])
            return max(0.0, min(1.0, share)) * (os.cpu_count() or 1)
    try:
        return max(0.0, os.getloadavg()[0])
    except (AttributeError, OSError):
        return 0.0


def choose(requested: int | None = None, *, work: float | None = None, parallel_from: float | None = None,
           workers: int = 1, say=None) -> tuple[int, str]:
    """``(threads, why)`` for one of ``workers`` processes doing ``work`` (see the module's rules).

    ``say``: called with one line when an explicit ``requested`` is capped at the cores."""
    available = cores()
    if requested is not None:
        n = max(1, int(requested))
        if n > available:
            if say is not None:
                say(f"note: --threads {n} capped at {available} (the cores this process may use)")
            n = available
        return n, "--threads"
    share = max(1, available // max(1, workers))
    if share == 1:
        return 1, f"{available} core{'s' if available != 1 else ''} for {workers} worker{'s' if workers != 1 else ''}"
    if work is not None and parallel_from is not None and work < parallel_from:
        return 1, "small work: threads would cost more than they gain"
    free = available - busy_cores()
    n = max(1, min(share, int(math.floor(free + 0.25))))
    return n, f"{n} of {available} cores idle" if n < share else f"{n} cores"


@contextmanager
def limit(n: int):
    """BLAS, OpenMP and PyTorch limited to ``n`` threads inside the block (restored after); a PyTorch imported
    inside the block reads ``OMP_NUM_THREADS``."""
    from threadpoolctl import threadpool_limits

    saved_env = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(n)
    torch = sys.modules.get("torch")
    saved_torch = torch.get_num_threads() if torch is not None else None
    try:
        if torch is not None:
            torch.set_num_threads(n)
        with threadpool_limits(limits=n):
            yield n
    finally:
        if saved_env is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = saved_env
        torch = sys.modules.get("torch")
        if torch is not None:        # imported inside the block: PyTorch's own default, one thread per core
            torch.set_num_threads(saved_torch if saved_torch is not None else int(saved_env or cores()))


def parse(value) -> int | None:
    """``--threads`` as given on the command line: None (choose) or an int in 1..THREADS_LIMIT (else InputError)."""
    from theory.errors import InputError

    if value is None:
        return None
    try:
        n = int(str(value).strip())
    except ValueError:
        raise InputError("--threads", value, "is not a whole number", "use e.g. --threads 1") from None
    if not 1 <= n <= THREADS_LIMIT:
        raise InputError("--threads", value, f"must lie in 1..{THREADS_LIMIT}", "use e.g. --threads 1, or leave "
                         "it out to use the idle cores")
    return n


def add_option(parser, what: str = "the computation") -> None:
    """The ``--threads N`` option of a command."""
    parser.add_argument("--threads", default=None, metavar="N",
                        help=f"threads for {what} (default: the idle cores, one for small work; PyTorch and the "
                             "BLAS use this many)")
