"""Hypothesis strategies for the property tests along simulated trajectories.

Activations
    The built-ins (tanh, sin, erf) and tanh-like compositions: odd saturating
    functions (``s / sqrt(1 + s^2)``, ``atan``) and perturbations of tanh by a
    small cubic (``tanh(s) + c sin(s)^3``), each checked with
    ``activation_from_spec(spec).require_tanh_like()``, drawn from a fixed
    pool (:data:`ACTIVATIONS`) whose certified ``C_L = sup |sigma'''|`` the
    supremum cache keeps after the first computation.

Targets
    A random linear combination of the ``x_i`` (coefficients in tenths, norm at
    least 0.3, so that ``|z|`` stays away from zero and the time scales
    ``1/|z|`` stay short) plus a small nonlinear term from a few templates,
    written as a string that the whitelist parser accepts.

Configurations
    Widths 20..400 (log-uniform), ``alpha`` in (0.6, 2], input dimensions 1..4,
    ``n`` = 50..200 Gaussian samples, gradient flow or gradient descent with
    ``eta |z|`` in [0.02, 0.2] (well below 1), and a short horizon: a drawn
    fraction of the predicted ``t_half``, capped so that each example simulates
    in well under a second.
"""
from __future__ import annotations

import dataclasses
import math

from hypothesis import strategies as st

from verify.multistage.config import Config, config_from_dict

__all__ = ["ACTIVATIONS", "activations", "targets", "trajectory_configs",
           "expected_K0", "t_half_estimate"]

#: The activation pool: built-ins and tanh-like compositions.  Their certified suprema take under a
#: second each (exact from SymPy, or a certified bracket narrower than 1e-6 relative) and are cached.
ACTIVATIONS = ("tanh", "sin", "erf", "atan(s)", "s/sqrt(1 + s**2)", "tanh(s) + 0.05*sin(s)**3",
               "tanh(s) + 0.1*sin(s)**3", "tanh(s) - 0.1*sin(s)**3", "tanh(s) - 0.2*sin(s)**3",
               "(tanh(s) + sin(s))/2")


@st.composite
def activations(draw) -> str:
    """A tanh-like activation spec (a built-in name or an expression in ``s``)."""
    return draw(st.sampled_from(ACTIVATIONS))


def _tenths(draw, lo: int, hi: int) -> float:
    return draw(st.integers(lo, hi)) / 10


@st.composite
def targets(draw, dim: int, nonlinear_max: float = 0.2) -> str:
    """``c . x + b g(x)``: a linear part of norm >= 0.3 and a small nonlinear term ``|b| <= nonlinear_max``."""
    coef = [_tenths(draw, -12, 12) for _ in range(dim)]
    if math.hypot(*coef) < 0.3:           # keep |z| away from 0 (no growing mode otherwise)
        coef[0] = 0.5 if coef[0] >= 0 else -0.5
    terms = [f"{c:.1f}*x{i}" for i, c in enumerate(coef)]
    b = draw(st.integers(-round(10 * nonlinear_max), round(10 * nonlinear_max))) / 10
    i, j = draw(st.integers(0, dim - 1)), draw(st.integers(0, dim - 1))
    k = _tenths(draw, 5, 25)
    template = draw(st.sampled_from(["tanh({k}*x{i})", "x{i}**2", "sin(x{i})*x{j}", "x{i}**3 / (1 + x{j}**2)",
                                     "exp(-x{i}**2)"]))
    if b != 0:
        terms.append(f"({b:.1f})*" + template.format(k=k, i=i, j=j))
    return " + ".join(terms)


def expected_K0(width: int, alpha: float, z_norm: float) -> float:
    """``E K0 = m^(1 - 2 alpha) / (2 |z|)`` (D8)."""
    return width ** (1 - 2 * alpha) / (2 * z_norm)


def t_half_estimate(width: int, alpha: float, z_norm: float) -> float:
    """``log(1/K0 - 1) / (2 |z|)`` at the expected ``K0``; ``1/|z|`` when there is no plateau (``K0 >= 1/3``)."""
    k0 = expected_K0(width, alpha, z_norm)
    return math.log(1 / k0 - 1) / (2 * z_norm) if k0 < 1 / 3 else 1 / z_norm


#: Horizon cap in units of 1/|z| (with |z| >= 0.3 after whitening this bounds t_max and the GD step count).
HORIZON_CAP = 12.0


@st.composite
def trajectory_configs(draw, methods=("flow", "gd"), whiten=None, horizon=(0.3, 1.5),
                       width=(20, 400), alpha=(0.6, 2.0), activation=None) -> Config:
    """A small configuration and a short horizon ``t_max`` (a drawn multiple of the estimated ``t_half``).

    ``whiten``: None draws it; ``horizon``: the range of ``t_max / t_half``.
    """
    m = int(round(math.exp(draw(st.floats(math.log(width[0]), math.log(width[1]))))))
    a = draw(st.floats(alpha[0], alpha[1], exclude_min=True))
    dim = draw(st.integers(1, 4))
    raw = {
        "model": {"activation": activation or draw(activations()), "width": m, "alpha": a},
        "data": {"dim": dim, "samples": draw(st.integers(50, 200)), "seed": draw(st.integers(0, 10**6)),
                 "whiten": draw(st.booleans()) if whiten is None else whiten},
        "target": {"expr": draw(targets(dim))},
        "train": {"method": draw(st.sampled_from(methods)), "lr": 0.01, "t_max": 1.0,
                  "seed": draw(st.integers(0, 10**6))},
    }
    config = config_from_dict(raw)
    zn = config.dataset.z_norm
    frac = draw(st.floats(*horizon))
    t_max = min(frac * t_half_estimate(m, a, zn), HORIZON_CAP / zn)
    lr = draw(st.floats(0.02, 0.2)) / zn if raw["train"]["method"] == "gd" else 0.01
    # t_max at least a few steps of gradient descent
    train = dataclasses.replace(config.train, t_max=max(t_max, 5 * lr), lr=lr)
    return dataclasses.replace(config, train=train)
