"""The authors' scan for c_loss and c_sharp against the verifier's search, on the same networks and batches, in one run.

Usage: python benchmarks/bench_critical_lr.py [--widths 64 128 256] [--depth 4] [--seeds 1 2 3]
       [--bracket 1 32] [--threads 1] [--levers] [--json FILE]
       python benchmarks/bench_critical_lr.py --speed [--widths 64 256] [--depth 4] [--seeds 0 1 2] [--json FILE]

``--speed`` (issue 20) times the c_sharp search before and after its two levers, on the same networks: before,
the coarse grid over the whole bracket and every step's sharpness converged by Lanczos; after, the grid
started from the measured c_loss and c_max (:func:`~verify.early_training.critical.sharp_hint`) and each
step's event decided from a few Lanczos steps where they suffice (:mod:`verify.hessian.certify`).  Both with
the ``full`` profile's searches (c_sharp: coarse step 0.5, bisection to 0.05 in log2 c).  It reports per
set-up the Hessian-vector products and seconds of the c_sharp search, its runs, and whether the two cells
overlap.

Threads: ``--threads`` PyTorch threads and as many BLAS threads (threadpoolctl) for both sides.

Workload: bias-free ReLU nets of depth 4 and widths 64, 128, 256 on
scikit-learn's digits (all 1797 samples), SGD batch 512, MSE, 10 steps,
``eta = c / lambda^H_0``, initialisation seeds 1, 2, 3.

Baseline (the protocol of the authors' public code, written plainly in
PyTorch): ``lambda^H_0`` by 20 power-iteration steps on the whole training
set from a fixed start vector; then ONE 10-step SGD run per ``c`` on the grid
``2^(0.1 k)`` over the bracket, each computing after every step the
full-training loss and the sharpness by 20 power-iteration steps (on the
fixed measurement batch the verifier uses, from a fixed start vector); a run
stops only at divergence (loss above 1e5); ``c_loss`` and ``c_sharp`` are the
first ``c`` on the grid whose run shows the event.  It uses the same initial
weights and the same batch order as the verifier, so the two can agree.

Verifier: :func:`verify.early_training.critical.measure` with the default
:class:`~verify.early_training.search.Search` (bracket narrowed to the
baseline's), i.e. ``lambda^H_0`` and the sharpness by Lanczos (warm-started),
loss events in batched :func:`~verify.engines.deepnet.train_many` passes of 7
values of ``c``, a sharpness run stopped at its first event, coarse grid
``2^0.5`` then multi-section to 0.01 in ``log2 c``.

``--levers`` also runs the verifier (a) with 20-step power iteration in
place of Lanczos for the sharpness and (b) with ``per_pass = 1``
(bisection, one ``c`` per training pass), to show what each contributes.

Agreement: the constants must agree within one cell of the authors' grid
(a factor ``2^0.1``) times the ratio of the two ``lambda^H_0`` estimates
(the baseline's 20 power steps can fall short of the top eigenvalue, which
rescales its ``c``).
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import time
from unittest import mock

import numpy as np
import torch
from threadpoolctl import threadpool_limits

import verify.early_training.critical as critical
from verify.early_training.critical import Problem, Setup, measure
from verify.early_training.search import AUTHORS_GRID_STEP, Search
from verify.engines.deepnet import _batches, seed_streams
from verify.hessian import power_iteration

POWER_STEPS = 20
DIVERGENCE = 1e5


def _hvp_fn(net, params, x, y):
    """A plain double-backward Hessian-vector product of 0.5 mean((f - y)^2) at ``params`` on (x, y)."""
    leaves = [p.detach().clone().requires_grad_(True) for p in params]
    loss = 0.5 * ((net.forward(leaves, x) - y) ** 2).mean()
    grads = torch.autograd.grad(loss, leaves, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])

    def hvp(v):
        out = torch.autograd.grad(flat @ v, leaves, retain_graph=True)
        return torch.cat([o.reshape(-1) for o in out])
    return hvp


def _power(net, params, x, y, v0):
    """20 power-iteration steps from ``v0``: the last Rayleigh quotient."""
    hvp = _hvp_fn(net, params, x, y)
    v = v0 / v0.norm()
    value = math.nan
    for _ in range(POWER_STEPS):
        w = hvp(v)
        value = float(v @ w)
        v = w / w.norm()
    return value


def baseline(setup: Setup, bracket) -> dict:
    """The authors' scan: one run per c on 2^(0.1 k), sharpness by 20 power steps at every step."""
    start = time.perf_counter()
    prob = Problem(setup, notify=None)          # for the network, its initial weights, the data and measure batch
    net, data, mb = prob.net, prob.data, prob.measure_batch
    gen = torch.Generator().manual_seed(0)
    v0 = torch.randn(net.size, generator=gen, dtype=net.dtype)
    lam0 = _power(net, prob.params0, data.x, data.y_onehot, v0)
    sharp0 = _power(net, prob.params0, mb.x, mb.y_onehot, v0)
    grid = Search(bracket=tuple(bracket)).grid(AUTHORS_GRID_STEP)
    c_loss = c_sharp = None
    runs = products = 0
    for c in grid:
        eta = c / lam0
        params = [p.detach().clone() for p in prob.params0]
        loss0 = float(0.5 * ((net.forward(params, data.x) - data.y_onehot) ** 2).mean())
        _, batch_gen = seed_streams(setup.seed)
        loss_up = sharp_up = False
        for xb, yb, _ in _batches(data, setup.batch_size, setup.steps, batch_gen):
            leaves = [p.requires_grad_(True) for p in params]
            loss = 0.5 * ((net.forward(leaves, xb) - yb) ** 2).mean()
            grads = torch.autograd.grad(loss, leaves)
            with torch.no_grad():
                params = [p - eta * g for p, g in zip(leaves, grads)]
                full = float(0.5 * ((net.forward(params, data.x) - data.y_onehot) ** 2).mean())
            if not math.isfinite(full) or full > DIVERGENCE or float(loss.detach()) > DIVERGENCE:
                loss_up = sharp_up = True
                break
            loss_up |= full > loss0
            sharp_up |= _power(net, params, mb.x, mb.y_onehot, v0) / sharp0 > 1
            products += POWER_STEPS
        runs += 1
        if loss_up and c_loss is None:
            c_loss = c
        if sharp_up and c_sharp is None:
            c_sharp = c
    return {"c_loss": c_loss, "c_sharp": c_sharp, "lambda0": lam0, "runs": runs, "grid_points": len(grid),
            "hessian_vector_products": products + 2 * POWER_STEPS, "seconds": time.perf_counter() - start}


def verifier(setup: Setup, search: Search, power: bool = False) -> dict:
    """:func:`measure` of c_loss and c_sharp; ``power`` swaps Lanczos for 20-step power iteration in the runs."""
    def power_pair(h, v0=None, seed=0, **_):
        return power_iteration(h, POWER_STEPS, v0=v0, seed=seed)

    start = time.perf_counter()
    if power:
        with mock.patch.object(critical, "top_eigenpair", power_pair):
            out = measure(setup, search, ("c_loss", "c_sharp"), notify=None)
    else:
        out = measure(setup, search, ("c_loss", "c_sharp"), notify=None)
    return {"c_loss": out["c_loss"], "c_sharp": out["c_sharp"], "lambda0": out["setup"]["lambda0"],
            "runs": out["training_runs"], "passes": {k: v["passes"] for k, v in out["scan"].items()},
            "seconds": time.perf_counter() - start}


def speed(setup: Setup) -> dict:
    """c_sharp's search before (whole bracket, converged sharpness) and after (hinted bracket, decided steps)."""
    from verify.early_training.critical import sharp_hint
    from verify.early_training.profiles import PROFILES

    full = PROFILES["full"]
    out = {}
    for name, after in (("before", False), ("after", True)):
        prob = Problem(setup, notify=None, decide=after)
        c_loss, c_max = prob.constant("c_loss", full.search), prob.constant("c_max", full.search)
        start = time.perf_counter()
        b = prob.constant("c_sharp", full.sharp_search, within=sharp_hint(c_loss, c_max) if after else None)
        seconds = time.perf_counter() - start
        runs = list(prob._sharp_runs.values())
        out[name] = {"c_loss": c_loss.interval, "c_sharp": b.interval, "c_max": c_max.interval,
                     "extended_below": b.extended_below, "runs": b.runs, "seconds": seconds,
                     "hessian_vector_products": sum(r.products for r in runs),
                     "steps": sum(len(r.sharpness) - 1 for r in runs), "decided_steps": sum(r.decided for r in runs)}
    (a, b), (c, d) = out["before"]["c_sharp"], out["after"]["c_sharp"]
    out["cells_overlap"] = bool((a is None or d is None or a <= d) and (c is None or b is None or c <= b))
    return out


def speed_main(args) -> dict:
    rows = []
    for width in args.widths:
        for seed in args.seeds:
            row = {"depth": args.depth, "width": width, "seed": seed, **speed(Setup(args.depth, width, seed))}
            rows.append(row)
            b, a = row["before"], row["after"]
            print(f"d{args.depth} w{width:4d} s{seed}: before {b['hessian_vector_products']:5d} HVPs {b['seconds']:6.1f} s "
                  f"{b['runs']:2d} runs c_sharp {b['c_sharp'][1]:.4g} | after {a['hessian_vector_products']:5d} HVPs "
                  f"{a['seconds']:6.1f} s {a['runs']:2d} runs c_sharp {a['c_sharp'][1]:.4g} "
                  f"(decided {a['decided_steps']}/{a['steps']} steps{', below c_loss' if a['extended_below'] else ''})"
                  f" | c_loss {a['c_loss'][1]:.4g} | cells overlap {row['cells_overlap']}", flush=True)
    total = {k: {m: sum(r[k][m] for r in rows) for m in ("hessian_vector_products", "seconds", "runs")}
             for k in ("before", "after")}
    summary = {"total": total, "setups": len(rows), "cells_overlap": sum(r["cells_overlap"] for r in rows),
               "threads": args.threads, "python": platform.python_version(), "torch": torch.__version__,
               "numpy": np.__version__}
    print(json.dumps(summary, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"summary": summary, "rows": rows}, fh, indent=1)
    return summary


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speed", action="store_true", help="c_sharp's search before and after its two levers")
    ap.add_argument("--widths", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--bracket", type=float, nargs=2, default=[1.0, 32.0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--levers", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads, user_api="blas")     # ARPACK's vector work, as the verifier's workers do
    if args.speed:
        return speed_main(args)
    search = Search(bracket=tuple(args.bracket))
    rows = []
    for width in args.widths:
        for seed in args.seeds:
            setup = Setup(args.depth, width, seed)
            row = {"width": width, "seed": seed, "baseline": baseline(setup, args.bracket),
                   "verifier": verifier(setup, search)}
            if args.levers:
                row["verifier_power"] = verifier(setup, search, power=True)
                row["verifier_per_pass_1"] = verifier(setup, Search(bracket=tuple(args.bracket), per_pass=1))
            b, v = row["baseline"], row["verifier"]
            tol = 2 ** AUTHORS_GRID_STEP * max(b["lambda0"] / v["lambda0"], v["lambda0"] / b["lambda0"])
            row["agree"] = {n: (b[n] is not None and v[n] is not None
                                and max(b[n] / v[n], v[n] / b[n]) <= tol * 2 ** search.resolution)
                            for n in ("c_loss", "c_sharp")}
            rows.append(row)
            print(f"w {width:4d} seed {seed}: baseline {b['seconds']:7.1f} s ({b['runs']} runs) "
                  f"c_loss {b['c_loss']:.3g} c_sharp {b['c_sharp']:.3g} | verifier {v['seconds']:6.1f} s "
                  f"({v['runs']} runs) c_loss {v['c_loss']:.3g} c_sharp {v['c_sharp']:.3g} | lambda0 "
                  f"{b['lambda0']:.4g} / {v['lambda0']:.4g} | agree {row['agree']}"
                  + "".join(f" | {k[9:]} {row[k]['seconds']:.1f} s ({row[k]['runs']} runs)"
                            for k in ("verifier_power", "verifier_per_pass_1") if k in row), flush=True)
    total = {k: sum(r[k]["seconds"] for r in rows) for k in rows[0] if isinstance(rows[0][k], dict)
             and "seconds" in rows[0][k]}
    runs = {k: sum(r[k]["runs"] for r in rows) for k in total}
    agree = {n: sum(r["agree"][n] for r in rows) for n in ("c_loss", "c_sharp")}
    summary = {"total_seconds": total, "training_runs": runs, "ratio": total["baseline"] / total["verifier"],
               "agree": agree, "setups": len(rows), "bracket": args.bracket, "threads": args.threads,
               "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__}
    print(json.dumps(summary, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"summary": summary, "rows": rows}, fh, indent=1)
    return summary


if __name__ == "__main__":
    main()
