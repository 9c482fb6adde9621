"""The report's figures of the early-training paper (PNG and SVG)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from theory.bridge import numeric
from theory.early_training import critical_constants as critical
from theory.early_training import uv_model as theory

from ..report.figures import pyplot, save_figure

__all__ = ["figure_uv_regimes", "figure_c_loss", "figure_phase_diagram", "figure_regime_runs", "figure_eos",
           "simulated_figures", "result_figures", "PHASE_REGIONS"]

#: steps drawn in the regimes figure (the catapult at the mid-regime c settles within about 30 at w = 4096)
REGIME_FIGURE_STEPS = 60
_COLOURS = {"monotone": "tab:blue", "catapult": "tab:orange", "divergent": "tab:red"}


def figure_uv_regimes(ctx, out: Path) -> dict:
    """Loss and lambda / lambda_0 against the step for one c in each derived regime (y = 0, the regimes' width)."""
    b_loss, b_max = (float(b) for b in theory.regime_boundaries())
    cs = {"monotone": b_loss / 2, "catapult": (b_loss + b_max) / 2, "divergent": 1.125 * b_max}
    width, seed = ctx.profile.regime_width, ctx.seeds(1)[0]
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for regime, cv in cs.items():
        traj = ctx.run(width, seed, cv, 0.0, REGIME_FIGURE_STEPS)
        steps = np.arange(len(traj.f))
        label = f"c = {cv:.3g} ({regime})"
        axes[0].semilogy(steps, np.maximum(traj.loss, 1e-300), color=_COLOURS[regime], label=label)
        axes[1].plot(steps, traj.lam / traj.lam[0], color=_COLOURS[regime], label=label)
    axes[0].axhline(1e5, color="grey", ls=":", lw=1, label="divergence rule (1e5)")
    axes[0].set(xlabel="step t", ylabel="loss (f_t)^2 / 2 (log scale)", title="(a) loss",
                ylim=(1e-30, 1e7))
    axes[1].set(xlabel="step t", ylabel="lambda_t / lambda_0", title="(b) sharpness (NTK)", yscale="log")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"uv model, w = {width}, y = 0, eta = c / lambda_0, init seed {seed}", fontsize=10)
    fig.tight_layout()
    return {"name": "uv_regimes", "title": "Figure 1: uv model, the three regimes of the learning rate",
            "caption": f"One initialisation, gradient descent on u, v at c = {cs['monotone']:.3g}, "
                       f"{cs['catapult']:.3g} and {cs['divergent']:.3g}, inside the regimes the derived boundaries "
                       f"c_loss = {b_loss:.3g} and c_max = {b_max:.3g} define (E1): the loss falls monotonically; "
                       "it rises, the sharpness falls, and the loss then falls (the catapult); loss and sharpness "
                       "grow together until the divergence rule stops the run.",
            **save_figure(fig, out, "uv_regimes")}


def figure_c_loss(verdicts: dict, out: Path) -> dict | None:
    """c_loss - 2 and the residual of the first-order prediction against delta, from E1-c-loss-finite-width."""
    verdict = verdicts.get("E1-c-loss-finite-width")
    if not verdict or not isinstance(verdict.get("measured"), dict) or "points" not in verdict["measured"]:
        return None
    points = [q for q in verdict["measured"]["points"] if q["c_loss"] is not None]
    if not points:
        return None
    delta = np.array([q["delta"] for q in points])
    excess = np.array([q["c_loss"] - 2 for q in points])
    residual = np.abs([q["residual"] for q in points])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    grid = np.geomspace(delta.min(), delta.max(), 50)
    ax.loglog(delta, np.abs(excess), "o", color="tab:blue", label="|c_loss - 2| (measured, 10 steps)")
    first_order = numeric(theory.C_LOSS_FIRST_ORDER, (theory.f0, theory.lam0, theory.w))
    ax.loglog(grid, first_order(np.sqrt(grid), 1.0, 1.0) - 2, "-", color="tab:blue", lw=1,
              label="derived first order (4 delta)")
    ax.loglog(delta, np.maximum(residual, 1e-17), "s", color="tab:orange",
              label="|c_loss - first-order prediction|")
    fit = next(iter(verdict.get("fits", {}).values()), None)
    if fit:
        ax.loglog(grid, np.exp(fit["intercept"]) * grid ** fit["slope"], "--", color="tab:orange", lw=1,
                  label=f"fit: slope {fit['slope']:.3f} [{fit['interval'][0]:.3f}, {fit['interval'][1]:.3f}]")
    ax.set(xlabel="delta = f_0^2 / (w lambda_0^2)", ylabel="excess over 2", title="Finite-width c_loss (E1)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return {"name": "uv_c_loss", "title": "Figure 2: uv model, the finite-width shift of c_loss",
            "caption": "Per seed and width (y = 0): the bisected 10-step c_loss above 2, the derived first-order "
                       "shift 4 delta, and the residual after it, whose slope in log-log should be 2 (O(1/w^2)).",
            **save_figure(fig, out, "uv_c_loss")}


#: the regions of the phase diagram, bottom to top, as the paper names them, with their colours
PHASE_REGIONS = (("monotone", "tab:blue"), ("sharpness reduction", "tab:green"), ("loss catapult", "tab:orange"),
                 ("divergence", "tab:red"))
_CONSTANT_STYLE = {"c_loss": ("o", "tab:green"), "c_sharp": ("^", "tab:purple"), "c_max": ("s", "tab:red")}


def _constant_rows(verdicts: dict) -> list:
    """Per set-up rows with c_loss, c_sharp, c_max (the E2-ordering rows, else those of the other E2 claims)."""
    by_key = {}
    for cid in ("E2-ordering", "E2-c-loss-tends-to-2", "E2-c-max"):
        verdict = verdicts.get(cid) or {}
        measured = verdict.get("measured")
        for r in measured.get("rows", []) if isinstance(measured, dict) else []:
            key = (r["depth"], r["width"], r["seed"])
            merged = by_key.setdefault(key, dict(r))
            for name in _CONSTANT_STYLE:
                if merged.get(name) is None and r.get(name) is not None:
                    merged[name] = r[name]
    return [r for r in by_key.values() if r.get("c_loss") is not None and r.get("c_max") is not None]


def _means(rows, name):
    xs = sorted({r["d_over_w"] for r in rows})
    return np.array(xs), np.array([np.exp(np.mean([np.log(r[name]) for r in rows
                                                    if r["d_over_w"] == x and r.get(name)])) for x in xs])


def figure_phase_diagram(verdicts: dict, out: Path) -> dict | None:
    """Figure 3: the measured c_loss, c_sharp, c_max against d/w (log axes), the derived c = 2 and the regions."""
    rows = _constant_rows(verdicts)
    if len({r["d_over_w"] for r in rows}) < 2:
        return None
    limit = float(numeric(critical.C_LOSS_WIDE, ())())
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    x, loss = _means(rows, "c_loss")
    _, cmax = _means(rows, "c_max")
    top = max(cmax.max(), max(r["c_max"] for r in rows)) * 2
    bottom = min(0.5, min(r["c_loss"] for r in rows) / 2)
    edges = {"monotone": (np.full_like(x, bottom), np.full_like(x, limit)),
             "sharpness reduction": (np.full_like(x, limit), np.maximum(loss, limit)),
             "loss catapult": (np.maximum(loss, limit), cmax), "divergence": (cmax, np.full_like(x, top))}
    for name, colour in PHASE_REGIONS:
        lo, hi = edges[name]
        ax.fill_between(x, lo, hi, color=colour, alpha=0.12, lw=0)
        mid = np.sqrt(lo * hi)
        k = int(np.argmax(hi / lo))
        ax.text(x[k], mid[k], name, ha="right" if k == len(x) - 1 else "left", va="center", fontsize=9,
                color=colour)
    for name, (marker, colour) in _CONSTANT_STYLE.items():
        pts = [(r["d_over_w"], r[name]) for r in rows if r.get(name) is not None]
        if not pts:
            continue
        ax.plot(*zip(*pts), marker, color=colour, ms=4, alpha=0.5, ls="none")
        xm, ym = _means(rows, name)
        ax.plot(xm, ym, "-" + marker, color=colour, lw=1.5, label=f"{name} (measured, geometric mean over seeds)")
    ax.axhline(limit, color="black", ls="--", lw=1, label=f"c = {limit:g} (derived wide limit of c_loss)")
    ax.set(xscale="log", yscale="log", ylim=(bottom, top), xlabel="d / w (depth over width)",
           ylabel="c = eta lambda^H_0", title="Phase diagram of early training (10 SGD steps, digits)")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    depths = sorted({r["depth"] for r in rows})
    widths = sorted({r["width"] for r in rows})
    seeds = len({r["seed"] for r in rows})
    return {"name": "phase_diagram", "title": "Figure 3: phase diagram of early training (E2)",
            "caption": f"The measured 10-step critical constants c_loss, c_sharp and c_max (markers: each seed; lines: "
                       f"geometric mean) of bias-free ReLU nets of depth {depths} and width {widths} ({seeds} seed(s)) "
                       "on scikit-learn's digits (not CIFAR-10), against d/w on log axes, with the derived wide "
                       f"limit c = {limit:g}.  Regions: monotone below {limit:g} (the sharpness need not fall); "
                       f"sharpness reduction between {limit:g} and c_loss (the loss does not rise although "
                       "eta > 2/lambda_0); loss catapult between c_loss and c_max; divergence above c_max.  From "
                       "the E2 claims' verdicts, no new runs.", **save_figure(fig, out, "phase_diagram")}


def _regime_cs(row: dict, limit: float) -> dict:
    """One c inside each region of the phase diagram for ``row`` (a region thinner than 2^0.2 is skipped)."""
    cs = {"monotone": limit / 2}
    if row["c_loss"] > limit * 2 ** 0.2:
        cs["sharpness reduction"] = float(np.sqrt(limit * row["c_loss"]))
    cs["loss catapult"] = float(np.sqrt(max(row["c_loss"], limit) * row["c_max"]))
    cs["divergence"] = row["c_max"] * 1.25
    return cs


def figure_regime_runs(verdicts: dict, out: Path) -> dict | None:
    """Figure 4: loss and sharpness ratio against the step, one c per region, for the set-up of largest d/w."""
    from threadpoolctl import threadpool_limits

    from ._critical import Problem, Setup

    rows = _constant_rows(verdicts)
    if not rows:
        return None
    row = max(rows, key=lambda r: (r["d_over_w"], -r["seed"]))
    setup = Setup(row["depth"], row["width"], row["seed"], data=row.get("data", "digits"),
                  dtype=row.get("dtype", "float32"), steps=row.get("steps", critical.STEPS),
                  measure_size=row.get("measure_size", 512))
    limit = float(numeric(critical.C_LOSS_WIDE, ())())
    prob = Problem(setup, notify=None)
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    colours = dict(PHASE_REGIONS)
    for region, cv in _regime_cs(row, limit).items():
        # the diverging run: its sharpness only until it first exceeds lambda_0 (Lanczos on exploding weights is
        # slow and says nothing more); its loss from the loss-only run, until the divergence rule stops it
        diverging = region == "divergence"
        label = f"c = {cv:.3g} ({region})"
        if diverging:       # the loss only: Lanczos on exploding weights is slow and says nothing more
            losses = prob.loss_runs([cv])[0].losses
        else:
            with threadpool_limits(1, user_api="blas"):
                run = prob.run(cv)
            losses, initial = run.losses, run.losses[0]
            axes[1].plot(np.arange(len(run.sharpness)), run.sharpness, "-o", ms=3, color=colours[region],
                         label=label)
        axes[0].semilogy(np.arange(len(losses)), losses, "-o", ms=3, color=colours[region], label=label)
    axes[0].axhline(initial, color="grey", ls=":", lw=1, label="initial loss")
    axes[1].axhline(1.0, color="grey", ls=":", lw=1, label="lambda_t = lambda_0")
    axes[0].set(xlabel="SGD step t", ylabel="training loss (full set, log scale)", title="(a) loss")
    axes[1].set(xlabel="SGD step t", ylabel="lambda^H_t / lambda^H_0 (measurement batch)", yscale="log",
                title="(b) sharpness")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"depth {setup.depth}, width {setup.width}, seed {setup.seed}, digits: c_loss = {row['c_loss']:.3g}, "
                 f"c_max = {row['c_max']:.3g} (measured)", fontsize=10)
    fig.tight_layout()
    return {"name": "phase_runs", "title": "Figure 4: one learning rate in each region of the phase diagram",
            "caption": f"The 10 SGD steps (batch {setup.batch_size}, eta = c / lambda^H_0) of the set-up with the "
                       f"largest d/w ({row['d_over_w']:.3g}) at one c in each region its measured constants bound; "
                       "the sharpness ratio on the fixed measurement batch (Lanczos, warm-started).  Below 2 the "
                       "loss falls; between 2 and c_loss it falls while the sharpness drops; between c_loss and "
                       "c_max the loss rises and the sharpness falls (catapult); above c_max the run diverges (its loss "
                       "drawn until the divergence rule stops it; no sharpness).  A region thinner than 2^0.2 is left out.",
            **save_figure(fig, out, "phase_runs")}


def figure_eos(verdicts: dict, out: Path) -> dict | None:
    """Figure 5: sharpness over the longer full-batch run against the derived edge of stability."""
    verdict = verdicts.get("E2-edge-of-stability") or {}
    measured = verdict.get("measured")
    rows = measured.get("rows") if isinstance(measured, dict) else None
    if not rows:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for r in rows:
        axes[0].plot(r["steps"], r["ratio"], lw=1.2, label=f"seed {r['seed']}")
        axes[1].semilogy(r["steps"], r["loss"], lw=1.2, label=f"seed {r['seed']}")
        if r["first_crossed_step"] is not None:
            axes[0].axvline(r["first_crossed_step"], color="grey", ls=":", lw=0.8)
    axes[0].axhline(1.0, color="black", ls="--", lw=1, label="derived edge 2(1+gamma)/eta, gamma = 0")
    axes[0].axhspan(1 - verdict["tolerance"]["value"], 1 + verdict["tolerance"]["value"], color="grey", alpha=0.15,
                    lw=0, label="band of the check")
    axes[0].set(xlabel="GD step", ylabel="lambda^H_t / (2/eta)", title="(a) sharpness over the threshold")
    axes[1].set(xlabel="GD step", ylabel="training loss (log scale)", title="(b) loss")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return {"name": "edge_of_stability", "title": "Figure 5: the sharpness meets the edge of stability (E2)",
            "caption": "Full-batch gradient descent on digits with the last layer zero and eta = c / lambda^H_0, "
                       "c < 2: the top Hessian eigenvalue of the full training loss (Lanczos, warm-started) divided "
                       "by the derived threshold 2(1+gamma)/eta at gamma = 0; dotted lines mark where each run first "
                       "reaches it.  From the claim's verdict, no new runs.", **save_figure(fig, out, "edge_of_stability")}


def simulated_figures(profile: str, seed: int, backend: str, device: str, out: str) -> list:
    """The figures drawn from their own runs."""
    from ._context import Context

    ctx = Context.make(profile, seed=seed, backend=backend, device=device)
    return [figure_uv_regimes(ctx, Path(out))]


def result_figures(verdicts: dict, out) -> list:
    """The figures drawn from the claims' verdicts (those that have data)."""
    figs = (figure_c_loss(verdicts, Path(out)), figure_phase_diagram(verdicts, Path(out)),
            figure_regime_runs(verdicts, Path(out)), figure_eos(verdicts, Path(out)))
    return [f for f in figs if f]
