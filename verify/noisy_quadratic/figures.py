"""The report's figures of the noisy-quadratic model (PNG and SVG), drawn from the claims' verdicts."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from theory.bridge import numeric
from theory.noisy_quadratic import momentum as q2
from theory.noisy_quadratic import quadratic as q1

from ..report.figures import pyplot, save_figure

__all__ = ["figure_floor_vs_lr", "figure_floor_vs_momentum", "figure_cliff", "result_figures", "figure_spectra",
           "figure_concentration", "figure_training", "figure_batch_fits", "simulated_figures", "figure_cliff_training",
           "figure_floor_sum"]


def _measured(verdicts, cid):
    v = verdicts.get(cid)
    return v["measured"] if v and isinstance(v.get("measured"), dict) else None


def figure_floor_vs_lr(verdicts: dict, out: Path) -> dict | None:
    """Q1: the floor over alpha lambda, derived curve and simulated points with 95 % intervals."""
    m = _measured(verdicts, "Q1-stationary-loss")
    if not m or "points" not in m:
        return None
    lam, sig = verdicts["Q1-stationary-loss"]["details"]["curvature"], verdicts["Q1-stationary-loss"]["details"]["noise"]
    grid = np.geomspace(0.005, 0.95, 200)
    exact = numeric(q1.STATIONARY_LOSS, (q1.alpha, q1.lam, q1.sigma))(grid / lam, lam, sig)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.loglog(grid, exact, "-", color="tab:blue", label="derived alpha lambda^2 sigma^2 / (1 - alpha lambda)")
    pts = m["points"]
    ax.errorbar([p["alpha_lambda"] for p in pts], [p["measured"] for p in pts],
                yerr=[1.96 * p["stderr"] for p in pts], fmt="o", color="black", label="simulated (95 %)")
    ax.set(xlabel="alpha lambda", ylabel="E[lambda x^2]", title="GD on the noisy quadratic: the floor (Q1)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return {"name": "nq_floor_vs_lr", "title": "Noisy quadratic: stationary loss against alpha lambda",
            "caption": f"lambda = {lam}, sigma = {sig}; intervals from independent chains (autocorrelation "
                       "included).", **save_figure(fig, out, "nq_floor_vs_lr")}


def figure_floor_vs_momentum(verdicts: dict, out: Path) -> dict | None:
    """Q2: the floor over gamma at each fraction of the stability bound: exact, approximation, simulated."""
    m = _measured(verdicts, "Q2-stationary-loss")
    if not m or "points" not in m:
        return None
    pts = m["points"]
    fractions = sorted({round(p["alpha_lambda"] / (1 + p["gamma"]), 6) for p in pts})
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    g = np.linspace(0, 0.99, 300)
    exact = numeric(q2.STATIONARY_LOSS, (q2.alpha, q2.lam, q2.sigma, q2.gamma))
    approx = numeric(q2.APPROXIMATION, (q2.alpha, q2.lam, q2.sigma, q2.gamma))
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:grey"]
    for f, col in zip(fractions, colours):
        cs = f * (1 + g)
        ax.semilogy(g, exact(cs, 1.0, 1.0, g), "-", color=col, label=f"exact, alpha lambda = {f:g} (1 + gamma)")
        with np.errstate(divide="ignore", invalid="ignore"):
            a = approx(cs, 1.0, 1.0, g)
        ax.semilogy(g, np.where(a > 0, a, np.nan), ":", color=col)
        sel = [p for p in pts if abs(p["alpha_lambda"] / (1 + p["gamma"]) - f) < 1e-6]
        ax.errorbar([p["gamma"] for p in sel], [p["measured"] for p in sel],
                    yerr=[1.96 * p["stderr"] for p in sel], fmt="o", color=col)
    ax.plot([], [], ":", color="black", label="approximation (independent iterates); absent where it has no floor")
    ax.set(xlabel="momentum gamma", ylabel="E[lambda x^2]", title="Heavy ball: exact floor vs approximation (Q2)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return {"name": "nq_floor_vs_momentum", "title": "Heavy ball: stationary loss against gamma",
            "caption": "Solid: the exact floor (2x2 Lyapunov); dotted: the circulating approximation; points: "
                       "simulation with 95 % intervals (lambda = sigma = 1).",
            **save_figure(fig, out, "nq_floor_vs_momentum")}


def figure_cliff(verdicts: dict, out: Path) -> dict | None:
    """Q1: the loss against the step across a learning-rate cut, with the derived floors and transient."""
    m = _measured(verdicts, "Q1-lr-cut")
    if not m or "curve" not in m:
        return None
    d = verdicts["Q1-lr-cut"]["details"]
    curve = m["curve"]
    steps, loss = np.array(curve["step"]), np.array(curve["loss"])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.semilogy(steps, loss, color="black", lw=1, label="simulated mean of lambda x^2")
    ax.axhline(m["old_floor"]["predicted"], color="tab:blue", ls="--", label="derived floor before the cut")
    ax.axhline(m["new_floor"]["predicted"], color="tab:green", ls="--", label="derived floor after the cut")
    after = d["cut_step"] + np.arange(len(curve["predicted_after_cut"]))
    ax.semilogy(after, curve["predicted_after_cut"], color="tab:red", lw=1, label="derived transient")
    ax.axvline(d["cut_step"], color="grey", lw=0.8)
    ax.set(xlabel="step", ylabel="E[lambda x^2]",
           title=f"Learning-rate cut by {d['cut_factor']:g} at alpha lambda = {d['alpha_lambda_before']} (Q1)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return {"name": "nq_lr_cut", "title": "Noisy quadratic: the cliff at a learning-rate cut",
            "caption": f"The floor drops by {m['cliff_ratio']['measured']:.3g} (derived "
                       f"{m['cliff_ratio']['predicted']:.3g}, not {m['cliff_ratio']['naive']:g}).",
            **save_figure(fig, out, "nq_lr_cut")}


def result_figures(verdicts: dict, out) -> list:
    figs = (figure_floor_vs_lr(verdicts, Path(out)), figure_floor_vs_momentum(verdicts, Path(out)),
            figure_cliff(verdicts, Path(out)), figure_cliff_training(verdicts, Path(out)),
            figure_floor_sum(verdicts, Path(out)))
    return [f for f in figs if f]


def verdict_figures(verdicts: dict, out) -> list:
    """Every figure drawn from the verdicts: the model's (:func:`result_figures`) and Q3's eigenbasis figures."""
    from .spectral_figures import spectral_figures

    return result_figures(verdicts, out) + spectral_figures(verdicts, out)


# ---- Q3: figures of the trained network (drawn from a fresh run of the profile's set-up) -----------------------

def _setup_text(setup) -> str:
    d = setup.describe()
    return (f"{d['network']} ({d['parameters']} parameters), {d['loss']}, {d['optimiser']}, lr {d['lr']}, momentum "
            f"{d['momentum']}, weight decay {d['weight_decay']}, batch {d['batch_size']}, {d['steps']} steps, drops "
            f"x{d['drop_factor']} at {', '.join(map(str, d['drops']))}; {d['data']}")


def figure_spectra(run, out: Path) -> dict:
    """Q3: the positive Hessian spectrum against its rank on log-log axes, one curve per checkpoint."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for cp in run.checkpoints:
        pos = np.sort(cp.values[cp.values > 0])[::-1]
        ax.loglog(np.arange(1, pos.size + 1), pos, "-", lw=1.2, label=f"step {cp.step} (lr {cp.lr:.3g})")
    ax.set(xlabel="rank i", ylabel="eigenvalue lambda_i (positive part)",
           title="Hessian spectrum at the checkpoints (dense, float64, all digits)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return {"name": "nq_spectra", "title": "Q3: the positive Hessian spectrum per checkpoint",
            "caption": f"{_setup_text(run.setup)}; eigenvalues by eigh of the dense Hessian; the negative part is "
                       "counted in Q3-negative-eigenvalues.", **save_figure(fig, out, "nq_spectra")}


def figure_concentration(run, out: Path, seed: int = 0) -> dict:
    """Q3: cumulative sorted squared components of the top eigenvector at each checkpoint, and of a Gaussian."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for cp in run.checkpoints:
        v = cp.top_vectors[:, 0]
        mass = np.cumsum(np.sort(v * v)[::-1]) / float(v @ v)
        ax.plot(np.arange(1, v.size + 1) / v.size, mass, "-", lw=1.2, label=f"top eigenvector, step {cp.step}")
    g = np.random.default_rng(np.random.SeedSequence(seed)).standard_normal(run.checkpoints[0].top_vectors.shape[0])
    ax.plot(np.arange(1, g.size + 1) / g.size, np.cumsum(np.sort(g * g)[::-1]) / float(g @ g), "k--", lw=1,
            label="Gaussian random vector (seeded)")
    ax.set(xlabel="fraction of coordinates (largest first)", ylabel="cumulative fraction of squared mass",
           title="Concentration of the top eigenvector")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return {"name": "nq_concentration", "title": "Q3: concentration of the top Hessian eigenvector",
            "caption": "Sorted squared components, accumulated; a concentrated vector rises steeply (the claim "
                       "Q3-eigenvector-concentration compares the mass in the largest 5 % of coordinates).",
            **save_figure(fig, out, "nq_concentration")}


def figure_training(run, out: Path) -> dict:
    """Q3: the full training loss against the step with the learning-rate drops and checkpoints marked."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.semilogy(np.arange(len(run.losses)), run.losses, color="black", lw=1.2, label="training loss (all digits)")
    for k, step in enumerate(run.setup.drops):
        ax.axvline(step, color="tab:red", ls="--", lw=1, label="learning-rate drop" if k == 0 else None)
    for k, cp in enumerate(run.checkpoints):
        ax.axvline(cp.step, color="tab:blue", ls=":", lw=1, label="checkpoint" if k == 0 else None)
    ax.set(xlabel="SGD step", ylabel="cross-entropy loss (log scale)", title="Training of the small GELU network")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return {"name": "nq_training", "title": "Q3: training loss with the learning-rate drops",
            "caption": _setup_text(run.setup), **save_figure(fig, out, "nq_training")}


def _quantile_rows(values: np.ndarray, count: int) -> list:
    """Rows of ``values`` (finite ones) at ``count`` evenly spaced quantiles from 10 % to 90 %, without repeats."""
    rows = np.flatnonzero(np.isfinite(values))
    rows = rows[np.argsort(values[rows], kind="stable")]
    if rows.size == 0:
        return []
    picks = np.round(np.linspace(0.1, 0.9, count) * (rows.size - 1)).astype(int)
    return [int(rows[i]) for i in dict.fromkeys(picks.tolist())]


def figure_batch_fits(run, out: Path, step: int | None = None, shown: int = 5) -> dict:
    """Q3: per-batch losses along the top eigenvector with their quadratic fits, the fitted minima, a double well.

    At the checkpoint ``step`` (default the last): (a) the losses of ``shown`` batches (those at the 10-90 %
    quantiles of the fitted minima) on twice the derived window, as points, and their quadratics fitted on the
    window, as lines; (b) the histogram of all batches' fitted minima with the normal density of their mean and
    standard deviation; (c) along the most negative eigenvector that has a quartic well (``d4 > 0``), a few
    batches' losses, the full-data loss and its derived model ``h t^2 / 2 + d4 t^4 / 24``, with ``+-t*`` marked.
    The fits are :func:`~verify.noisy_quadratic.batchfit.top_fit` and
    :func:`~verify.noisy_quadratic.batchfit.bottom_wells`, the code path of the claim ``Q3-batch-quadratics``.
    """
    from scipy import stats

    from .batchfit import NEGATIVE_DIRECTIONS, batch_losses_along, bottom_wells, run_batches, top_fit

    step = run.checkpoints[-1].step if step is None else step
    c, s = run.at(step), run.setup
    fit = top_fit(run, step, 0)
    w = fit.half_width
    rows = _quantile_rows(fit.minima, shown)
    wide = np.linspace(-2 * w, 2 * w, 2 * len(fit.ts) - 1)            # the window's grid spacing, twice as wide
    L = batch_losses_along(s, c.theta, c.top_vectors[:, 0], wide, run_batches(run)[rows], run.device)
    L0 = L[:, len(wide) // 2][:, None]                                 # each batch's loss at t = 0
    inside = np.abs(wide) <= w * (1 + 1e-9)
    plt = pyplot()
    fig, (ax, bx, cx) = plt.subplots(1, 3, figsize=(15.5, 4.8))
    ax.axvspan(-w, w, color="tab:blue", alpha=0.08, label="derived window (|mean g| + 3 sd g) / h")
    fine = np.linspace(-2 * w, 2 * w, 200)
    for k, (i, y) in enumerate(zip(rows, L - L0)):
        col = f"C{k % 10}"
        ax.plot(wide[inside], y[inside], "o", ms=3.5, color=col)
        ax.plot(wide[~inside], y[~inside], "o", ms=3.5, mfc="none", color=col)
        q = np.polyval(fit.coefficients[:, i], fine) - L0[k, 0]
        ax.plot(np.where(np.abs(fine) <= w, fine, np.nan), q, "-", lw=1.2, color=col,
                label=f"batch {i}: R^2 {fit.r_squared[i]:.4f}, minimum {fit.minima[i]:+.3g}")
        ax.plot(np.where(np.abs(fine) > w, fine, np.nan), q, ":", lw=1, color=col)
        ax.plot([fit.minima[i]], [np.polyval(fit.coefficients[:, i], fit.minima[i]) - L0[k, 0]], "v", ms=7,
                color=col)
    ax.set(xlabel="t (step along the top eigenvector v from the checkpoint)",
           ylabel="batch loss f_i(theta + t v) - f_i(theta)",
           title=f"(a) per-batch losses and quadratic fits (h = {fit.eigenvalue:.3g})")
    ax.legend(fontsize=7)

    m = fit.minima[np.isfinite(fit.minima)]
    mean, sd = float(m.mean()), fit.minima_sd
    bx.hist(m, bins=max(5, round(np.sqrt(m.size))), density=True, color="tab:grey", alpha=0.6,
            label=f"fitted minima of {m.size} batches")
    grid = np.linspace(min(m.min(), mean - 3.5 * sd), max(m.max(), mean + 3.5 * sd), 200)
    bx.plot(grid, stats.norm.pdf(grid, mean, sd), "-", color="tab:red",
            label=f"normal, mean {mean:+.3g}, sd {sd:.3g}")
    for x in (-w, w):
        bx.axvline(x, color="tab:blue", ls="--", lw=1, label="derived window" if x < 0 else None)
    bx.set(xlabel="fitted minimum m_i along v", ylabel="density",
           title=f"(b) minima (Shapiro-Wilk p = {fit.shapiro_p:.3g})")
    bx.legend(fontsize=7)

    wells = [x for x in bottom_wells(run, step) if np.isfinite(x.t_star)]
    if wells:
        dw = wells[0]
        mid = len(dw.ts) // 2
        two = [i for i in range(len(dw.wells)) if dw.wells[i] >= 2][:3]
        one = [i for i in range(len(dw.wells)) if dw.wells[i] < 2][:5 - len(two)]
        for k, i in enumerate(two + one):
            cx.plot(dw.ts, dw.losses[i] - dw.losses[i, mid], "-", lw=1, color=f"C{k % 10}",
                    label=f"batch {i}: {dw.wells[i]} minim{'a' if dw.wells[i] != 1 else 'um'}")
        cx.plot(dw.ts, dw.full - dw.full[mid], "-", lw=2.2, color="black",
                label=f"full data: {dw.full_wells} minim{'a' if dw.full_wells != 1 else 'um'}")
        t = np.linspace(dw.ts[0], dw.ts[-1], 200)
        cx.plot(t, dw.eigenvalue * t ** 2 / 2 + dw.fourth_derivative * t ** 4 / 24, "--", color="tab:red", lw=1.2,
                label="derived h t^2 / 2 + d4 t^4 / 24")
        for x in (-dw.t_star, dw.t_star):
            cx.axvline(x, color="tab:red", ls=":", lw=1, label="t* = sqrt(-6 h / d4)" if x < 0 else None)
        cx.set(xlabel="t (step along the negative eigenvector u)", ylabel="loss f(theta + t u) - f(theta)",
               title=f"(c) along a negative eigenvector (h = {dw.eigenvalue:.3g})")
        cx.legend(fontsize=7)
        well_text = (f" (c) Along the most negative eigenvector with a quartic well (h = {dw.eigenvalue:.3g}, "
                     f"d4 = {dw.fourth_derivative:.3g}), on the derived window [-2 t*, 2 t*] with t* = "
                     f"{dw.t_star:.3g}: {int(np.sum(dw.wells >= 2))} of {len(dw.wells)} batches and "
                     f"{'the' if dw.full_wells >= 2 else 'not the'} full-data loss have two minima.")
    else:
        cx.text(0.5, 0.5, f"no negative eigenvalue with a quartic well (d4 > 0)\namong the "
                f"{min(NEGATIVE_DIRECTIONS, c.bottom_vectors.shape[1])} most negative at step {step}", ha="center", va="center",
                transform=cx.transAxes)
        cx.set_axis_off()
        well_text = " (c) No negative-curvature direction with a quartic well at this checkpoint."
    fig.suptitle(f"Per-batch losses along Hessian eigenvectors at step {step} (lr {c.lr:.3g})", fontsize=11)
    fig.tight_layout()
    r2 = fit.r_squared
    caption = (f"{_setup_text(s)}. (a) Along the top eigenvector (h = {fit.eigenvalue:.4g}) at step {step}, the "
               f"losses of {len(rows)} of the {len(fit.minima)} batches of {s.batch_size} (seeded partition; the "
               f"batches at the 10-90 % quantiles of the fitted minima), less their value at t = 0: points, filled "
               f"on the window and hollow beyond it; lines: quadratics fitted on the {len(fit.ts)} points of the "
               f"window +-{w:.3g} = (|mean g| + 3 sd g) / h derived from the measured per-batch slopes g (mean "
               f"{fit.slope_mean:.3g}, sd {fit.slope_sd:.3g}), dotted where extrapolated; triangles: fitted minima. "
               f"Fit quality over all {r2.size} batches: R^2 median {np.median(r2):.4f}, minimum {r2.min():.4f}. "
               f"(b) The {m.size} fitted minima: mean {mean:.3g}, sd {sd:.3g}, Shapiro-Wilk p = {fit.shapiro_p:.3g} "
               f"against a normal distribution.{well_text}")
    return {"name": "nq_batch_fits", "title": "Q3: per-batch quadratic fits along the top eigenvector",
            "caption": caption, **save_figure(fig, out, "nq_batch_fits")}


#: profiles whose reports leave out the earlier set-up's figures: no claim measures that set-up's spectra any more
#: (its loss curve is trained again, without spectra, for the post-cut claims' preconditions), and drawing them
#: costs a training with four dense spectra (8 s of a core at quick, a third of the paper's quick run)
NO_MEMORISING_FIGURES = ("quick",)


def simulated_figures(profile: str, seed: int, backend: str, device: str, out: str) -> list:
    """The figures of the earlier, memorising Q3 set-up (``profile.spectrum``: training, spectra, concentration of
    the top eigenvector, per-batch fits), from a fresh run of it; none at the profiles of
    :data:`NO_MEMORISING_FIGURES`."""
    if profile in NO_MEMORISING_FIGURES:
        return []
    from .context import Context

    run = Context.make(profile, seed=seed, device=device).spectrum_run()
    out = Path(out)
    return [figure_training(run, out), figure_spectra(run, out), figure_concentration(run, out, seed),
            figure_batch_fits(run, out)]


# ---- Q3 on the cliff set-up: drawn from the verdicts of Q3-lambda-max-rise and Q3-loss-drop ----------------------

_SEED_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown")


def figure_cliff_training(verdicts: dict, out: Path) -> dict | None:
    """The talk's central figure on the cliff set-up: the full-data loss (left axis) and lambda_max (right axis, log)
    against the step for every seed, the heavy-ball threshold 2 (1 + gamma) / eta of each phase, the cuts, the
    end-of-phase windows and the checkpoints (markers on the loss curves, drawn above the cut lines)."""
    m = _measured(verdicts, "Q3-lambda-max-rise")
    if not m or "traces" not in m:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 5))
    lam_ax = ax.twinx()
    bounds = m["boundaries"]
    for cut in bounds[1:-1]:
        ax.axvline(cut, color="grey", lw=0.8, ls=":", zorder=1)
    for k, window in enumerate(m["end_windows"]):
        ax.axvspan(window[0], window[-1], color="0.9", zorder=0, label="end-of-phase windows" if k == 0 else None)
    for tr in m["traces"]:
        col = _SEED_COLOURS[tr["seed"] % len(_SEED_COLOURS)]
        step, loss = np.array(tr["step"]), np.array(tr["loss"])
        ax.plot(step, loss, "-", color=col, lw=1.2, zorder=3, label=f"loss, seed {tr['seed']}")
        lam_ax.plot(tr.get("lambda_step", step), tr["lambda_max"], "--", marker=".", ms=3, color=col, lw=1.0,
                    zorder=3)
        at = np.isin(step, m["checkpoints"])
        ax.plot(step[at], loss[at], "D", color=col, mec="black", ms=6, zorder=5,
                label="checkpoints" if tr["seed"] == 0 else None)
    phases = [p for p in m["phases"] if p["seed"] == 0]
    top = 1.3 * max(max(tr["lambda_max"]) for tr in m["traces"])
    lam_ax.set_ylim(0, top)
    for p in phases:
        lo, hi = bounds[p["phase"]], bounds[p["phase"] + 1]
        if p["threshold"] <= top:
            lam_ax.hlines(p["threshold"], lo, hi, color="tab:red", lw=1.5, zorder=2,
                          label="2 (1 + gamma) / eta" if p["phase"] == 0 else None)
        else:               # far above lambda_max (the talk's run too sits at 0.1 of it and below): said, not drawn
            lam_ax.annotate(f"2(1+gamma)/eta = {p['threshold']:.3g}\n(lambda_max at {p['lambda_max_over_threshold']:.2g} of it)",
                            xy=((lo + hi) / 2, top), xytext=(0, -4), textcoords="offset points", ha="center",
                            va="top", fontsize=7, color="tab:red")
    ax.set_yscale("log")
    lam_ax.set_ylabel("lambda_max (dashed)")
    ax.set(xlabel="step", ylabel="full-data training loss (solid; log)",
           title="Cliff set-up: loss and lambda_max through the learning-rate cuts (Q3)")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = lam_ax.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="center right")
    fig.tight_layout()
    ratios = ", ".join(f"{p['lambda_max_over_threshold']:.2g}" for p in phases)
    return {"name": "nq_cliff_training", "title": "Cliff set-up: training loss and lambda_max (the talk's figure)",
            "caption": f"Solid: full-data loss; dashed: lambda_max (Lanczos, all samples); red: the heavy-ball threshold "
                       f"of each phase (written where it lies far above the axis); diamonds: the checkpoints; grey bands: the end-of-phase windows of "
                       f"Q3-lambda-max-rise. lambda_max / threshold at the phase ends (seed 0): {ratios}.",
            **save_figure(fig, out, "nq_cliff_training")}


def figure_floor_sum(verdicts: dict, out: Path) -> dict | None:
    """Q3-loss-drop: per seed and cut, the drop the heavy-ball floors predict (over all positive directions, split
    into those that relax within the after-cut window and those that cannot) against the measured drop, and the
    floor sum with its 95 % interval against the loss (the talk's write-up statement)."""
    m = _measured(verdicts, "Q3-loss-drop")
    if not m or "cuts" not in m:
        return None
    rows = m["cuts"]
    labels = [f"seed {r['seed']}\ncut {r['cut']}" for r in rows]
    x = np.arange(len(rows))
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    fast = np.array([r["predicted_drop_relaxing"] for r in rows])
    slow = np.array([r["predicted_drop_not_relaxing"] for r in rows])
    left.bar(x - 0.2, fast, 0.4, color="tab:blue", label="predicted: directions relaxing within the window")
    left.bar(x - 0.2, slow, 0.4, bottom=fast, color="tab:cyan", label="predicted: directions that cannot relax")
    left.bar(x + 0.2, [r["measured_drop"] for r in rows], 0.4, color="black", label="measured drop")
    left.set_xticks(x, labels, fontsize=7)
    left.set(ylabel="loss drop (nats)", title="Drop at the cut: floors (all positive directions) vs measured")
    left.legend(fontsize=7)
    sums = np.array([r["floor_sum"] for r in rows])
    err = np.array([[r["floor_sum"] - r["floor_sum_interval_95"][0], r["floor_sum_interval_95"][1] - r["floor_sum"]]
                    for r in rows]).T
    right.bar(x - 0.2, sums, 0.4, yerr=err, color="tab:blue", capsize=3, label="floor sum (95 % bootstrap)")
    right.bar(x + 0.2, [r["loss"] for r in rows], 0.4, color="0.6", label="loss at the checkpoint")
    right.set_xticks(x, labels, fontsize=7)
    right.set(ylabel="nats", title="The write-up: floor sum > loss?")
    right.legend(fontsize=7)
    fig.tight_layout()
    return {"name": "nq_floor_sum", "title": "Cliff set-up: heavy-ball floors over all positive directions",
            "caption": "Left: the drop the exact heavy-ball floors predict at each cut (lambda = h / 2, sigma the spread "
                       "of the per-batch minima), split by whether a direction's variance relaxes within the "
                       "after-cut window, against the measured drop. Right: the floor sum against the loss (the "
                       "talk's write-up says it exceeds it).", **save_figure(fig, out, "nq_floor_sum")}
