"""The D1 field and risk of the two-layer network, and D3's bound on its nonlinear part, in numbers.

The derivations are :mod:`theory.multistage.gradient_flow` (D1) and
:mod:`theory.multistage.higher_order` (D3); the activation and the derived
constants reach NumPy through the lambdify bridge (:func:`theory.bridge.numeric`).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from theory.bridge import numeric
from theory.multistage import higher_order
from theory.multistage.activation import S, Activation
from theory.multistage.symbols import C_0, C_1, C_L, M_fx3, M_x2, Q, m

__all__ = ["risk", "vector_field", "constant_C1", "remainder_bound"]


def risk(a: np.ndarray, W: np.ndarray, activation: Activation, X: np.ndarray, weights: np.ndarray,
         y: np.ndarray) -> float:
    """Numeric risk ``1/2 sum_i p_i (f(x_i) - y_i)^2`` (weights sum to one)."""
    sig = numeric(activation.expr, (S,))
    e = sig(X @ W.T) @ a - y
    return 0.5 * float(weights @ e**2)


def vector_field(a: np.ndarray, W: np.ndarray, activation: Activation, X: np.ndarray, weights: np.ndarray,
                 y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numeric D1 field ``(da/dt, dW/dt)``; ``W`` has one row per neuron."""
    sig = numeric(activation.expr, (S,))
    dsig = numeric(activation.derivative(1), (S,))
    pre = X @ W.T                       # (n, m)
    e = sig(pre) @ a - y                # (n,)
    pe = weights * e
    da = -(pe @ sig(pre))
    dW = -a[:, None] * ((dsig(pre) * pe[:, None]).T @ X)
    return da, dW


@lru_cache(maxsize=1)
def _constant_C1():
    return numeric(higher_order.C_1_closed, (C_L, C_0, M_fx3, M_x2))


def constant_C1(C_L_value: float, C0_value: float, moments: dict) -> float:
    """Numeric ``C_1`` of D3 from the activation constants and the data moments (the derived ``C_1`` through the
    bridge)."""
    return float(_constant_C1()(C_L_value, C0_value, moments["E_abs_f_x3"], moments["E_x2"]))


@lru_cache(maxsize=1)
def _bound_factor():
    return numeric(higher_order.bound_factor, (C_1, m, Q))


def remainder_bound(C1: float, width: int, q: np.ndarray) -> np.ndarray:
    """D3's bound on ``|N_k|`` for every neuron, ``bound_factor |q_k|`` with ``Q = q_max``, given the ``(m, d+1)``
    array of ``q_k``."""
    norms = np.linalg.norm(q, axis=1)
    return _bound_factor()(C1, width, norms.max()) * norms
