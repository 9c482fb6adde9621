"""Cost of a Hessian-vector product against one gradient, by each exact autodiff route, in one run.

Usage: python benchmarks/bench_hessian.py [--repeat 50] [--dtype float32|float64] [--threads 1] [--json FILE]

Workload: a bias-free ReLU network (:class:`verify.engines.deepnet.DeepNet`),
depth 4, width 256, 64 inputs, 10 classes (digits-shaped), MSE, on 512 rows
of scikit-learn's digits drawn with replacement (seed 0), one thread
(``torch.set_num_threads``). Measured, each as the median of ``--repeat``
timings after two warm-up calls:

- one gradient (forward and backward, ``torch.autograd.grad``);
- one product by each route of :class:`verify.hessian.TorchHessian` (the
  one-off cost of building the gradient graph or the pull-back is reported
  separately as ``setup``).

The timings are interleaved (gradient, route 1, route 2, ... in each round)
so that the load of a shared machine falls on all of them alike.

Target: a product at most 2.5 times one gradient by the default route.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np
import torch

from verify.engines.datasets import digits
from verify.engines.deepnet import DeepNet
from verify.hessian import DEFAULT_ROUTE, ROUTES, TorchHessian

TARGET = 2.5


def _interleaved_median_ms(fns: dict, repeat: int) -> dict:
    """Median milliseconds of each callable, timed once per round over ``repeat`` rounds after 2 warm-ups."""
    for _ in range(2):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    data = digits(dtype=dtype).resample(512, seed=0)
    net = DeepNet(64, 10, depth=4, width=256, dtype=dtype)
    theta = net.flatten(net.init(0))
    loss = net.flat_loss(data)
    v = torch.randn(net.size, generator=torch.Generator().manual_seed(1), dtype=dtype)

    def gradient():
        t = theta.clone().requires_grad_(True)
        return torch.autograd.grad(loss(t), t)[0]

    out = {"workload": f"ReLU depth 4 width 256, 64 -> 10, batch 512 digits rows, {args.dtype}, MSE",
           "parameters": net.size, "threads": torch.get_num_threads(), "repeat": args.repeat,
           "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
           "processor": platform.processor() or platform.machine()}
    hessians, setup = {}, {}
    for route in ROUTES:
        start = time.perf_counter()
        hessians[route] = TorchHessian(loss, theta, route=route)
        setup[route] = 1e3 * (time.perf_counter() - start)
    fns = {"gradient": gradient, **{route: (lambda h=h: h.hvp(v)) for route, h in hessians.items()}}
    ms = _interleaved_median_ms(fns, args.repeat)
    out["gradient_ms"] = ms["gradient"]
    routes = {route: {"hvp_ms": ms[route], "ratio_to_gradient": ms[route] / ms["gradient"],
                      "setup_ms": setup[route]} for route in ROUTES}
    out["routes"] = routes
    out["default_route"] = DEFAULT_ROUTE
    out["fastest_route"] = min(routes, key=lambda r: routes[r]["hvp_ms"])
    out["target_met"] = routes[DEFAULT_ROUTE]["ratio_to_gradient"] <= TARGET

    print(f"{out['workload']}; {net.size} parameters; {out['threads']} thread(s); median of {args.repeat}")
    print(f"one gradient: {out['gradient_ms']:.2f} ms")
    for route, r in routes.items():
        print(f"HVP {route:22s} {r['hvp_ms']:7.2f} ms  = {r['ratio_to_gradient']:.2f} x gradient"
              f"  (setup {r['setup_ms']:.1f} ms)")
    print(f"fastest: {out['fastest_route']}; default {DEFAULT_ROUTE} within {TARGET}x: {out['target_met']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return 0 if out["target_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
