"""Per-batch losses along Hessian eigenvectors of the trained network, fitted by quadratics (Q3).

Along a unit eigenvector ``v`` of eigenvalue ``h``, the loss of batch ``i`` is
``f_i(theta + t v)``; the talk models it as ``(h_i / 2)(t - m_i)^2 + c_i``
with minima ``m_i`` spread around the full-data minimum.  The window of the
fit is derived from measured quantities, not chosen: the per-batch slopes
``g_i = d f_i / dt`` at ``t = 0`` (exact, forward-mode autodiff) and the
curvature ``h`` put the minima near ``-g_i / h``; the half-width is
``w = |mean(g)| / |h| + Z sd(g) / |h|`` with ``Z = 3`` (a normal sample lies
within 3 standard deviations of its mean with probability 0.997), so that the
window holds the minima it is meant to locate.  Along a negative eigenvector
the double-well scale comes from the fourth derivative ``d4`` of the full
loss along ``v``: ``h t^2 / 2 + d4 t^4 / 24`` has its minima at
``t* = sqrt(-6 h / d4)``; the window is ``[-2 t*, 2 t*]``.

:func:`top_fit` and :func:`bottom_wells` apply these to one eigenvector of a
measured checkpoint with the run's seeded batch partition; the claim
``Q3-batch-quadratics`` and the report's per-batch figure both go through them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import stats

from ..engines.datasets import digits
from ..engines.deepnet import DeepNet

__all__ = ["WINDOW_Z", "GRID_POINTS", "NEGATIVE_DIRECTIONS", "BatchFit", "DoubleWell", "batch_partition",
           "batch_losses_along", "line_derivatives", "fit_batches", "double_wells", "run_batches", "top_fit",
           "bottom_wells"]

#: the window holds the per-batch minima within this many standard deviations of their mean
WINDOW_Z = 3.0
#: points of the grid along the direction on which each batch loss is evaluated
GRID_POINTS = 21
#: the most negative eigenvectors (at most this many) along which double wells are looked for
NEGATIVE_DIRECTIONS = 3


def batch_partition(n: int, batch_size: int, seed: int) -> np.ndarray:
    """Rows of ``n`` samples in a seeded permutation, cut into full batches (``n // batch_size`` x ``batch_size``)."""
    perm = np.random.default_rng(np.random.SeedSequence(seed)).permutation(n)
    count = n // batch_size
    return perm[:count * batch_size].reshape(count, batch_size)


def _net(setup, device):
    return DeepNet(64, 10, setup.depth, setup.width, activation="gelu", dtype=torch.float64, device=device,
                   notify=None)


def batch_losses_along(setup, theta: np.ndarray, v: np.ndarray, ts: np.ndarray, batches: np.ndarray,
                       device: str = "cpu") -> np.ndarray:
    """``f_i(theta + t v)`` for every batch (rows) and every ``t`` of ``ts`` (columns), float64."""
    net, data = _net(setup, device), digits(dtype=torch.float64, device=device)
    th = torch.as_tensor(theta, dtype=torch.float64, device=device)
    vv = torch.as_tensor(v, dtype=torch.float64, device=device)
    idx = torch.as_tensor(batches, device=device)
    out = np.empty((len(batches), len(ts)))
    with torch.no_grad():
        for j, t in enumerate(ts):
            logits = net.forward(net.unflatten(th + float(t) * vv), data.x)
            per = torch.nn.functional.cross_entropy(logits, data.labels, reduction="none")
            out[:, j] = per[idx].mean(dim=1).cpu().numpy()
    return out


def batch_slopes(setup, theta: np.ndarray, v: np.ndarray, batches: np.ndarray, device: str = "cpu") -> np.ndarray:
    """``d f_i(theta + t v) / dt`` at ``t = 0`` for every batch (one forward-mode pass)."""
    net, data = _net(setup, device), digits(dtype=torch.float64, device=device)
    th = torch.as_tensor(theta, dtype=torch.float64, device=device)
    vv = torch.as_tensor(v, dtype=torch.float64, device=device)
    idx = torch.as_tensor(batches, device=device)

    def losses(t):
        per = torch.nn.functional.cross_entropy(net.forward(net.unflatten(th + t * vv), data.x), data.labels,
                                                reduction="none")
        return per[idx].mean(dim=1)

    t0 = torch.zeros((), dtype=torch.float64, device=device)
    return torch.func.jvp(losses, (t0,), (torch.ones_like(t0),))[1].cpu().numpy()


def line_derivatives(setup, theta: np.ndarray, v: np.ndarray, order: int = 4, device: str = "cpu") -> np.ndarray:
    """The derivatives 1..``order`` of the full-data loss ``f(theta + t v)`` at ``t = 0`` (nested autograd)."""
    net, data = _net(setup, device), digits(dtype=torch.float64, device=device)
    th = torch.as_tensor(theta, dtype=torch.float64, device=device)
    vv = torch.as_tensor(v, dtype=torch.float64, device=device)
    t = torch.zeros((), dtype=torch.float64, device=device, requires_grad=True)
    value = net.dataset_loss(net.unflatten(th + t * vv), data, "cross_entropy")
    out = []
    for _ in range(order):
        (value,) = torch.autograd.grad(value, t, create_graph=True)
        out.append(float(value.detach()))
    return np.array(out)


@dataclass(frozen=True)
class BatchFit:
    """Quadratic fits of the per-batch losses along one eigenvector on the derived window.

    ``half_width`` is ``|mean(g)| / |h| + WINDOW_Z sd(g) / |h|``; ``r_squared``, ``curvatures`` (twice the
    leading coefficient) and ``minima`` are per batch (``minima`` NaN where the fitted curvature is not
    positive); ``shapiro_p`` is the Shapiro-Wilk p-value of the finite minima; ``coefficients`` are the fitted
    polynomials ((``degree`` + 1) x batches, highest power first).
    """

    eigenvalue: float
    half_width: float
    slope_mean: float
    slope_sd: float
    ts: np.ndarray
    losses: np.ndarray
    degree: int
    r_squared: np.ndarray
    curvatures: np.ndarray
    minima: np.ndarray
    shapiro_p: float
    coefficients: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))

    @property
    def minima_sd(self) -> float:
        m = self.minima[np.isfinite(self.minima)]
        return float(m.std(ddof=1)) if m.size > 1 else float("nan")

    def summary(self) -> dict:
        finite = np.isfinite(self.minima)
        return {"eigenvalue": self.eigenvalue, "half_width": self.half_width, "slope_mean": self.slope_mean,
                "slope_sd": self.slope_sd, "degree": self.degree, "median_r_squared": float(np.median(self.r_squared)),
                "min_r_squared": float(self.r_squared.min()), "mean_curvature": float(self.curvatures.mean()),
                "curvature_sd": float(self.curvatures.std(ddof=1)), "minima_mean": float(self.minima[finite].mean()) if finite.any() else float("nan"),
                "minima_sd": self.minima_sd, "positive_curvature_batches": int(finite.sum()),
                "batches": len(self.minima), "shapiro_p": self.shapiro_p}


def fit_batches(setup, theta: np.ndarray, v: np.ndarray, h: float, batches: np.ndarray, degree: int = 2,
                device: str = "cpu") -> BatchFit:
    """Fit each batch's loss along ``v`` by a polynomial of ``degree`` on the derived window."""
    g = batch_slopes(setup, theta, v, batches, device)
    half = (abs(g.mean()) + WINDOW_Z * g.std(ddof=1)) / abs(h)
    ts = np.linspace(-half, half, GRID_POINTS)
    L = batch_losses_along(setup, theta, v, ts, batches, device)
    coef = np.polyfit(ts, L.T, degree)                   # (degree + 1) x batches, highest power first
    pred = np.vander(ts, degree + 1) @ coef
    ss_res = ((L.T - pred) ** 2).sum(axis=0)
    ss_tot = ((L.T - L.T.mean(axis=0)) ** 2).sum(axis=0)
    r2 = 1 - ss_res / ss_tot
    if degree >= 2:
        a, b = coef[-3], coef[-2]
        curv = 2 * a
        minima = np.where(a > 0, -b / np.where(a > 0, 2 * a, 1.0), np.nan)
    else:
        curv, minima = np.zeros(len(batches)), np.full(len(batches), np.nan)
    finite = minima[np.isfinite(minima)]
    p = float(stats.shapiro(finite).pvalue) if finite.size >= 3 else float("nan")
    return BatchFit(float(h), float(half), float(g.mean()), float(g.std(ddof=1)), ts, L, degree, r2, curv, minima, p,
                    coef)


@dataclass(frozen=True)
class DoubleWell:
    """Per-batch losses along a negative-curvature eigenvector on ``[-2 t*, 2 t*]``.

    ``t_star`` is ``sqrt(-6 h / d4)`` (NaN when ``d4 <= 0``: no quartic well); ``wells`` counts, per batch, the
    interior local minima of the loss on the grid; ``full_wells`` the same for the full-data loss; ``losses``
    (batches x grid) and ``full`` (grid) are the per-batch and full-data losses on ``ts``.
    """

    eigenvalue: float
    fourth_derivative: float
    t_star: float
    ts: np.ndarray
    wells: np.ndarray
    full_wells: int
    losses: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    full: np.ndarray = field(default_factory=lambda: np.empty(0))

    def summary(self) -> dict:
        return {"eigenvalue": self.eigenvalue, "fourth_derivative": self.fourth_derivative, "t_star": self.t_star,
                "batches_with_two_minima": int(np.sum(self.wells >= 2)), "batches": len(self.wells),
                "fraction_double_well": float(np.mean(self.wells >= 2)) if len(self.wells) else float("nan"),
                "full_data_minima": self.full_wells}


def _interior_minima(y: np.ndarray) -> np.ndarray:
    return ((y[..., 1:-1] < y[..., :-2]) & (y[..., 1:-1] < y[..., 2:])).sum(axis=-1)


def double_wells(setup, theta: np.ndarray, v: np.ndarray, h: float, batches: np.ndarray, points: int = 41,
                 device: str = "cpu") -> DoubleWell:
    """Count the minima of each batch's loss along a negative eigenvector on the derived double-well window."""
    d = line_derivatives(setup, theta, v, 4, device)
    d4 = float(d[3])
    if not (h < 0 and d4 > 0):
        return DoubleWell(float(h), d4, float("nan"), np.empty(0), np.empty(0, int), 0)
    t_star = float(np.sqrt(-6 * h / d4))
    ts = np.linspace(-2 * t_star, 2 * t_star, points)
    L = batch_losses_along(setup, theta, v, ts, batches, device)
    sizes = np.full(len(batches), batches.shape[1])
    full = (L * sizes[:, None]).sum(axis=0) / sizes.sum()
    return DoubleWell(float(h), d4, t_star, ts, _interior_minima(L), int(_interior_minima(full)), L, full)


def run_batches(run) -> np.ndarray:
    """The run's batch partition of the digits (seeded by the run's seed, the run's batch size)."""
    return batch_partition(1797, run.setup.batch_size, run.seed)


def top_fit(run, step: int, j: int = 0, degree: int = 2) -> BatchFit:
    """:func:`fit_batches` along the ``j``-th largest eigenvector of the run's checkpoint at ``step``."""
    c = run.at(step)
    return fit_batches(run.setup, c.theta, c.top_vectors[:, j], float(c.values[-1 - j]), run_batches(run), degree,
                       run.device)


def bottom_wells(run, step: int) -> list:
    """:func:`double_wells` along each negative eigenvector among the ``NEGATIVE_DIRECTIONS`` most negative."""
    c = run.at(step)
    count = min(NEGATIVE_DIRECTIONS, c.bottom_vectors.shape[1])
    return [double_wells(run.setup, c.theta, c.bottom_vectors[:, j], float(c.values[j]), run_batches(run),
                         device=run.device) for j in range(count) if c.values[j] < 0]
