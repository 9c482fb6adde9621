"""Predicted against simulated T_p and t_half on a spread of configurations, before and after a change.

Usage: python benchmarks/predictions_vs_simulator.py [--before PATH] [--markdown] [--only NAME ...]
       [--json FILE]

For every configuration of :data:`CONFIGS` (m = 50 .. 4000, whitened and
not, gradient flow and gradient descent) the script simulates one short run
with this checkout's simulator (to a little past the predicted ``t_half`` and
``T_p``: :func:`horizon`) and sets beside the measured ``T_p`` (first passage
of ``q_max`` through ``m^(-alpha_1)``) and ``t_half`` (first time K = 1/2):

* the predictions of this checkout (``after``);
* with ``--before PATH``, the predictions of another checkout of the project
  (``before``; e.g. a throw-away ``git worktree add /tmp/before <commit>``),
  computed by that checkout's own ``predict`` in a subprocess, so that the
  two versions never share a module;

and the regime flags of each (``applicable``: none, or the start of each
reason).  The table is a list of :data:`COLUMNS`; to add a quantity (T_d,
say) append columns (and, if it needs a longer run, raise :func:`horizon`).

Every run is seeded (the configuration's data and initialisation seeds); a
run takes well under a second to a few seconds (m = 4000).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: the data of the claims' reference set-up (D9's reference figures), d = 3, 200 Gaussian samples
TARGET = "tanh(2*x0) + 0.5*x1**2 + 0.4*x2 - 0.3"


def _config(name: str, width: int, alpha: float, whiten: bool = True, method: str = "flow",
            eta_z: float | None = None, seed: int = 1) -> dict:
    """One configuration: ``eta_z`` is the GD step times |z| (the step is set from the data's |z|)."""
    return {"name": name, "eta_z": eta_z, "raw": {
        "model": {"activation": "tanh", "width": width, "alpha": alpha},
        "data": {"dim": 3, "samples": 200, "whiten": whiten, "seed": 0},
        "target": {"expr": TARGET},
        "train": {"method": method, "lr": 0.01, "t_max": 10.0, "seed": seed},
        "analysis": {"delta": 0.01}}}


#: the configurations: widths 50 .. 4000, alpha from near 1/2 (K0 not small) to 1.5, whitened and not, flow and GD
#: (eta|z| up to 1.1, past the map's stable range)
CONFIGS = [
    _config("m50-a1.0", 50, 1.0),
    _config("m50-a0.75", 50, 0.75),
    _config("m100-a0.6", 100, 0.6),
    _config("m200-a0.75", 200, 0.75),
    _config("m400-a1.0", 400, 1.0),
    _config("m400-a1.5", 400, 1.5),
    _config("m1000-a0.6", 1000, 0.6),
    _config("m1000-a1.0-raw", 1000, 1.0, whiten=False),
    _config("m2000-a1.25-raw", 2000, 1.25, whiten=False),
    _config("m4000-a1.0", 4000, 1.0),
    _config("m400-a1.0-gd0.5", 400, 1.0, method="gd", eta_z=0.5),
    _config("m400-a1.5-gd1.1", 400, 1.5, method="gd", eta_z=1.1),
    _config("m1000-a1.0-raw-gd0.3", 1000, 1.0, whiten=False, method="gd", eta_z=0.3),
    _config("m4000-a1.5-gd0.9", 4000, 1.5, method="gd", eta_z=0.9),
]


def resolve(entry: dict) -> dict:
    """The raw configuration with the GD step set from the data's |z| (``lr = eta_z / |z|``)."""
    from verify.multistage.config import config_from_dict

    raw = json.loads(json.dumps(entry["raw"]))
    if entry["eta_z"] is not None:
        raw["train"]["lr"] = entry["eta_z"] / config_from_dict(raw).dataset.z_norm
    return raw


def horizon(pred: dict) -> float:
    """How far to simulate: 1.3 x the later of the predicted t_half and T_p, plus 1 (30 when neither is
    predicted)."""
    times = [x for x in (pred.get("t_half"), (pred.get("T_p") or {}).get("value")) if x is not None]
    return 1.3 * max(times) + 1.0 if times else 30.0


_PREDICT = """
import json, sys
from verify.multistage.config import config_from_dict
from verify.multistage.prediction import predict
out = [predict(config_from_dict(raw)) for raw in json.load(sys.stdin)]
json.dump(out, sys.stdout, default=float)
"""


def predictions(raws: list[dict], checkout: Path | None = None) -> list[dict]:
    """``predict`` of each configuration, by this checkout or, in a subprocess, by ``checkout``."""
    if checkout is None:
        from verify.multistage.prediction import predict
        from verify.multistage.config import config_from_dict

        return [json.loads(json.dumps(predict(config_from_dict(r)), default=float)) for r in raws]
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run([sys.executable, "-c", _PREDICT], input=json.dumps(raws), capture_output=True,
                          text=True, cwd=checkout, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"predict in {checkout} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def simulated(raw: dict, t_max: float) -> dict:
    """The measured summary of one run of ``raw`` to ``t_max`` (this checkout's simulator)."""
    from verify.multistage.config import config_from_dict
    from verify.multistage.simulation import measure, simulate

    raw = json.loads(json.dumps(raw))
    raw["train"]["t_max"] = t_max
    config = config_from_dict(raw)
    start = time.perf_counter()
    traj, obs, kernel = simulate(config, progress=False, grid=int(40 * t_max) + 1, notify=lambda *_: None)
    out = measure(config, traj, obs, kernel)
    out["seconds"] = time.perf_counter() - start
    return out


# ---------------------------------------------------------------------------------------------------------------
# columns


def _num(x, fmt: str = ".4g") -> str:
    return "-" if x is None else format(x, fmt)


def _rel(pred, sim) -> str:
    return "-" if pred is None or sim is None else f"{pred / sim - 1:+.2%}"


def _flags(p: dict | None) -> str:
    """``none``, or the start of each reason (up to its first colon)."""
    if p is None:
        return "(not run)"
    if p["applicable"] is True:
        return "none"
    return " / ".join(reason.split(":")[0].strip() for reason in p["applicable"].split("; "))


def _T_p(p):
    return None if p is None else (p.get("T_p") or {}).get("value")


def _t_half(p):
    return None if p is None else p.get("t_half")


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[dict], str]


COLUMNS = [
    Column("config", lambda r: r["name"]),
    Column("m", lambda r: str(r["raw"]["model"]["width"])),
    Column("alpha", lambda r: f"{r['raw']['model']['alpha']:g}"),
    Column("whiten", lambda r: "yes" if r["raw"]["data"]["whiten"] else "no"),
    Column("method", lambda r: r["raw"]["train"]["method"] + (f" eta|z|={r['eta_z']:g}" if r["eta_z"] else "")),
    Column("K0", lambda r: _num(r["after"].get("K0"), ".3g")),
    Column("T_p sim", lambda r: _num(r["sim"]["T_p"]["value"])),
    Column("T_p before", lambda r: f"{_num(_T_p(r['before']))} ({_rel(_T_p(r['before']), r['sim']['T_p']['value'])})"),
    Column("T_p after", lambda r: f"{_num(_T_p(r['after']))} ({_rel(_T_p(r['after']), r['sim']['T_p']['value'])})"),
    Column("t_half sim", lambda r: _num(r["sim"]["t_half"])),
    Column("t_half before", lambda r: f"{_num(_t_half(r['before']))} ({_rel(_t_half(r['before']), r['sim']['t_half'])})"),
    Column("t_half after", lambda r: f"{_num(_t_half(r['after']))} ({_rel(_t_half(r['after']), r['sim']['t_half'])})"),
    Column("t_half est. error", lambda r: "-" if r["after"].get("t_half_decaying_error") is None
           else f"{r['after']['t_half_decaying_error']:+.2%}"),
    Column("flags before", lambda r: _flags(r["before"])),
    Column("flags after", lambda r: _flags(r["after"])),
]


def table(rows: list[dict], markdown: bool) -> str:
    cells = [[c.header for c in COLUMNS]] + [[c.value(r) for c in COLUMNS] for r in rows]
    if markdown:        # a "|" inside a cell (eta|z|) would end it
        cells = [[v.replace("|", "\\|") for v in row] for row in cells]
        lines = ["| " + " | ".join(cells[0]) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, help="another checkout of the project whose predict is 'before'")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--only", nargs="+", metavar="NAME", choices=[c["name"] for c in CONFIGS],
                    help="only these configurations")
    ap.add_argument("--json", type=Path, help="also write the rows (predictions and measurements) here")
    args = ap.parse_args(argv)
    entries = [c for c in CONFIGS if not args.only or c["name"] in args.only]
    raws = [resolve(c) for c in entries]
    after = predictions(raws)
    before = predictions(raws, args.before) if args.before else [None] * len(raws)
    rows = []
    for entry, raw, a, b in zip(entries, raws, after, before):
        rows.append({"name": entry["name"], "eta_z": entry["eta_z"], "raw": raw, "after": a, "before": b,
                     "sim": simulated(raw, horizon(a))})
    print(table(rows, args.markdown))
    print(f"\n{len(rows)} configurations; simulation {sum(r['sim']['seconds'] for r in rows):.1f} s in all; "
          f"before: {args.before or 'not given'}; relative errors are predicted / simulated - 1")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
