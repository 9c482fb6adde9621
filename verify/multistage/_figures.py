"""The report's figures, drawn from the runs the claims made (PNG and SVG)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from theory.bridge import numeric
from theory.multistage.reduced_dynamics import K_closed
from theory.multistage.symbols import K0, t, z_norm

from ..report.figures import STAGE_COLOURS, pyplot, save_figure

TARGETS = {
    "tanh(2 x0) + x1^2/2 + 0.4 x2 - 0.3": "tanh(2*x0) + 0.5*x1**2 + 0.4*x2 - 0.3",
    "sin(x0) + x1 x2": "sin(x0) + x1*x2",
    "x0 + 0.5 x1 - 0.3 x0^3": "x0 + 0.5*x1 - 0.3*x0**3",
}


def _stages(traj):
    from ..stages import detect_stages

    return {s.name: (s.start, s.end) for s in detect_stages(traj.t, traj.loss)}


def figure_multistage(ctx, out: Path) -> dict:
    """Figure 1: loss with the stages shaded; norms of a and W; W2rel."""
    plt = pyplot()
    config = ctx.config(train={"t_max": 60.0, "seed": ctx.init_seeds(1)[0]})
    traj, obs, kernel, meas, pred = ctx.run(config, grid=601)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    stages = _stages(traj)
    for name, (lo, hi) in stages.items():
        axes[0].axvspan(lo, hi, color=STAGE_COLOURS.get(name, "#e0e0e0"), alpha=0.6, lw=0, label=name)
    axes[0].plot(traj.t, traj.loss, "k", lw=1.5)
    axes[0].axhline(pred["plateau_loss"], color="tab:green", ls="--", lw=1, label="R* (predicted)")
    axes[0].set(xlabel="t", ylabel="loss", title="(a) loss and its stages")
    axes[0].legend(fontsize=7)
    axes[1].semilogy(traj.t, obs["norm_a"], label="|a|")
    axes[1].semilogy(traj.t, obs["norm_W"], label="|W|_F")
    axes[1].set(xlabel="t", title="(b) norms of the weights")
    axes[1].legend(fontsize=8)
    axes[2].semilogy(traj.t, obs["W2rel"], color="tab:purple")
    axes[2].set(xlabel="t", title="(c) W2rel(|a|, |w|)")
    fig.suptitle(f"tanh, m = {config.model.width}, alpha = {config.model.alpha}, gradient flow", fontsize=10)
    fig.tight_layout()
    return {"name": "figure1", "title": "Figure 1: the three stages, the weight norms and W2rel",
            "caption": "Loss with the stages found by verify.stages (red: initial plateau, blue: descent, green: "
                       "secondary plateau), the norms of a and W, and the relative Wasserstein distance between "
                       "the amplitude distributions of |a_k| and |w_k|.", **save_figure(fig, out, "figure1")}


def figure_descent_time(verdicts: dict, out: Path) -> dict | None:
    """Figure 2: T_d against alpha and against m, simulated points and predicted lines."""
    va, vm = verdicts.get("D9-slope-alpha"), verdicts.get("D9-slope-log-m")
    if va is None or vm is None or not va.get("fits") or not vm.get("fits"):
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, v, key, xlab, logx in ((axes[0], va, "alphas", "alpha", False), (axes[1], vm, "widths", "m", True)):
        x = v["measured"][key]
        fit = next(iter(v["fits"].values()))
        ax.plot(x, v["measured"]["mean_T_d"], "o", label="simulated (mean over seeds)")
        ax.plot(x, fit["predicted_points"], "-", label="predicted E T_d (D9)")
        if logx:
            ax.set_xscale("log")
        ax.set(xlabel=xlab, ylabel="T_d", title=f"T_d against {xlab}: slope {fit['slope']:.3g} "
                                                   f"(predicted {fit['predicted']:.3g})")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return {"name": "figure2", "title": "Figure 2: descent time against alpha and against m",
            "caption": "Mean simulated T_d (K reaches 1 - delta) and the predicted expectation over the "
                       "initialisation (digamma form of D9).", **save_figure(fig, out, "figure2")}


def figure_targets(ctx, out: Path) -> dict:
    """Figure 3: ratio of the weight norms and W2rel for several targets."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for label, expr in TARGETS.items():
        config = ctx.config(target={"expr": expr}, train={"t_max": 30.0, "seed": ctx.init_seeds(1)[0]})
        traj, obs, kernel, meas, pred = ctx.run(config, grid=301)
        axes[0].plot(traj.t, obs["norm_ratio"], label=label)
        axes[1].semilogy(traj.t, obs["W2rel"], label=label)
    axes[0].set(xlabel="t", ylabel="|a| / |W|_F", title="(a) ratio of the weight norms")
    axes[1].set(xlabel="t", ylabel="W2rel", title="(b) W2rel")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return {"name": "figure3", "title": "Figure 3: weight-norm ratio and W2rel for several targets",
            "caption": "The same network and initialisation trained on three targets.", **save_figure(fig, out, "figure3")}


def figure_logistic(ctx, out: Path) -> dict:
    """K(t) against the logistic prediction of D8."""
    plt = pyplot()
    config = ctx.config(train={"seed": ctx.init_seeds(1)[0]})
    traj, obs, kernel, meas, pred = ctx.run(config)
    logistic = numeric(K_closed, (t, K0, z_norm))(traj.t, pred["K0"], pred["z_norm"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].plot(traj.t, obs["K"], "k", lw=2, label="simulated K(t)")
    axes[0].plot(traj.t, logistic, "--", color="tab:orange", label="logistic law (D8)")
    axes[0].set(xlabel="t", ylabel="K", title="K(t)")
    axes[0].legend(fontsize=8)
    axes[1].semilogy(traj.t, np.abs(obs["K"] - logistic) + 1e-16)
    axes[1].set(xlabel="t", ylabel="|K - logistic|", title="deviation")
    fig.tight_layout()
    return {"name": "logistic", "title": "K(t) against the logistic prediction",
            "caption": "K = beta . z / z^T Sigma^-1 z from the simulation and K0 e^{2|z|t}/(1 - K0 + K0 e^{2|z|t}) "
                       "with the per-seed K0.", **save_figure(fig, out, "logistic")}


def figure_linear_deviation(ctx, out: Path) -> dict:
    """The linearized-flow deviation against its Gronwall bound eps t e^{eps t}, eps = C_1 (m + 1) q_max^2."""
    plt = pyplot()
    config = ctx.config(train={"seed": ctx.init_seeds(1)[0]})
    traj, obs, kernel, meas, pred = ctx.run(config)
    m = config.model.width
    T = meas["t_half"] or traj.t[-1]
    sel = (traj.t > 0) & (traj.t <= T)
    q = np.maximum.accumulate(obs["q_max"])[sel]
    eps = pred["C_1"] * (m + 1) * q**2
    tt = traj.t[sel]
    # |q - q_lin| <= int_0^t e^{|z|(t-s)} eps |q(s)| ds, and |q(s)| <= e^{(|z|+eps)s} q_max(0) (D5)
    q0_norm = np.linalg.norm(np.column_stack(traj.split(traj.theta[0])))
    bound = eps * tt * np.exp(eps * tt) * q0_norm * np.exp(pred["z_norm"] * tt) / _lin_norm(traj, config, tt)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.semilogy(tt, obs["linear_deviation"][sel], "k", label="measured |Q - Q_lin| / |Q_lin|")
    ax.semilogy(tt, bound, "--", color="tab:red", label="bound eps t e^{eps t} |Q(0)| e^{|z|t} / |Q_lin|")
    ax.set(xlabel="t", title="deviation from the linearized flow (D3-D5)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return {"name": "linear_deviation", "title": "Linearized-flow deviation against its bound",
            "caption": "Relative distance between the simulated neurons and exp(tA) q(0), and the Gronwall bound "
                       "built from D3's C_1 with eps = C_1 (m + 1) q_max^2.", **save_figure(fig, out, "linear_deviation")}


def _lin_norm(traj, config, times):
    from theory.multistage import linearized_flow

    a0, W0 = traj.split(traj.theta[0])
    Q0 = np.column_stack([a0, W0])
    return np.array([np.linalg.norm(Q0 @ linearized_flow.expm_closed_form(float(s), config.dataset.z).T)
                     for s in times])


__all__ = ["figure_multistage", "figure_descent_time", "figure_targets", "figure_logistic",
           "figure_linear_deviation"]


def simulated_figures(profile: str, seed: int, backend: str, device: str, out: str) -> list:
    """The figures drawn from their own runs (a job of its own when the runner has workers)."""
    from ._context import Context

    ctx = Context.make(profile, seed=seed, backend=backend, device=device)
    out = Path(out)
    return [figure_multistage(ctx, out), figure_logistic(ctx, out), figure_linear_deviation(ctx, out),
            figure_targets(ctx, out)]
