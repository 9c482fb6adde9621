"""The parameter shapes of the fully connected networks (no PyTorch import)."""
from __future__ import annotations

__all__ = ["layer_shapes", "parameter_shapes", "parameter_count"]


def layer_shapes(in_dim: int, out_dim: int, depth: int, width: int) -> tuple[tuple[int, int], ...]:
    """``(fan_out, fan_in)`` of each of the ``depth`` weight matrices, first layer first (hidden width ``width``)."""
    dims = [in_dim] + [width] * (depth - 1) + [out_dim]
    return tuple((dims[i + 1], dims[i]) for i in range(depth))


def parameter_shapes(in_dim: int, out_dim: int, depth: int, width: int, bias: bool = False) -> tuple[tuple[int, ...], ...]:
    """The shapes of the parameter tuple: the weight matrices of :func:`layer_shapes`, each followed by its bias
    vector ``(fan_out,)`` when ``bias``."""
    out = []
    for shape in layer_shapes(in_dim, out_dim, depth, width):
        out.append(shape)
        if bias:
            out.append((shape[0],))
    return tuple(out)


def parameter_count(in_dim: int, out_dim: int, depth: int, width: int, bias: bool = False) -> int:
    """The number of parameters of :func:`parameter_shapes`."""
    total = 0
    for shape in parameter_shapes(in_dim, out_dim, depth, width, bias):
        size = 1
        for d in shape:
            size *= d
        total += size
    return total
