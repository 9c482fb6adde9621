"""Data moments of a target on standard Gaussian inputs.

The data set is a finite weighted point set ``(x_i, p_i)`` with targets
``y_i = f*(x_i)``: either the tensor Gauss-Hermite rule for the standard
Gaussian in ``R^d`` (deterministic; ``q`` nodes per dimension integrate
polynomials of degree ``<= 2q - 1`` in each coordinate exactly) or a finite
seeded sample with equal weights.  The same object feeds the predictions
(through its moments) and the simulator (through its points), so both see
the same risk.

Whitening replaces ``x`` by ``Sigma^(-1/2) x`` with ``Sigma = E[x x^T]`` (no
centring), so that the whitened inputs satisfy ``E[x x^T] = I`` exactly on
the point set; the target is then evaluated at the whitened points.

Accuracy of the quadrature is estimated a posteriori: the moments are
recomputed with ``2q`` nodes per dimension and the change of each moment is
reported in ``quadrature_error``.  Polynomial targets are integrated exactly;
entire targets converge fast; a target with complex singularities near the
real axis converges slowly (``tanh(2 x0)`` has poles at ``+-i pi/4``: its
``z`` is off by about 1e-2 at 12 nodes).  The moments of ``|f*|``, used only
by the bounds of D3 and D6, converge slowly because ``|.|`` is not smooth.
Predictions and simulations use the same nodes, so they describe the same
(quadrature) risk whatever this error is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sympy as sp
from numpy.polynomial.hermite_e import hermegauss

from theory.bridge import numeric
from theory.errors import InputError
from theory.multistage.symbols import input_symbols

__all__ = ["DataSet", "make_data", "MAX_QUADRATURE_NODES"]

MAX_QUADRATURE_NODES = 2_000_000


def _gauss_hermite(dim: int, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    x1, w1 = hermegauss(nodes)
    w1 = w1 / np.sqrt(2 * np.pi)
    X = np.stack([g.ravel() for g in np.meshgrid(*([x1] * dim), indexing="ij")], axis=1)
    W = np.prod(np.stack([g.ravel() for g in np.meshgrid(*([w1] * dim), indexing="ij")], axis=1), axis=1)
    return X, W


def _inverse_sqrt(Sigma: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(Sigma)
    return (vecs / np.sqrt(vals)) @ vecs.T


@dataclass(frozen=True)
class DataSet:
    """Weighted inputs ``X`` (n, d), weights ``p`` (n,, sum 1) and targets ``y`` (n,)."""

    X: np.ndarray
    p: np.ndarray
    y: np.ndarray
    target: sp.Expr
    kind: str                      # "quadrature" or "sample"
    whitened: bool
    seed: int | None = None
    quadrature_error: dict | None = None
    info: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return self.X.shape[1]

    @property
    def size(self) -> int:
        return self.X.shape[0]

    @cached_property
    def moments(self) -> dict:
        """``z``, ``Sigma``, ``E[f*^2]``, the moments the bounds use, and ``E[s^4]``, ``E[f* s^3]``
        with ``s = zhat . x`` (the O(1/m) plateau shift of D10; 0 when ``z = 0``)."""
        return _moments(self.X, self.p, self.y)

    @property
    def z(self) -> np.ndarray:
        return self.moments["z"]

    @property
    def z_norm(self) -> float:
        return float(np.linalg.norm(self.moments["z"]))

    @property
    def z_is_zero(self) -> bool:
        """``|z|`` is zero up to round-off (and the quadrature error, if any)."""
        scale = np.sqrt(self.moments["E_f2"]) + 1.0
        floor = 1e3 * np.finfo(float).eps * scale * np.sqrt(self.size) + (self.quadrature_error or {}).get("z", 0.0)
        return self.z_norm <= floor

    def as_dict(self) -> dict:
        mo = self.moments
        return {
            "kind": self.kind, "points": self.size, "dim": self.dim, "whitened": self.whitened,
            "seed": self.seed, "target": str(self.target), "quadrature_error": self.quadrature_error,
            "z": mo["z"].tolist(), "Sigma": mo["Sigma"].tolist(), "E_f2": mo["E_f2"],
            "E_x2": mo["E_x2"], "E_abs_f_x": mo["E_abs_f_x"], "E_abs_f_x3": mo["E_abs_f_x3"],
        }


def _moments(X: np.ndarray, p: np.ndarray, y: np.ndarray) -> dict:
    with np.errstate(all="ignore"):         # a target so large that its moments overflow: refused below, silently
        out = _moment_values(X, p, y)
    bad = [k for k, v in out.items() if not np.all(np.isfinite(v))]
    if bad:
        raise InputError("[target] expr", f"largest |f| = {float(np.max(np.abs(y))):.3g}",
                         f"the data moments ({', '.join(bad)}) overflow double precision",
                         "scale the target down (e.g. exp(x0) instead of exp(100*x0))")
    return out


def _moment_values(X: np.ndarray, p: np.ndarray, y: np.ndarray) -> dict:
    norms = np.linalg.norm(X, axis=1)
    Sigma = (X * p[:, None]).T @ X
    z = X.T @ (p * y)
    zn = float(np.linalg.norm(z))
    s = X @ (z / zn) if 0 < zn < np.inf else np.zeros(len(p))   # zhat . x, for the plateau shift of D10
    return {
        "z": z,
        "Sigma": Sigma,
        "E_f": float(p @ y),
        "E_f2": float(p @ y**2),
        "E_x2": float(p @ norms**2),
        "E_abs_f_x": float(p @ (np.abs(y) * norms)),
        "E_abs_f_x3": float(p @ (np.abs(y) * norms**3)),
        "z_Sinv_z": float(z @ np.linalg.solve(Sigma, z)),
        "E_s4": float(p @ s**4),
        "E_f_s3": float(p @ (y * s**3)),
    }


def _evaluate(target: sp.Expr, X: np.ndarray, field_name: str) -> np.ndarray:
    fn = numeric(target, input_symbols(X.shape[1]))
    with np.errstate(all="ignore"):
        y = np.broadcast_to(np.asarray(fn(*X.T), dtype=float), (X.shape[0],)).copy()
    if not np.all(np.isfinite(y)):
        raise InputError(field_name, str(target), "the target is not finite at every input point",
                         "use a target defined on all of R^dim (e.g. avoid log and 1/x)")
    return y


def _quadrature_error(dim: int, nodes: int, target: sp.Expr) -> dict | None:
    """Change of each moment when the rule is refined (None if too large to refine)."""
    finer = 2 * nodes
    if finer**dim > MAX_QUADRATURE_NODES:
        return None
    rules = [_gauss_hermite(dim, q) for q in (nodes, finer)]
    coarse, fine = (_moments(X, p, _evaluate(target, X, "[target] expr")) for X, p in rules)
    return {k: float(np.max(np.abs(np.atleast_1d(coarse[k]) - np.atleast_1d(fine[k]))))
            for k in ("z", "E_f2", "E_x2", "E_abs_f_x", "E_abs_f_x3", "z_Sinv_z")}


def make_data(dim: int, target: sp.Expr, *, quadrature: int | None = None, samples: int | None = None,
              whiten: bool = True, seed: int = 0) -> DataSet:
    """Build the data set of the configuration.

    Parameters
    ----------
    dim : int
        Input dimension ``d``.
    target : sympy.Expr
        ``f*`` in the symbols of :func:`input_symbols`.
    quadrature, samples : int
        Exactly one: Gauss-Hermite nodes per dimension, or a sample size.
    whiten : bool
        Map the inputs to ``Sigma^(-1/2) x``.
    seed : int
        Seed of the sample (recorded; unused by the quadrature).
    """
    if dim < 1:
        raise InputError("[data] dim", dim, "must be at least 1", "set dim = 1 or more")
    if (quadrature is None) == (samples is None):
        raise InputError("[data] quadrature/samples", (quadrature, samples), "give exactly one of them",
                         "set quadrature = 12 (Gauss-Hermite nodes per dimension) or samples = 300")
    if quadrature is not None:
        if quadrature < 1:
            raise InputError("[data] quadrature", quadrature, "must be at least 1", "use e.g. quadrature = 12")
        if quadrature**dim > MAX_QUADRATURE_NODES:
            raise InputError("[data] quadrature", quadrature,
                             f"{quadrature}^{dim} nodes exceed {MAX_QUADRATURE_NODES}",
                             "lower quadrature or use samples = N for high dimensions")
        X, p = _gauss_hermite(dim, quadrature)
        kind = "quadrature"
    else:
        if samples < 1:
            raise InputError("[data] samples", samples, "must be at least 1", "use e.g. samples = 300")
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        X = rng.standard_normal((samples, dim))
        p = np.full(samples, 1.0 / samples)
        kind = "sample"
    q_err = _quadrature_error(dim, quadrature, target) if kind == "quadrature" else None
    if whiten:
        Sigma = (X * p[:, None]).T @ X
        if np.linalg.cond(Sigma) > 1e12:
            raise InputError("[data] whiten", whiten, "the inputs' second-moment matrix is singular",
                             "use more samples than dimensions, or whiten = false")
        X = X @ _inverse_sqrt(Sigma)
    y = _evaluate(target, X, "[target] expr")
    return DataSet(X, p, y, target, kind, whiten, seed if kind == "sample" else None, q_err)
