"""Memory and time of the early-training tools, estimated before any allocation (limits: :mod:`verify.resources`).

The constants are measured on the development machine (one thread, AMD EPYC, 2026-12-05) with a safety factor
of about two, so that a refusal errs on the side of what fits:

* ``uv``: 3 constants x (91 scan points + at most 80 bisection steps) runs of ``steps`` steps, each step a few
  passes over ``u, v`` with long-double dot products: 17 s of CPU for width 200,000 and 10 steps, about
  2e-8 s per unit and step; memory: ``u, v``, the gradients and the long-double products, about 256 bytes per
  unit.
* ``critical-lr``: about 2e-4 s per parameter at 10 steps (a depth-4, width-256 search, 2.0e5 parameters:
  33 s on one thread, benchmarks/bench_critical_lr.py) plus 5 s of set-up; memory: float32 parameters,
  gradients and batched copies (about 40 bytes per parameter), float64 Lanczos bases (about 25 vectors, 200
  bytes per parameter) and the activations of the measurement batch and the data (4 bytes x samples x width x
  depth, four times).
"""
from __future__ import annotations


from ..engines.layers import layer_shapes
from ..resources import FLOPS, check_memory, check_time

__all__ = ["uv_cost", "check_uv", "critical_cost", "check_critical"]

UV_SECONDS_PER_UNIT_STEP = 2e-8
UV_BYTES_PER_UNIT = 256
UV_RUNS = 3 * (91 + 80)
CRITICAL_SECONDS_PER_PARAMETER = 2e-4
CRITICAL_SETUP_SECONDS = 5.0
CRITICAL_BYTES_PER_PARAMETER = 240


def uv_cost(width: int, steps: int) -> tuple[float, float]:
    """(bytes, seconds) of one ``uv`` summary (three constants) at ``width`` and ``steps``."""
    return float(width) * UV_BYTES_PER_UNIT, UV_RUNS * float(steps) * float(width) * UV_SECONDS_PER_UNIT_STEP


def check_uv(width: int, steps: int) -> float:
    """Refuse (one-line :class:`~theory.errors.InputError`) a ``uv`` summary that cannot fit; return its seconds."""
    need, seconds = uv_cost(width, steps)
    check_memory(need, "width", width, f"the uv model of width {width}", "use a smaller width")
    field, value, fix = (("width", width, "use a smaller width (or fewer steps)") if width >= steps else
                         ("steps", steps, "use fewer steps (or a smaller width)"))
    return check_time(seconds * FLOPS, field, value, f"{UV_RUNS} runs of {steps} steps at width {width}", fix)


def _parameters(depth: int, width: int, in_dim: int = 64, out_dim: int = 10) -> float:
    # in floats: depth and width may be far beyond what any machine holds
    if depth == 1:
        return float(in_dim) * out_dim
    return float(in_dim) * width + float(depth - 2) * float(width) ** 2 + float(width) * out_dim


def critical_cost(depth: int, width: int, steps: int = 10, samples: int = 2048) -> tuple[float, float]:
    """(bytes, seconds) of one ``critical-lr`` search (three constants)."""
    p = _parameters(depth, width)
    act = 4.0 * 4 * samples * float(width) * depth
    return p * CRITICAL_BYTES_PER_PARAMETER + act, CRITICAL_SETUP_SECONDS + p * CRITICAL_SECONDS_PER_PARAMETER * (
        max(steps, 1) / 10)


def check_critical(depth: int, width: int, steps: int = 10, samples: int = 2048) -> float:
    """Refuse a ``critical-lr`` search that cannot fit (memory or time); return its estimated seconds."""
    need, seconds = critical_cost(depth, width, steps, samples)
    field, value = ("width", width) if width >= depth else ("depth", depth)
    check_memory(need, field, value, f"a depth-{depth}, width-{width} network ({_parameters(depth, width):.3g} "
                 "parameters) with its Lanczos vectors", f"use a smaller {field}")
    return check_time(seconds * FLOPS, field, value, f"the three constants of a depth-{depth}, width-{width} "
                      "network", f"use a smaller {field} (or fewer steps)")


