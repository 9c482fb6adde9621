"""The report's figures of Q3's eigenbasis claims on the cliff set-up, drawn from their verdicts (no re-run).

* :func:`figure_concentration_bands`: cumulative squared mass of the high- and low-lambda fifths of the talk's
  eigenvector window against a Gaussian vector's (``Q3-eigenvector-concentration``);
* :func:`figure_overlap_matrix`: the band-by-band overlap matrix between the ends of phases 1 and 2, over the
  random-subspace reference (``Q3-eigenvector-rotation``);
* :func:`figure_batch_quadratics`: per-batch losses at batch 512 with their quadratic fits, the minima, and the
  fitted curvatures over the eigenvalue by rank (``Q3-batch-quadratics``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from theory.bridge import numeric
from theory.noisy_quadratic import spectrum as q3

from ..report.figures import pyplot, save_figure

__all__ = ["figure_concentration_bands", "figure_overlap_matrix", "figure_batch_quadratics", "spectral_figures"]


def _measured(verdicts, cid):
    v = verdicts.get(cid)
    return v["measured"] if v and isinstance(v.get("measured"), dict) else None


def gaussian_cumulative(fraction) -> np.ndarray:
    """The derived fraction of a Gaussian vector's squared norm in its largest ``fraction`` of coordinates (Q3)."""
    f = numeric(q3.GAUSSIAN_TOP_MASS.subs(q3.q, q3.GAUSSIAN_QUANTILE), (q3.p,))
    return np.array([float(f(x)) if x < 1 else 1.0 for x in np.atleast_1d(fraction)])


def figure_concentration_bands(verdicts: dict, out: Path) -> dict | None:
    m = _measured(verdicts, "Q3-eigenvector-concentration")
    if not m or not m.get("profile"):
        return None
    p, rows = m["profile"], m["seeds"]
    n = verdicts["Q3-eigenvector-concentration"]["range"]["parameters"]
    ranks = np.array(p["ranks"])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    r0 = rows[0]
    ax.semilogx(ranks, p["high"], "-", color="tab:red", lw=1.8,
                label=f"high-lambda fifth (lambda {r0['high_eigenvalues'][1]:.3g} to {r0['high_eigenvalues'][0]:.3g})")
    ax.semilogx(ranks, p["low"], "-", color="tab:blue", lw=1.8,
                label=f"low-lambda fifth (lambda {r0['low_eigenvalues'][1]:.3g} to {r0['low_eigenvalues'][0]:.3g})")
    ax.semilogx(ranks, gaussian_cumulative(ranks / n), "k--", lw=1.2, label="Gaussian vector (derived)")
    ax.axvline(np.ceil(0.05 * n), color="grey", ls=":", lw=1, label="largest 5 % of coordinates")
    ax.set(xlabel="number of coordinates (largest first)", ylabel="cumulative fraction of squared mass",
           title=f"Eigenvector concentration at step {p['step']} (seed {p['seed']})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    masses = "; ".join(f"seed {r['seed']}: high {r['high_mean_mass']:.3f}, low {r['low_mean_mass']:.3f}" for r in rows)
    return {"name": "nq_concentration_bands", "title": "Q3: concentration of high- and low-lambda eigenvectors",
            "caption": f"Mean cumulative squared mass (coordinates sorted, largest first) over the first and last "
                       f"fifths of the talk's window (the top {r0['window']} positive eigenvectors, 7.7 % of the "
                       f"{n} parameters) at the end of phase 1, against a Gaussian vector's derived curve. Mean mass "
                       f"in the largest 5 %: {masses} (Gaussian {r0['gaussian']:.4f}).",
            **save_figure(fig, out, "nq_concentration_bands")}


def figure_overlap_matrix(verdicts: dict, out: Path) -> dict | None:
    m = _measured(verdicts, "Q3-eigenvector-rotation")
    if not m or not m.get("pairs"):
        return None
    r = m["pairs"][0]
    O, rand = np.array(r["overlap"]), np.array(r["random"])
    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.6))
    im = ax.imshow(O, cmap="viridis", vmin=0, vmax=1)
    for (a, b), v in np.ndenumerate(O):
        ax.text(b, a, f"{v:.2f}", ha="center", va="center", color="white" if v < 0.5 else "black", fontsize=8)
    labels = [f"band {k + 1}" for k in range(len(O))]
    ax.set(xticks=range(len(O)), yticks=range(len(O)), xticklabels=labels, yticklabels=labels,
           xlabel=f"band at step {r['pair'].split('->')[1]} (1 = highest lambda)",
           ylabel=f"band at step {r['pair'].split('->')[0]}", title="(a) mean squared overlap O[a, b]")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ratio = O / rand[None, :]
    im2 = bx.imshow(np.log10(ratio), cmap="RdBu_r", vmin=-2, vmax=2)
    for (a, b), v in np.ndenumerate(ratio):
        bx.text(b, a, f"{v:.2g}", ha="center", va="center", fontsize=8)
    bx.set(xticks=range(len(O)), yticks=range(len(O)), xticklabels=labels, yticklabels=labels,
           xlabel="later band", title="(b) O[a, b] over the random reference |band b| / n (log colour)")
    fig.colorbar(im2, ax=bx, fraction=0.046)
    fig.tight_layout()
    seeds = "; ".join(f"seed {p['seed']}: diagonal {', '.join(f'{x:.2f}' for x in np.diag(np.array(p['overlap'])))}"
                      for p in m["pairs"])
    return {"name": "nq_overlap_matrix", "title": "Q3: eigenvector overlaps between the ends of phases 1 and 2",
            "caption": f"Seed {r['seed']}, {r['pair']}: the positive spectrum above tau lambda_max cut into five "
                       f"equal-count bands at each step; O[a, b] is the mean squared projection of band a's "
                       f"eigenvectors onto band b's later subspace (rows sum to at most 1; random reference "
                       f"{rand[0]:.3f} per band). Diagonals per seed: {seeds}.",
            **save_figure(fig, out, "nq_overlap_matrix")}


def figure_batch_quadratics(verdicts: dict, out: Path) -> dict | None:
    m = _measured(verdicts, "Q3-batch-quadratics")
    if not m or not m.get("figure"):
        return None
    f = m["figure"]
    ts, L, C = np.array(f["ts"]), np.array(f["losses"]), np.array(f["coefficients"])
    mid = len(ts) // 2
    plt = pyplot()
    fig, (ax, bx, cx) = plt.subplots(1, 3, figsize=(15.5, 4.6))
    fine = np.linspace(ts[0], ts[-1], 200)
    for k, (y, c) in enumerate(zip(L, C.T)):
        col = f"C{k % 10}"
        ax.plot(ts, y - y[mid], "o", ms=3.5, color=col)
        ax.plot(fine, np.polyval(c, fine) - y[mid], "-", lw=1.1, color=col, label=f"batch {f['batches'][k]}")
    ax.set(xlabel="t along the eigenvector", ylabel="f_B(theta + t v) - f_B(theta)",
           title=f"(a) batches of {m['batch']}, rank {f['rank']} (h = {f['eigenvalue']:.3g})")
    ax.legend(fontsize=7)
    mins = np.array([x for x in f["minima"] if x is not None and np.isfinite(x)])
    bx.hist(mins, bins=max(5, round(np.sqrt(mins.size))), density=True, color="tab:grey", alpha=0.6,
            label=f"minima of {mins.size} batches")
    g = np.linspace(mins.min(), mins.max(), 200)
    sd = mins.std(ddof=1)
    bx.plot(g, np.exp(-(g - mins.mean()) ** 2 / (2 * sd ** 2)) / (sd * np.sqrt(2 * np.pi)), "r-",
            label=f"normal: mean {mins.mean():+.3g}, sd {sd:.3g}")
    bx.set(xlabel="fitted minimum", ylabel="density", title="(b) per-batch minima")
    bx.legend(fontsize=7)
    names = list(f["curvature_ratios"])
    cx.boxplot([f["curvature_ratios"][k] for k in names])
    cx.set_xticks(range(1, len(names) + 1), [k.replace("rank ", "") for k in names])
    band = verdicts["Q3-batch-quadratics"]["predicted"]["curvature_band"]
    for y in band:
        cx.axhline(y, color="tab:red", ls="--", lw=1)
    cx.axhline(1.0, color="black", lw=0.8)
    cx.set(xlabel="rank of the eigenvalue", ylabel="fitted curvature c_B / h",
           title="(c) per-batch curvature over the eigenvalue")
    fig.tight_layout()
    rows = [r for r in m["directions"] if r["seed"] == f["seed"]]
    text = "; ".join(f"rank {r['rank']}: {r['curvature_ratio_mean']:.3f} [{r['curvature_ratio_interval'][0]:.3f}, "
                     f"{r['curvature_ratio_interval'][1]:.3f}], R^2 {r['median_r_squared']:.4f}, p {r['shapiro_p']:.2g}"
                     for r in rows)
    return {"name": "nq_batch_quadratics", "title": "Q3: per-batch quadratics at batch 512 (end of phase 1)",
            "caption": f"Seed {f['seed']}, the end of phase 1. (a) Five of {m['batches']} random batches of "
                       f"{m['batch']} (those at the 10-90 % quantiles of the minima) along the eigenvector of rank "
                       f"{f['rank']}: points on the talk's window (half-width {f['half_width']:.3g}, 4 sd of the "
                       f"minima plus their mean offset), lines the least-squares quadratics. (b) All minima with the "
                       f"normal of their mean and sd. (c) Per-batch curvature / eigenvalue by rank, the band "
                       f"[{band[0]}, {band[1]}] dashed. Mean ratio [95 %], median R^2, Shapiro-Wilk p: {text}.",
            **save_figure(fig, out, "nq_batch_quadratics")}


def spectral_figures(verdicts: dict, out) -> list:
    figs = (figure_concentration_bands(verdicts, Path(out)), figure_overlap_matrix(verdicts, Path(out)),
            figure_batch_quadratics(verdicts, Path(out)))
    return [f for f in figs if f]
