"""Memory and time estimated from a configuration before the work starts.

A run whose estimate exceeds the limit is refused with one line (an
:class:`theory.errors.InputError`: the command line exits with status 2)
naming the field to lower, the estimate, the limit and how to raise it:

* memory: ``VERIFY_MEMORY_GB`` (default: 80 % of the machine's physical
  memory, from ``os.sysconf``; 8 GiB where that is unknown);
* time: ``VERIFY_TIME_LIMIT_H`` (default 2 hours), for work whose cost is
  known in advance (gradient-descent steps, recordings); estimates assume
  :data:`FLOPS` floating-point operations per second.
"""
from __future__ import annotations

import math
import os

from theory.errors import InputError

__all__ = ["memory_limit_bytes", "time_limit_seconds", "check_memory", "check_time", "describe_bytes",
           "describe_seconds", "FLOPS"]

#: Floating-point operations per second assumed by the time estimates (one core, NumPy, float64; a reference
#: field evaluation of the two-layer kernel runs at 1-3 GFLOP/s on the development machine).
FLOPS = 1e9
_MEMORY_FRACTION = 0.8
_FALLBACK_BYTES = 8 * 2**30
_DEFAULT_HOURS = 2.0


def _env_number(name: str) -> float | None:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InputError(name, raw, "must be a positive number", f"set e.g. {name}=16 or unset it")
    return value


def physical_memory_bytes() -> int | None:
    """The machine's physical memory (``os.sysconf``), or None where it is not reported."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * size if pages > 0 and size > 0 else None


def memory_limit_bytes() -> tuple[float, str]:
    """``(limit in bytes, where it comes from)``."""
    gb = _env_number("VERIFY_MEMORY_GB")
    if gb is not None:
        return gb * 2**30, "VERIFY_MEMORY_GB"
    phys = physical_memory_bytes()
    if phys is None:
        return float(_FALLBACK_BYTES), "default; the physical memory is not reported"
    return _MEMORY_FRACTION * phys, f"{_MEMORY_FRACTION:.0%} of the physical memory"


def time_limit_seconds() -> tuple[float, str]:
    """``(limit in seconds, where it comes from)``."""
    hours = _env_number("VERIFY_TIME_LIMIT_H")
    if hours is not None:
        return hours * 3600, "VERIFY_TIME_LIMIT_H"
    return _DEFAULT_HOURS * 3600, "default"


def describe_bytes(n: float) -> str:
    if not math.isfinite(n):
        return "unbounded memory"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n / 1024:.3g} KiB"


def describe_seconds(s: float) -> str:
    if not math.isfinite(s) or s > 3.15e9:
        return "over a century"
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"about {s / size:.3g} {unit}"
    return f"about {s:.3g} s"


def check_memory(need_bytes: float, field: str, value: object, what: str, fix: str) -> None:
    """Raise :class:`InputError` when ``need_bytes`` exceeds the memory limit.

    ``what`` says what needs the memory (``"the n x m activation matrix"``), ``fix`` how to need less.
    """
    limit, source = memory_limit_bytes()
    if not need_bytes <= limit:
        raise InputError(field, value, f"{what}: about {describe_bytes(need_bytes)}, more than the memory "
                         f"limit {describe_bytes(limit)} ({source})",
                         f"{fix}, or raise the limit with VERIFY_MEMORY_GB=<GiB>")


def check_time(flops: float, field: str, value: object, what: str, fix: str) -> float:
    """Raise :class:`InputError` when ``flops`` at :data:`FLOPS` exceed the time limit; return the seconds."""
    seconds = flops / FLOPS
    limit, source = time_limit_seconds()
    if not seconds <= limit:
        raise InputError(field, value, f"{what}: {describe_seconds(seconds)}, more than the time "
                         f"limit {describe_seconds(limit)} ({source})",
                         f"{fix}, or raise the limit with VERIFY_TIME_LIMIT_H=<hours>")
    return seconds
