"""Predicted T_d against the simulator, one row per configuration, with the flags on T_d.

Usage (from the repository root):
    PYTHONPATH=. python benchmarks/descent_time_vs_simulator.py [--json FILE] [--before FILE] [--markdown]
        [--only NAME ...]

Each configuration is the claims' base set-up (``verify.multistage.context.BASE``: d = 3, tanh, alpha = 1,
target ``tanh(2 x0) + 0.5 x1^2 + 0.4 x2 - 0.3``, 300 Gaussian samples, data seed 0, initialisation seed 1,
``delta = 0.01``) with the overrides listed in ``CONFIGS``: m = 50..4000, whitened and not, gradient flow and
gradient descent (Gauss-Hermite quadrature of a standard Gaussian is already white, so the non-whitened rows
use samples: 300, or 12 for a strongly non-white covariance).  For each it runs the simulator (flow: RK45 at rtol 1e-8, the event time of K = 1 - delta on
the dense output; GD: the crossing interpolated between iterates) and ``predict`` on the same configuration,
and records the simulated T_d, the predicted T_d, their relative gap and the flags: the prediction's
``applicable`` and, where the tree has it, ``T_d.applicable`` (an estimated error of T_d above its tolerance).

The script imports ``verify`` from ``PYTHONPATH`` (without it, from wherever the environment installed it: an
editable install may point at another tree), so the same file measures another tree:
``PYTHONPATH=/path/to/other/tree python /tmp/copy_of_this_file.py --json before.json``, then
``PYTHONPATH=. python benchmarks/descent_time_vs_simulator.py --before before.json --markdown`` sets those
predictions and flags beside this tree's in one table (the table's "before" columns).  Each row records which
``verify`` it measured (``verify_path``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from pathlib import Path

import numpy as np

import verify
from verify.multistage.config import config_from_dict
from verify.multistage.context import BASE
from verify.multistage.prediction import predict
from verify.multistage.simulation import measure, simulate

#: the configurations: (name, overrides of the base set-up by table)
CONFIGS = [
    ("white-flow-m50", {"model": {"width": 50}}),
    ("white-flow-m100", {"model": {"width": 100}}),
    ("white-flow-m200", {"model": {"width": 200}}),
    ("white-flow-m400", {"model": {"width": 400}}),
    ("white-flow-m1000", {"model": {"width": 1000}}),
    ("white-flow-m4000", {"model": {"width": 4000}}),
    ("white-gd0.3-m100", {"model": {"width": 100}, "train": {"method": "gd", "lr": 0.3}}),
    ("white-gd0.3-m1000", {"model": {"width": 1000}, "train": {"method": "gd", "lr": 0.3}}),
    ("white-quad12-flow-m500", {"model": {"width": 500}, "data": {"quadrature": 12}}),
    ("nonwhite-flow-m100", {"model": {"width": 100}, "data": {"whiten": False}}),
    ("nonwhite-flow-m500", {"model": {"width": 500}, "data": {"whiten": False}}),
    ("nonwhite-flow-m2000", {"model": {"width": 2000}, "data": {"whiten": False}}),
    ("nonwhite-n12-flow-m500", {"model": {"width": 500}, "data": {"whiten": False, "samples": 12}}),
    ("nonwhite-gd0.3-m500", {"model": {"width": 500}, "data": {"whiten": False},
                             "train": {"method": "gd", "lr": 0.3}}),
]
#: the simulated run ends at this multiple of the predicted (or, without one, D9's) T_d
HORIZON = 1.6


def _config(over: dict):
    """The base set-up (300 samples, data seed 0, initialisation seed 1) with ``over`` applied; a ``data``
    override with ``quadrature`` replaces the samples."""
    raw = {k: dict(v) for k, v in BASE.items()}
    raw["data"].update({"samples": 300, "seed": 0})
    raw["train"]["seed"] = 1
    for table, values in over.items():
        if table == "data" and "quadrature" in values:
            raw["data"].pop("samples")
        raw.setdefault(table, {}).update(values)
    return config_from_dict(raw)


def _flag(pred: dict) -> str:
    """``ok``, or the flags: the global ``applicable`` (shortened) and ``T_d flagged`` where the tree's
    ``T_d.applicable`` is not True (its estimated error, in its own column, above the tolerance; or no T_d)."""
    out = []
    if pred["applicable"] is not True:
        out.append("not applicable: " + str(pred["applicable"])[:50])
    td = pred["T_d"] if isinstance(pred.get("T_d"), dict) else {}
    if td.get("applicable", True) is not True:
        out.append("T_d flagged" if td.get("error_estimate") is not None else "T_d flagged (none predicted)")
    return "; ".join(out) or "ok"


def row(name: str, over: dict) -> dict:
    config = _config(over)
    pred = predict(config)
    td_pred = pred["T_d"]["value"] if isinstance(pred.get("T_d"), dict) else None
    guess = td_pred or (pred["T_d"] or {}).get("without_shift") or 20.0
    from dataclasses import replace

    config = replace(config, train=replace(config.train, t_max=HORIZON * float(guess)))
    start = time.perf_counter()
    traj, obs, kernel = simulate(config, rtol=1e-8, grid=101, remainder=False, progress=False,
                                 notify=lambda *a: None)
    meas = measure(config, traj, obs, kernel)
    td_sim = meas["T_d"]["value"]
    return {"name": name, "width": config.model.width, "whiten": bool(config.data.whiten),
            "method": config.train.method, "T_d_simulated": td_sim, "T_d_predicted": td_pred,
            "relative_gap": None if not (td_sim and td_pred) else td_pred / td_sim - 1,
            "error_estimate": (pred["T_d"] or {}).get("error_estimate"), "flags": _flag(pred),
            "seconds": time.perf_counter() - start, "verify_path": str(Path(verify.__file__).parent)}


def _pct(x):
    return "-" if x is None else f"{100 * x:+.2f} %"


def _num(x):
    return "-" if x is None else f"{x:.4f}"


def markdown(rows: list[dict], before: dict) -> str:
    head = ("| configuration | m | whitened | method | T_d simulated | T_d predicted before | gap before | "
            "flags before | T_d predicted after | gap after | estimated error after | flags after |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
    lines = []
    for r in rows:
        b = before.get(r["name"], {})
        est = None if r["error_estimate"] is None or not r["T_d_predicted"] else r["error_estimate"] / r["T_d_predicted"]
        lines.append(f"| {r['name']} | {r['width']} | {'yes' if r['whiten'] else 'no'} | {r['method']} | "
                     f"{_num(r['T_d_simulated'])} | {_num(b.get('T_d_predicted'))} | {_pct(b.get('relative_gap'))} | "
                     f"{b.get('flags', '-')} | {_num(r['T_d_predicted'])} | {_pct(r['relative_gap'])} | "
                     f"{'-' if est is None else f'{100 * est:.2f} %'} | {r['flags']} |")
    return head + "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the rows to this JSON file")
    parser.add_argument("--before", help="rows of another tree (its --json) to set beside these")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--only", nargs="*", help="configuration names to run (default: all)")
    args = parser.parse_args()
    names = [n for n, _ in CONFIGS]
    unknown = sorted(set(args.only or ()) - set(names))
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; choose from {names}")
    rows = []
    for name, over in CONFIGS:
        if args.only and name not in args.only:
            continue
        rows.append(row(name, over))
        if not args.markdown:
            r = rows[-1]
            print(f"{name:28s} sim {_num(r['T_d_simulated'])} pred {_num(r['T_d_predicted'])} "
                  f"gap {_pct(r['relative_gap'])} ({r['seconds']:.1f} s) {r['flags']}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows, "numpy": np.__version__, "python": sys.version.split()[0]}, fh, indent=1)
    if args.markdown:
        before = {}
        if args.before:
            with open(args.before) as fh:
                before = {r["name"]: r for r in json.load(fh)["rows"]}
        print(markdown(rows, before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
