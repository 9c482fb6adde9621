"""The report's figures of the early-training paper (PNG and SVG)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from theory.bridge import numeric
from theory.early_training import uv_model as theory

from ..report.figures import pyplot, save_figure

__all__ = ["figure_uv_regimes", "figure_c_loss", "simulated_figures", "result_figures"]

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
    return {"name": "uv_regimes", "title": "uv model: the three regimes of the learning rate",
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
    return {"name": "uv_c_loss", "title": "uv model: the finite-width shift of c_loss",
            "caption": "Per seed and width (y = 0): the bisected 10-step c_loss above 2, the derived first-order "
                       "shift 4 delta, and the residual after it, whose slope in log-log should be 2 (O(1/w^2)).",
            **save_figure(fig, out, "uv_c_loss")}


def simulated_figures(profile: str, seed: int, backend: str, device: str, out: str) -> list:
    """The figures drawn from their own runs."""
    from ._context import Context

    ctx = Context.make(profile, seed=seed, backend=backend, device=device)
    return [figure_uv_regimes(ctx, Path(out))]


def result_figures(verdicts: dict, out) -> list:
    """The figures drawn from the claims' verdicts (those that have data)."""
    figs = (figure_c_loss(verdicts, Path(out)),)
    return [f for f in figs if f]
