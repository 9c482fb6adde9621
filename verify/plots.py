"""Figures: the loss curve with its stages shaded (more come with the reports)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

STAGE_COLOURS = {"initial plateau": "#f4a6a6", "descent": "#a6c8f4", "secondary plateau": "#a6e3a6",
                 "later": "#e0e0e0"}


def loss_figure(t: np.ndarray, loss: np.ndarray, stages: dict, path: str | Path, *, plateau_level=None,
                title: str = "") -> str:
    """Save the loss against time (linear axes) with the stages shaded; return the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for name, (lo, hi) in stages.items():
        ax.axvspan(lo, hi, color=STAGE_COLOURS.get(name, "#eeeeee"), alpha=0.6, lw=0, label=name)
    ax.plot(t, loss, color="black", lw=1.5, label="loss")
    if plateau_level is not None:
        ax.axhline(plateau_level, color="tab:green", ls="--", lw=1, label="R* (predicted)")
    ax.set_xlabel("t")
    ax.set_ylabel("loss R(t)")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return str(path)
