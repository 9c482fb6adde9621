"""The uniform grid a curve is averaged into, Gaussian smoothing with straight-line ends, and the noise it leaves
on the values and on the descent rate (the bandwidth rules of the specification in docs/stages.md)."""
from __future__ import annotations

import math

import numpy as np

from .params import _MAX_GRID, _MIN_GRID, _NOISE_POINTS, _SQRT_PI


def _noise(t: np.ndarray, y: np.ndarray) -> float:
    """Robust standard deviation of white noise on ``y``, from each point's distance to its neighbours' chord."""
    if t.size < _NOISE_POINTS:      # too few residuals to tell noise from the drops: treat the curve as clean
        return 0.0
    d1, d2 = t[1:-1] - t[:-2], t[2:] - t[1:-1]
    a, b = d2 / (d1 + d2), d1 / (d1 + d2)
    resid = (y[1:-1] - a * y[:-2] - b * y[2:]) / np.sqrt(1.0 + a * a + b * b)
    # the lower quartile of |N(0, 1)| is 0.3186: tolerant of drops and jumps in up to 3/4 of the residuals
    return float(np.quantile(np.abs(resid), 0.25) / 0.3186)


def _grid(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Uniform grid over ``[t0, tN]``: bin means (time and value) where points crowd, linear interpolation between."""
    tg, idx, count, keep, tb = _grid_bins(t)
    yb = np.bincount(idx, weights=y, minlength=tg.size)[keep] / count[keep]
    return tg, np.interp(tg, tb, yb)


def _grid_bins(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The uniform grid of :func:`_grid` and its bins: ``(tg, bin of each sample, count per bin, bins with a
    sample, mean time of each such bin)``."""
    span = t[-1] - t[0]
    natural = int(round(span / float(np.median(np.diff(t))))) + 1
    m = int(min(max(t.size, _MIN_GRID, natural), _MAX_GRID))
    tg = np.linspace(t[0], t[-1], m)
    h = span / (m - 1)
    idx = np.minimum(((t - t[0]) / h + 0.5).astype(np.int64), m - 1)
    count = np.bincount(idx, minlength=m)
    keep = count > 0
    tb = np.bincount(idx, weights=t, minlength=m)[keep] / count[keep]
    return tg, idx, count, keep, tb


def _grid_rows(t: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """:func:`_grid` applied to each row of ``rows`` (one value per sample time in each row) at once."""
    tg, idx, count, keep, tb = _grid_bins(t)
    first = np.flatnonzero(np.diff(idx, prepend=-1))        # t increases, so each bin's samples are consecutive
    yb = np.add.reduceat(rows, first, axis=1) / count[keep]
    # np.interp's linear interpolation between the bin means, held constant outside them
    j = np.clip(np.searchsorted(tb, tg, side="right") - 1, 0, max(tb.size - 2, 0))
    if tb.size < 2:
        return np.repeat(yb[:, :1], tg.size, axis=1)
    w = np.clip((tg - tb[j]) / (tb[j + 1] - tb[j]), 0.0, 1.0)
    return yb[:, j] + (yb[:, j + 1] - yb[:, j]) * w


def _smooth(y: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing (``sigma`` in grid steps) with odd reflection about a local straight-line fit at each end,
    so that a curve that is falling at an end keeps its slope there. ``y`` is one curve, or one per row."""
    from scipy.ndimage import gaussian_filter1d     # here, not at the top: importing this module costs only numpy

    m = y.shape[-1]
    if sigma < 0.2 or m < 3:
        return y.copy()
    pad = min(int(4 * sigma) + 2, m - 1)
    fit = min(_fit_length(sigma), max(m // 4, 3))
    x = np.arange(fit, dtype=float)
    if y.ndim == 1:
        left = np.polyval(np.polyfit(x, y[:fit], 1), 0.0)
        right = np.polyval(np.polyfit(x, y[-fit:], 1), fit - 1.0)
        padded = np.concatenate([2 * left - y[pad:0:-1], y, 2 * right - y[-2:-pad - 2:-1]])
        return gaussian_filter1d(padded, sigma, mode="nearest", truncate=4.0)[pad:pad + m]
    left = np.polyval(np.polyfit(x, y[:, :fit].T, 1), 0.0)[:, None]
    right = np.polyval(np.polyfit(x, y[:, -fit:].T, 1), fit - 1.0)[:, None]
    padded = np.concatenate([2 * left - y[:, pad:0:-1], y, 2 * right - y[:, -2:-pad - 2:-1]], axis=1)
    return _gaussian_rows(padded, sigma)[:, pad:pad + m]


def _gaussian_rows(y: np.ndarray, sigma: float) -> np.ndarray:
    """``gaussian_filter1d(y, sigma, axis=-1, mode="nearest", truncate=4.0)``, by FFT once the kernel is long (the
    same weights; the two agree to rounding)."""
    from scipy import fft
    from scipy.ndimage import gaussian_filter1d

    radius = int(4.0 * sigma + 0.5)
    if radius < 32:
        return gaussian_filter1d(y, sigma, axis=-1, mode="nearest", truncate=4.0)
    x = np.arange(-radius, radius + 1, dtype=float)
    kernel = np.exp(-0.5 / (sigma * sigma) * x * x)
    kernel /= kernel.sum()
    padded = np.concatenate([np.repeat(y[:, :1], radius, axis=1), y, np.repeat(y[:, -1:], radius, axis=1)], axis=1)
    size = fft.next_fast_len(padded.shape[1] + kernel.size - 1, real=True)
    full = fft.irfft(fft.rfft(padded, size, axis=1) * fft.rfft(kernel, size), size, axis=1)
    return full[:, 2 * radius:2 * radius + y.shape[1]]


def _fit_length(sigma: float) -> int:
    """Grid points of the straight-line fit at each end of :func:`_smooth` at ``sigma`` grid steps."""
    return max(int(2 * sigma) + 2, 3)


def _value_noise_profile(m: int, nu: float, rho: float, s: float, h: float) -> np.ndarray:
    """Noise left on ``y`` at each grid point after :func:`_smooth` at scale ``s`` (time): larger at the ends, which
    rest on a straight-line fit (its end value has variance ``4 nu^2 / N`` for ``N`` points)."""
    noise = np.full(m, _value_noise(nu, rho, s))
    fit = min(_fit_length(s / h), max(m // 4, 3))
    edge = 2 * nu / math.sqrt(max(rho * fit * h, 1.0))
    noise[:fit] = np.maximum(noise[:fit], edge)
    noise[-fit:] = np.maximum(noise[-fit:], edge)
    return noise


def _edge_rate_excess(t: np.ndarray, nu: float, s: float, h: float, draws: int = 32) -> np.ndarray:
    """How much noisier the smoothed rate is at each grid point than inside the curve (standard deviations).

    At the ends :func:`_smooth` rests on straight-line fits, so the rate there is the slope of a fit to a few
    points, far noisier than inside. The profile is measured on ``draws`` realisations of white noise ``nu`` at the
    curve's own sample times, taken through the same gridding, smoothing and differencing (a fixed seed: the same
    curve gives the same stages); returned is the excess over the median rate noise, zero inside the curve.
    """
    rng = np.random.default_rng(0)
    rates = -np.gradient(_smooth(_grid_rows(t, nu * rng.standard_normal((draws, t.size))), s / h), h, axis=1)
    sd = np.std(rates, axis=0)
    return np.maximum(sd - float(np.median(sd)), 0.0)


def _rate_noise(nu: float, rho: float, s: float) -> float:
    """Standard deviation of the rate left by a Gaussian of width ``s`` (time) on white noise ``nu`` at density
    ``rho``."""
    return nu / math.sqrt(rho * 4 * _SQRT_PI * s ** 3)


def _value_noise(nu: float, rho: float, s: float) -> float:
    """Standard deviation of ``y`` left by a Gaussian of width ``s`` (time) on white noise ``nu`` at density ``rho``."""
    return nu / math.sqrt(rho * 2 * _SQRT_PI * s)


def _scale_for_rate(nu: float, rho: float, target: float) -> float:
    if nu == 0 or target <= 0:
        return 0.0
    return (nu * nu / (rho * 4 * _SQRT_PI * target * target)) ** (1.0 / 3.0)


def _scale_for_value(nu: float, rho: float, target: float) -> float:
    return nu * nu / (rho * 2 * _SQRT_PI * target * target)
