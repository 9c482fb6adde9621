"""``python -m verify stages FILE``: the subcommand's parser and its command."""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from theory.errors import InputError

from .params import _PELT_PENALTY

__all__ = ["add_parser", "cmd_stages"]


def add_parser(subparsers):
    """Add the ``stages`` subcommand to ``subparsers`` (from ``ArgumentParser.add_subparsers``); return it."""
    p = subparsers.add_parser("stages", help="split a loss curve (CSV) into plateaus and descents",
                              description="Split a loss curve into plateaus and descents. A descent starts (ends) "
                                          "where the descent rate -d log(loss)/dt (smoothed, corrected for the "
                                          "smoothing) falls to 10 percent of its peak rate; plateaus are the gaps. "
                                          "It needs a CSV file with a header row, a loss column above zero and an "
                                          "increasing time column (or 'step': the row index); fewer than 5 "
                                          "points are one stage. Specification: docs/stages.md.")
    p.add_argument("file", metavar="FILE", help="CSV file with a header row (e.g. trajectory.csv from simulate)")
    p.add_argument("--column", default="loss", help="loss column (default loss)")
    p.add_argument("--time", default="t",
                   help="time column (default t); 'step' means the row index when there is no such column")
    p.add_argument("--out", help="directory for <stem>_stages.png (default: no plot is written)")
    p.add_argument("--smooth", default=None, metavar="S",
                   help="one Gaussian smoothing scale in time units for everything (default: chosen from the noise)")
    p.add_argument("--penalty", default=None, metavar="C",
                   help=f"PELT penalty per change point in units of sigma^2 log(n) (default {_PELT_PENALTY:g}; "
                        "larger finds fewer descents)")
    p.add_argument("--log", action=argparse.BooleanOptionalAction, default=True,
                   help="segment log(loss) (default); --no-log segments the loss itself")
    p.add_argument("--json", action="store_true", help="machine-readable JSON on standard output")
    p.set_defaults(func=cmd_stages)
    return p


def _format_table(stages: list) -> str:
    """The stages (:class:`~verify.stages.detect.Stage`) as a text table."""
    lines = [f"  {'stage':<18} {'kind':<8} {'start':>12} {'end':>12} {'loss start':>12} {'loss end':>12}"]
    for s in stages:
        lines.append(f"  {s.name:<18} {s.kind:<8} {s.start:>12.6g} {s.end:>12.6g} "
                     f"{s.loss_start:>12.6g} {s.loss_end:>12.6g}")
    return "\n".join(lines)


def cmd_stages(args) -> int:
    """``python -m verify stages FILE``: print the stages (table or JSON), write ``<stem>_stages.png``; return 0."""
    from ..report.figures import loss_figure
    from .curve import _read                      # here, not at the top: the parser needs neither them nor NumPy
    from .detect import _check_option, detect_stages

    path = Path(args.file)
    options = {"log": bool(getattr(args, "log", True))}
    if getattr(args, "smooth", None) is not None:
        options["smooth"] = _check_option("--smooth", args.smooth, lambda v: v > 0,
                                          "pass a time scale > 0 in the units of the time column, e.g. --smooth 50")
    if getattr(args, "penalty", None) is not None:
        options["penalty"] = _check_option("--penalty", args.penalty, lambda v: v > 0,
                                           f"pass a number > 0, e.g. --penalty {_PELT_PENALTY:g} (larger: fewer "
                                           "descents)")
    t, loss, lines = _read(path, args.column, args.time, notify=lambda msg: print(msg, file=sys.stderr))
    try:
        stages = detect_stages(t, loss, **options)
    except InputError as exc:       # name the file line rather than the array index
        match = re.fullmatch(r"(t|loss)\[(\d+)\]", exc.field)
        if not match:
            raise
        column = args.column if match.group(1) == "loss" else args.time
        field = f"{path} line {lines[int(match.group(2))]}, column {column!r}"
        raise InputError(field, exc.value, exc.problem, exc.fix) from None
    written = None
    if getattr(args, "out", None):          # the plot only where asked: never a file beside the user's data
        out_dir = Path(args.out)
        png = out_dir / f"{path.stem}_stages.png"
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            written = loss_figure(t, loss, {s.name: (s.start, s.end) for s in stages}, png,
                                  title=f"{path.name}: {args.column} against {args.time}, {len(stages)} stage(s)",
                                  xlabel=args.time, ylabel=args.column)
        except OSError as exc:
            raise InputError("--out", str(out_dir), f"cannot write the plot there ({exc.strerror or exc})",
                             "pass a writable directory") from None
    if getattr(args, "json", False):
        print(json.dumps({"file": str(path), "column": args.column, "time": args.time, "points": int(t.size),
                          "stages": [s.as_json() for s in stages], "plot": written}, indent=2))
    else:
        print(f"{path}: {t.size} points, {len(stages)} stage(s)")
        print(_format_table(stages))
        print(f"wrote {written}" if written else "no plot written (give --out DIR for <stem>_stages.png)")
    return 0
