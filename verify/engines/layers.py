"""The weight shapes of the bias-free fully connected networks (no PyTorch import)."""
from __future__ import annotations

__all__ = ["layer_shapes"]


def layer_shapes(in_dim: int, out_dim: int, depth: int, width: int) -> tuple[tuple[int, int], ...]:
    """``(fan_out, fan_in)`` of each of the ``depth`` weight matrices, first layer first (hidden width ``width``)."""
    dims = [in_dim] + [width] * (depth - 1) + [out_dim]
    return tuple((dims[i + 1], dims[i]) for i in range(depth))
