"""D1: the derived field equals minus the gradient of the risk (central differences)."""
from __future__ import annotations

import numpy as np

from ..engine import NumpyKernel, pack
from ..field import vector_field
from ..initialisation import initial_parameters
from ...registry import Tolerance, Verdict, key_number, resolution
from ...stats import ratio_margin
from ..context import claim

TOL = Tolerance("central-difference", 1e-6,
                "central differences with step h = 1e-5 |theta| have truncation error O(h^2 |R'''|) and "
                "round-off O(eps |R| / h): about 1e-8 relative here; 1e-6 leaves room for both")
#: the calibrated control scales the derived field by 1 + CALIBRATED x the tolerance
CALIBRATED = 1.5


def _check(ctx, sign: float = 1.0) -> Verdict:
    config = ctx.config(model={"width": 20, "alpha": 0.6})
    data, act = config.dataset, config.activation
    seed = ctx.seed_of("init")
    a, W = initial_parameters(20, data.dim, 0.6, seed)
    a, W = 5 * a, 5 * W                   # away from the origin, so every term of the field matters
    da, dW = vector_field(a, W, act, data.X, data.p, data.y)
    predicted = sign * pack(da, dW)
    kernel = NumpyKernel(act, data.X, data.p, data.y, 20)
    theta = pack(a, W)
    h = 1e-5 * np.linalg.norm(theta)
    eye = np.eye(theta.size)
    measured = np.array([-(kernel.loss(theta + h * e) - kernel.loss(theta - h * e)) / (2 * h) for e in eye])
    err = float(np.linalg.norm(predicted - measured) / np.linalg.norm(measured))
    return Verdict("passed" if err <= TOL.value else "failed",
                   predicted={"field_norm": float(np.linalg.norm(predicted))},
                   measured={"minus_fd_gradient_norm": float(np.linalg.norm(measured)), "relative_error": err},
                   tolerance=TOL, seeds=[seed], details={"width": 20, "points": data.size, "h": h},
                   range={"seeds": [seed], "m": 20, "alpha": 0.6, "samples": data.size},
                   resolution=resolution(f"the field off by >= {CALIBRATED * TOL.value:.2g} (relative)",
                                         CALIBRATED * TOL.value, "relative"),
                   # margin: the relative error over the central-difference tolerance
                   key=key_number("relative error of the field against -grad R", err, 0.0, ratio_margin(err, TOL.value),
                                  None if err <= TOL.value else
                                  f"the derived field differs from minus the finite-difference gradient by "
                                  f"{err:.3g} (relative), above {TOL.value:g}"))


claim("D1-gradient-flow", "Gradient flow equals -grad R", "D1", _check, lambda ctx: _check(ctx, -1.0),
               "the field with its sign flipped", group="exact",
      calibrated=(lambda ctx: _check(ctx, 1 + CALIBRATED * TOL.value),
                  f"the derived field times 1 + {CALIBRATED * TOL.value:.2g} ({CALIBRATED:g} x the tolerance)"))
