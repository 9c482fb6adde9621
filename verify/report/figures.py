"""Figure helpers shared by every paper: the pyplot handle, saving (PNG and SVG, atomically), stage colours."""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import numpy as np

from .._io import atomic_write

__all__ = ["STAGE_COLOURS", "stage_colours", "pyplot", "figure_bytes", "save_figure", "loss_figure"]

STAGE_COLOURS = {"initial plateau": "#f4a6a6", "descent": "#a6c8f4", "secondary plateau": "#a6e3a6",
                 "later": "#e0e0e0"}
# later stages ("descent 2", "plateau 3", ...) take the colours of matplotlib's qualitative maps Pastel1, Pastel2,
# Set3 and tab20 in turn, each clearly apart from those before it
_QUALITATIVE = ("Pastel1", "Pastel2", "Set3", "tab20")


@lru_cache(maxsize=1)
def _later_colours() -> tuple[str, ...]:
    import matplotlib
    from matplotlib.colors import to_hex, to_rgb

    taken = [np.array(to_rgb(c)) for c in STAGE_COLOURS.values()]
    out = []
    for name in _QUALITATIVE:
        for rgba in matplotlib.colormaps[name].colors:
            rgb = np.array(rgba[:3])
            # skip a colour hard to tell from one already taken (RGB distance under 0.15)
            if min(float(np.linalg.norm(rgb - c)) for c in taken) >= 0.15:
                taken.append(rgb)
                out.append(to_hex(rgb))
    return tuple(out)


def stage_colours(names) -> dict:
    """A distinct colour for every stage name, deterministic: the named stages keep ``STAGE_COLOURS``; the others,
    in the order given, take the qualitative colours of ``_QUALITATIVE`` in turn (then cycle)."""
    out, k, later = {}, 0, None
    for name in names:
        if name in out:
            continue
        if name in STAGE_COLOURS and name != "later":
            out[name] = STAGE_COLOURS[name]
        else:
            later = later or _later_colours()
            out[name] = later[k % len(later)]
            k += 1
    return out


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
                title: str = "", marks: dict | None = None) -> str:
    """Save the loss against time (linear axes) with the stages shaded, each in its own colour
    (:func:`stage_colours`), and each ``marks`` entry ``{label: time}`` (e.g. predicted ``T_p``, ``T_d``) drawn as a
    vertical line (entries whose time is None are skipped); return the path."""
    from matplotlib.figure import Figure   # no pyplot: a figure for a file needs no GUI state (and saves 0.3-0.8 s)

    fig = Figure(figsize=(7, 4), dpi=120)
    ax = fig.subplots()
    colours = stage_colours(stages)
    for name, (lo, hi) in stages.items():
        ax.axvspan(lo, hi, color=colours[name], alpha=0.6, lw=0, label=name)
    ax.plot(t, loss, color="black", lw=1.5, label="loss")
    styles = ("--", ":", "-.")
    for k, (label, when) in enumerate((marks or {}).items()):
        if when is not None:
            ax.axvline(when, color="tab:purple", ls=styles[k % len(styles)], lw=1.2, label=label)
    if plateau_level is not None:
        ax.axhline(plateau_level, color="tab:green", ls="--", lw=1, label="R* (predicted)")
    ax.set_xlabel("t")
    ax.set_ylabel("loss R(t)")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    atomic_write(path, figure_bytes(fig, "png", dpi=120))
    return str(path)
