"""Figure helpers shared by every paper: the pyplot handle, saving (PNG and SVG, atomically), stage colours, and
the figure of a claim that did not pass, drawn from its verdict alone (:func:`verdict_figure`)."""
from __future__ import annotations

import io
import math
import re
import sys
import textwrap
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..output import atomic_write

__all__ = ["STAGE_COLOURS", "stage_colours", "pyplot", "figure_bytes", "font_cache_problem", "save_figure",
           "loss_figure", "VERDICT_FIGURE_STATUSES", "draw_verdict", "verdict_figure", "verdict_figures",
           "verdict_figure_input"]

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


def font_cache_problem() -> str | None:
    """One line when Matplotlib's font cache lists none of Matplotlib's own fonts, else None.

    A cache written by another Matplotlib installation of the same cache version (one without its bundled fonts,
    as a distribution's package is) is read as it is: every figure's mathematics then falls back to other fonts
    (a ``findfont`` warning per family) and its files differ from those drawn elsewhere.  Matplotlib rebuilds a
    deleted cache on its next import."""
    import matplotlib
    from matplotlib import font_manager

    own = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    if not (own / "STIXGeneral.ttf").is_file():        # this installation has no fonts of its own to miss
        return None
    if any(Path(f.fname).parent == own for f in font_manager.fontManager.ttflist):
        return None
    cache = Path(matplotlib.get_cachedir()) / f"fontlist-v{font_manager.FontManager.__version__}.json"
    return (f"note: Matplotlib's font cache {cache} lists none of Matplotlib's own fonts (written by another "
            f"Matplotlib installation?): figures fall back to other fonts and differ from other machines'; delete "
            f"it and Matplotlib rebuilds it: rm {cache}")


@lru_cache(maxsize=1)
def _say_font_cache_problem() -> None:
    problem = font_cache_problem()
    if problem is not None:
        print(problem, file=sys.stderr)


def figure_bytes(fig, ext: str, dpi: int = 110) -> bytes:
    """The figure as PNG or SVG bytes without timestamps, and SVG element ids from a fixed salt instead of a
    random one (so that the same run gives the same file)."""
    import matplotlib

    _say_font_cache_problem()       # once per process
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "dynamics-verifier"}):
        fig.savefig(buf, format=ext, dpi=dpi, metadata={"Date": None} if ext == "svg" else {"Software": None})
    return buf.getvalue()


def write_figure(fig, out: Path, name: str) -> dict:
    """Write ``out/name.png`` and ``out/name.svg``; return ``{"png": "figures/name.png", "svg": ...}``."""
    paths = {}
    for ext in ("png", "svg"):
        atomic_write(Path(out) / f"{name}.{ext}", figure_bytes(fig, ext))
        paths[ext] = f"figures/{name}.{ext}"
    return paths


def save_figure(fig, out: Path, name: str) -> dict:
    """:func:`write_figure`, then close the (pyplot) figure."""
    paths = write_figure(fig, out, name)
    pyplot().close(fig)
    return paths


def loss_figure(t: np.ndarray, loss: np.ndarray, stages: dict, path: str | Path, *, plateau_level=None,
                title: str = "", marks: dict | None = None, xlabel: str = "t", ylabel: str = "loss R(t)",
                level_label: str = "plateau level (predicted)") -> str:
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
        ax.axhline(plateau_level, color="tab:green", ls="--", lw=1, label=level_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    atomic_write(path, figure_bytes(fig, "png", dpi=120))
    return str(path)


# ---- the figure of a claim that did not pass, drawn from its verdict alone --------------------------------------

#: the statuses that get a verdict figure
VERDICT_FIGURE_STATUSES = ("failed", "inconclusive")
_MAX_FITS = 8            # fits drawn in a verdict figure (the others are named in the caption)
_LOG_SPAN = 1e3          # positive values spanning more than this factor are drawn on a log axis
#: magnitudes beyond which a value is named instead of drawn (axis limits and ticks overflow near 1e308), and
#: the range of a log axis (matplotlib's log tick labels overflow on spans of hundreds of decades)
_DRAWABLE, _LOG_FLOOR, _LOG_CEIL = 1e300, 1e-100, 1e100
_COLOURS = {"measured": "black", "predicted": "tab:blue", "band": "tab:green", "over": "tab:red"}


def _finite(x) -> float | None:
    """``x`` as a float when it is a finite real number (not a bool) that can be drawn (``|x| <= 1e300``),
    else None."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    try:
        x = float(x)
    except OverflowError:           # an integer beyond the floats
        return None
    return x if math.isfinite(x) and abs(x) <= _DRAWABLE else None


def _show(x, digits: int = 4) -> str:
    """A number for a caption: ``digits`` significant digits; None as "not recorded"; NaN and infinities by name."""
    if x is None:
        return "not recorded"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return repr(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return format(float(x), f".{digits}g")


def _pair(value) -> tuple | None:
    """``[lo, hi]`` as a pair of finite floats or None ends; None when ``value`` is no such pair."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    lo, hi = value
    if any(v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))) for v in (lo, hi)):
        return None
    if any(v is not None and isinstance(v, float) and math.isnan(v) for v in (lo, hi)):
        return None
    # an infinite end (or one too large to draw) is an open end
    return tuple(None if v is None or _finite(v) is None else float(v) for v in (lo, hi))


def _show_pair(pair) -> str:
    lo, hi = pair
    return f"[{'-inf' if lo is None else _show(lo)}, {'inf' if hi is None else _show(hi)}]"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "claim"


def _wrap(text: str, width: int = 70) -> str:
    """``text`` on lines of at most ``width`` characters, its dollar signs escaped (matplotlib would read the text
    between two of them as mathematics)."""
    return "\n".join(textwrap.wrap(" ".join(str(text).split()), width)).replace("$", r"\$") or " "


def _limits(values: list[float], log: bool) -> tuple[float, float]:
    """Axis limits around ``values`` (finite) with a margin; a single value gets a band of its own, none [0, 1]."""
    if not values:
        return 0.0, 1.0
    lo, hi = min(values), max(values)
    if log:
        return lo / 3, hi * 3
    pad = (hi - lo) * 0.12 if hi > lo else max(abs(lo) * 0.1, 1.0)
    return lo - pad, hi + pad


def _use_log(values: list[float]) -> bool:
    return bool(values) and min(values) > _LOG_FLOOR and max(values) < _LOG_CEIL \
        and max(values) / min(values) > _LOG_SPAN


def _draw_band(ax, band, lim, y0, y1, label):
    """Shade ``band`` (open ends run to the axis limits) between heights ``y0`` and ``y1``; a band of zero width
    is drawn as a thick line."""
    lo = lim[0] if band[0] is None else band[0]
    hi = lim[1] if band[1] is None else band[1]
    if hi < lo:
        return
    if hi == lo:
        ax.plot([lo, lo], [y0, y1], color=_COLOURS["band"], lw=3, alpha=0.7, label=label)
    else:
        ax.fill_betweenx([y0, y1], lo, hi, color=_COLOURS["band"], alpha=0.25, lw=0, label=label)


def _legend(ax) -> None:
    """The legend beside the panel (never over the data); a linear axis without an offset (1.9996, not
    +1.999 and 0.0006)."""
    if ax.get_xscale() == "linear":
        ax.ticklabel_format(axis="x", useOffset=False)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def _off_axis_notes(ax, notes: list[str]) -> None:
    if notes:
        ax.text(0.99, 0.97, _wrap("; ".join(notes), 60), transform=ax.transAxes, ha="right", va="top", fontsize=7,
                color=_COLOURS["over"], bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})


def _key_panel(ax, key: dict) -> None:
    """The key quantity on a number line: measured (with its interval) and predicted, over the tolerance band."""
    measured, predicted = key.get("measured"), key.get("predicted")
    interval, band = _pair(key.get("interval")), _pair(key.get("band"))
    m, p = _finite(measured), _finite(predicted)
    values = [v for v in (m, p) if v is not None]
    values += [v for pair in (interval, band) if pair for v in pair if v is not None]
    log = _use_log(values)
    if log:
        values = [v for v in values if v > 0]
    lim = _limits(values, log)
    notes = []
    if band is not None:
        _draw_band(ax, band, lim, -0.5, 1.5, f"tolerance band {_show_pair(band)}")
    if p is not None:
        ax.plot([p], [0], "D", color=_COLOURS["predicted"], ms=7, label=f"predicted {_show(p, 6)}")
    elif predicted is not None:
        notes.append(f"predicted is {_show(predicted)} (not drawn)")
    if m is not None:
        if interval is not None:
            lo = lim[0] if interval[0] is None else interval[0]
            hi = lim[1] if interval[1] is None else interval[1]
            ax.plot([lo, hi], [1, 1], "-", color=_COLOURS["measured"], lw=1.5,
                    label=f"interval {_show_pair(interval)}")
            ax.plot([lo, hi], [1, 1], "|", color=_COLOURS["measured"], ms=10)
        ax.plot([m], [1], "o", color=_COLOURS["measured"], ms=7, label=f"measured {_show(m, 6)}")
    else:
        notes.append(f"measured is {_show(measured)} (not drawn)")
    if log:
        ax.set_xscale("log")
    ax.set_xlim(*lim)
    ax.set_ylim(-0.8, 1.8)
    rows = ([0] if p is not None or predicted is not None else []) + [1]
    ax.set_yticks(rows, ["predicted", "measured"][-len(rows):])
    ax.set_xlabel(_wrap(key.get("quantity") or "").strip() or "key quantity (unnamed)")
    ax.set_ylabel("key quantity")
    _off_axis_notes(ax, notes)
    _legend(ax)


def _fit_rows(fits: dict) -> list[tuple[str, dict]]:
    return [(name, fit) for name, fit in fits.items()
            if isinstance(fit, dict) and (_finite(fit.get("slope")) is not None or _pair(fit.get("interval")))]


def _fits_panel(ax, rows: list[tuple[str, dict]]) -> None:
    """Each fitted slope with its interval, over its band, beside its predicted value (one row per fit)."""
    values = []
    for _, fit in rows:
        for key in ("slope", "predicted"):
            if _finite(fit.get(key)) is not None:
                values.append(float(fit[key]))
        for key in ("interval", "band"):
            pair = _pair(fit.get(key))
            values += [v for v in pair if v is not None] if pair else []
    lim = _limits(values, False)
    notes, labelled = [], set()

    def once(label):
        if label in labelled:
            return None
        labelled.add(label)
        return label

    for y, (name, fit) in enumerate(rows):
        band = _pair(fit.get("band"))
        if band is not None:
            _draw_band(ax, band, lim, y - 0.35, y + 0.35, once("band"))
        interval = _pair(fit.get("interval"))
        if interval is not None:
            lo = lim[0] if interval[0] is None else interval[0]
            hi = lim[1] if interval[1] is None else interval[1]
            ax.plot([lo, hi], [y, y], "-", color=_COLOURS["measured"], lw=1.5, label=once("95 % interval"))
            ax.plot([lo, hi], [y, y], "|", color=_COLOURS["measured"], ms=9)
        slope = _finite(fit.get("slope"))
        if slope is not None:
            ax.plot([slope], [y], "o", color=_COLOURS["measured"], ms=6, label=once("fitted slope"))
        else:
            notes.append(f"{name}: slope {_show(fit.get('slope'))}")
        predicted = _finite(fit.get("predicted"))
        if predicted is not None:
            ax.plot([predicted], [y], "D", color=_COLOURS["predicted"], ms=6, label=once("predicted"))
    ax.set_xlim(*lim)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_yticks(range(len(rows)), [_wrap(name, 32) for name, _ in rows], fontsize=7)
    ax.set_xlabel("fitted slope (95 % interval) against its band and predicted value")
    ax.set_ylabel("fit")
    _off_axis_notes(ax, notes)
    _legend(ax)


def _margin_panel(ax, margin, tolerance: dict | None) -> None:
    """The used fraction of the tolerance as a bar against 1, the most a passing claim uses (log axis when the
    two are more than a factor 10 apart; an infinite margin runs to the axis' end)."""
    value = _finite(margin)
    notes = []
    if value is not None and value > _LOG_CEIL:          # drawn at the end of the axis, and named
        notes.append(f"margin {_show(value)} runs off the axis")
        value = _LOG_CEIL
    elif value is not None and 0 < value < _LOG_FLOOR:
        value = _LOG_FLOOR
    infinite = _finite(margin) is None and isinstance(margin, (int, float)) and not isinstance(margin, bool) \
        and margin == math.inf
    log = value is not None and value > 0 and max(value, 1.0) / min(value, 1.0) > 10
    if log:
        lim = (min(value, 1.0) / 3, max(value, 1.0) * 3)
    else:
        lim = (min(0.0, 1.2 * (value or 0.0)), max(2.0, 1.2 * (value or 0.0)))
    end = value if value is not None else lim[1] if infinite else None
    if end is not None:
        base = lim[0] if log else 0.0
        colour = _COLOURS["band"] if value is not None and value < 1 else _COLOURS["over"]
        ax.barh([0], [end - base], left=base, height=0.5, color=colour, alpha=0.7,
                label=_wrap(f"margin {_show(margin, 3)}"))
    else:
        notes.append(f"margin is {_show(margin)} (not drawn)")
    _off_axis_notes(ax, notes)
    ax.axvline(1.0, color="black", ls="--", lw=1, label="1: the most a passing claim uses")
    if log:
        ax.set_xscale("log")
    ax.set_xlim(*lim)
    ax.set_ylim(-0.6, 0.6)
    tol = "tolerance" if not tolerance else f"{tolerance.get('name')} = {_show(tolerance.get('value'))}"
    ax.set_yticks([0], [_wrap(tol, 24)], fontsize=7)
    ax.set_xlabel("margin: the used fraction of the tolerance (below 1 passes)")
    ax.set_ylabel("tolerance")
    _legend(ax)


def _nothing_panel(ax, claim: dict) -> None:
    why = (claim.get("key") or {}).get("why") or (claim.get("details") or {}).get("error") or ""
    ax.text(0.5, 0.5, _wrap("No finite key number, fit or margin was recorded for this claim, so there is "
                            "nothing to plot. " + str(why), 80),
            transform=ax.transAxes, ha="center", va="center", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("key quantity (not recorded)")
    ax.set_ylabel("key quantity")


def _verdict_caption(claim: dict, rows: list, skipped: int) -> str:
    key, tol = claim.get("key") or {}, claim.get("tolerance")
    parts = [f"{claim.get('claim')} ({claim.get('status')})."]
    why = key.get("why") or (claim.get("details") or {}).get("error")
    if why:
        why = " ".join(str(why).split()).rstrip(".")
        parts.append(why[:1].upper() + why[1:] + ".")
    if key:
        text = f"Key quantity, {' '.join(str(key.get('quantity')).split())}: measured {_show(key.get('measured'))}"
        if _pair(key.get("interval")):
            text += f" (interval {_show_pair(_pair(key['interval']))})"
        text += f", predicted {_show(key.get('predicted'))}"
        if _pair(key.get("band")):
            text += f", tolerance band {_show_pair(_pair(key['band']))}"
        if isinstance(key.get("counts"), dict):
            from .sections import counts_text

            try:
                measured, predicted = counts_text(key["counts"])
                text += f" ({measured}; predicted {predicted})"
            except (KeyError, TypeError, ValueError):     # a count the report holds oddly: the numbers suffice
                pass
        parts.append(text + f"; margin {_show(key.get('margin'))} (below 1 passes, above 1 does not).")
    if tol:
        parts.append(f"Tolerance {tol.get('name')} = {_show(tol.get('value'))} (justified in the claim's section).")
    for name, fit in rows:
        parts.append(f"Fit {name}: slope {_show(fit.get('slope'))}"
                     + (f", interval {_show_pair(_pair(fit['interval']))}" if _pair(fit.get("interval")) else "")
                     + (f", band {_show_pair(_pair(fit['band']))}" if _pair(fit.get("band")) else "")
                     + (f", predicted {_show(fit.get('predicted'))}" if fit.get("predicted") is not None else "")
                     + ".")
    if skipped:
        parts.append(f"{skipped} further fit{'s' if skipped > 1 else ''} in the claim's section.")
    if not key:
        parts.append("The claim records no key number.")
    elif not _pair(key.get("band")):
        parts.append("The key records no tolerance band; the margin panel shows how much of the tolerance is used.")
    return " ".join(parts)


def _as_verdict_dict(claim) -> dict:
    return claim.as_dict() if hasattr(claim, "as_dict") else claim


def _fit_rows_shown(claim: dict) -> tuple[list, int]:
    fits = claim.get("fits") if isinstance(claim.get("fits"), dict) else {}
    rows = _fit_rows(fits)
    return rows[:_MAX_FITS], max(0, len(rows) - _MAX_FITS)


def draw_verdict(claim):
    """The matplotlib figure of :func:`verdict_figure` (not saved), or None for a claim that passed or does not
    apply.  ``claim``: a verdict as the report's JSON holds it, or a :class:`verify.registry.Verdict`."""
    from matplotlib.figure import Figure   # no pyplot: a figure for a file needs no GUI state

    claim = _as_verdict_dict(claim)
    if claim.get("status") not in VERDICT_FIGURE_STATUSES:
        return None
    key = claim.get("key") if isinstance(claim.get("key"), dict) else {}
    rows, _ = _fit_rows_shown(claim)
    has_key = any(_finite(key.get(k)) is not None for k in ("measured", "predicted")) or _pair(key.get("band"))
    has_margin = key.get("margin") is not None
    panels = ([("key", 1.6)] if has_key else []) + ([("fits", 0.9 + 0.45 * len(rows))] if rows else []) \
        + ([("margin", 1.2)] if has_margin else [])
    panels = panels or [("nothing", 1.6)]
    fig = Figure(figsize=(9.5, 1.0 + sum(h for _, h in panels)), dpi=110)
    axes = fig.subplots(len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": [h for _, h in panels]})
    for (kind, _), ax in zip(panels, axes[:, 0]):
        if kind == "key":
            _key_panel(ax, key)
        elif kind == "fits":
            _fits_panel(ax, rows)
        elif kind == "margin":
            _margin_panel(ax, key.get("margin"), claim.get("tolerance"))
        else:
            _nothing_panel(ax, claim)
    fig.suptitle(_wrap(f"{claim.get('claim')} ({claim.get('status')}): measured against predicted", 90),
                 fontsize=10)
    fig.tight_layout()
    return fig


def verdict_figure(claim, out, name: str | None = None) -> dict | None:
    """The figure of a claim that did not pass (``failed`` or ``inconclusive``), drawn from its verdict alone.

    Up to three panels, those the verdict has numbers for: the key quantity on a number line (measured with
    its interval, predicted, the tolerance band: ``key["interval"]`` and ``key["band"]`` of
    :func:`verify.registry.key_number`), each fitted slope with its interval against its band and prediction
    (at most 8 fits), and the margin (the used fraction of the tolerance) against 1.  A verdict without any
    finite number (a check that raised, say) gets one panel that says so.  None, NaN and infinite values are
    named on the panel instead of drawn.  Writes ``out/<name>.png`` and ``.svg`` (``name`` default
    ``verdict-<claim id>``) and returns the report's figure entry, with ``"claim"`` naming the claim (the
    report shows the figure in that claim's section); None for a claim that passed or does not apply.
    """
    claim = _as_verdict_dict(claim)
    fig = draw_verdict(claim)
    if fig is None:
        return None
    cid = str(claim.get("claim") or "claim")
    name = name or f"verdict-{_slug(cid)}"
    paths = write_figure(fig, out, name)       # a plain Figure (no pyplot): nothing to close
    rows, skipped = _fit_rows_shown(claim)
    title = f"{cid}: the {claim.get('status')} verdict, measured against predicted"
    return {"name": name, "title": title, "caption": _verdict_caption(claim, rows, skipped), "claim": cid,
            **paths}


def verdict_figure_input(claim) -> dict:
    """The parts of a verdict that :func:`verdict_figure` reads (what a cache of its figures is keyed by)."""
    claim = _as_verdict_dict(claim)
    details = claim.get("details") if isinstance(claim.get("details"), dict) else {}
    return {"claim": claim.get("claim"), "status": str(claim.get("status")), "key": claim.get("key"),
            "tolerance": claim.get("tolerance"), "fits": claim.get("fits"), "details": {"error": details.get("error")}}


def verdict_figures(claims, out) -> list[dict]:
    """:func:`verdict_figure` of every claim in ``claims`` (a list of verdict dicts) that did not pass, with
    distinct names; in the order of the claims."""
    figs, used = [], set()
    for claim in map(_as_verdict_dict, claims):
        if claim.get("status") not in VERDICT_FIGURE_STATUSES:
            continue
        base = f"verdict-{_slug(str(claim.get('claim') or 'claim'))}"
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}-{n}"
        used.add(name)
        figs.append(verdict_figure(claim, out, name))
    return figs
