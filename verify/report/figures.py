"""Figure helpers shared by every paper: the pyplot handle, saving (PNG and SVG, atomically), stage colours."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .._io import atomic_write

__all__ = ["STAGE_COLOURS", "pyplot", "figure_bytes", "save_figure", "loss_figure"]

STAGE_COLOURS = {"initial plateau": "#f4a6a6", "descent": "#a6c8f4", "secondary plateau": "#a6e3a6",
                 "later": "#e0e0e0"}


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (imported on first use)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_bytes(fig, ext: str, dpi: int = 110) -> bytes:
    """The figure as PNG or SVG bytes without timestamps (so that the same run gives the same file)."""
    buf = io.BytesIO()
    fig.savefig(buf, format=ext, dpi=dpi, metadata={"Date": None} if ext == "svg" else {"Software": None})
    return buf.getvalue()


def save_figure(fig, out: Path, name: str) -> dict:
    """Write ``out/name.png`` and ``out/name.svg``; close the figure; return ``{"png": "figures/...", ...}``."""
    out = Path(out)
    paths = {}
    for ext in ("png", "svg"):
        atomic_write(out / f"{name}.{ext}", figure_bytes(fig, ext))
        paths[ext] = f"figures/{name}.{ext}"
    pyplot().close(fig)
    return paths


def loss_figure(t: np.ndarray, loss: np.ndarray, stages: dict, path: str | Path, *, plateau_level=None,
                title: str = "") -> str:
    """Save the loss against time (linear axes) with the stages shaded; return the path."""
    plt = pyplot()
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
    atomic_write(path, figure_bytes(fig, "png", dpi=120))
    plt.close(fig)
    return str(path)
