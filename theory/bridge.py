"""The one bridge from SymPy expressions to numeric functions.

Every numeric evaluation of a derived expression goes through
:func:`numeric`, which lambdifies with an explicit, ordered argument tuple,
pinned ``modules`` and common-subexpression elimination, so that the numeric
backend never depends on what else happens to be installed.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence

import sympy as sp

__all__ = ["numeric", "BACKENDS"]

#: backend name -> the ``modules`` argument given to :func:`sympy.lambdify`
#: ("torch" is filled in on first use, so that torch stays optional).
BACKENDS = {
    "numpy": ["scipy", "numpy"],
    "mpmath": ["mpmath"],
    "torch": None,
}


def _torch_modules():
    import torch

    names = ["tanh", "sin", "cos", "tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "atanh",
             "exp", "log", "sqrt", "erf", "abs", "sign"]

    def lift(fn):  # constants such as sqrt(pi) reach torch functions as Python floats
        return lambda x: fn(x if torch.is_tensor(x) else torch.tensor(x, dtype=torch.float64))

    table = {name: lift(getattr(torch, name)) for name in names}
    table.update({"Abs": lift(torch.abs), "pi": 3.141592653589793, "E": 2.718281828459045})
    return [table]


def numeric(expr: sp.Basic, args: Sequence[sp.Symbol], backend: str = "numpy") -> Callable:
    """Return a numeric function of ``args`` evaluating ``expr``.

    Parameters
    ----------
    expr : sympy expression (or a tuple/Matrix of them)
    args : sequence of sympy.Symbol
        The positional arguments of the returned function, in order.
    backend : {"numpy", "mpmath", "torch"}
        ``"numpy"`` vectorises over arrays (SciPy supplies ``erf``);
        ``"mpmath"`` evaluates at the working precision of :mod:`mpmath`;
        ``"torch"`` maps onto torch tensors (needs PyTorch).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r} unknown; choose one of {sorted(BACKENDS)}")
    if isinstance(expr, sp.MatrixBase):
        expr = sp.ImmutableMatrix(expr)
    return _cached(expr, tuple(args), backend)


@lru_cache(maxsize=512)
def _cached(expr: sp.Basic, args: tuple, backend: str) -> Callable:
    modules = _torch_modules() if backend == "torch" else BACKENDS[backend]
    return sp.lambdify(args, expr, modules=modules, cse=True)
