"""Engine benchmarks: every figure is a ratio measured in this one run.

Usage: python benchmarks/bench_engine.py [--quick] [--json FILE] [--activations-only]

1. Time to reach t = 100 on the workload of the engine issue (m = 800, d = 3,
   n = 300 whitened samples, tanh, alpha = 1): the engine (adaptive RK45 on the
   gradient flow) against (i) a NumPy loop of gradient descent with
   hand-written gradients at eta = 0.01 and (ii) the same loop in PyTorch with
   autograd; each run's t_half is compared with a DOP853 reference at
   rtol 1e-11.
2. One field evaluation against ``numpy.tanh`` over the same n-by-m array,
   for the compiled fused kernel (when built) and the NumPy path, with one
   and two kernel threads.
3. Cost against n*m over m = 250 .. 8000: the fitted log-log exponent.
4. For each activation with a compiled kernel (tanh, sin, erf = erf(sqrt(pi) s / 2)):
   one field evaluation by the fused kernel and by the NumPy path against
   ``numpy.tanh`` over the same array, on the workload (n = 300, m = 800) and
   on the 12^3 = 1728 quadrature nodes with m = 2000.  ``--activations-only``
   runs this part alone (about two minutes instead of ten).

The engine runs use the kernel ``NumpyKernel`` picks by default (the fused
one when built; VERIFY_NO_FUSED=1 measures the NumPy path instead).

The baselines run once (they take minutes); the engine run is the median of
three; the field/tanh ratios are medians of 30 interleaved measurements.  The
machine is shared and noisy, so only ratios measured side by side are
reported.
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import scipy
from scipy.integrate import solve_ivp

from verify.multistage.config import config_from_dict
from verify.engines import FlowOptions, integrate_flow
from verify.multistage.engine import NumpyKernel, pack, unpack
from verify.multistage.engine.events import k_of_theta, make_events
from verify.multistage.engine.kernels import fused_status
from verify.multistage.initialisation import initial_parameters

WORKLOAD = {
    "model": {"activation": "tanh", "width": 800, "alpha": 1.0},
    "data": {"dim": 3, "samples": 300, "whiten": True, "seed": 0},
    "target": {"expr": "tanh(2*x0) + 0.5*x1**2 + 0.4*x2 - 0.3"},
    "train": {"method": "flow", "t_max": 100.0, "seed": 1},
}
T_MAX = 100.0
ETA = 0.01


def numpy_gd_baseline(X, y, a, W, z, zSz, steps):
    """What a researcher would write: plain NumPy, hand-written gradients, one step at a time."""
    n = X.shape[0]
    a, W = a.copy(), W.copy()
    t_half, K_prev, losses = None, 0.0, []
    for step in range(steps + 1):
        h = np.tanh(X @ W.T)
        e = h @ a - y
        if step % 100 == 0:
            losses.append(0.5 * np.mean(e**2))
        K = (a @ (W @ z)) / zSz
        if t_half is None and K >= 0.5:
            t_half = (step - 1 + (0.5 - K_prev) / (K - K_prev)) * ETA
        K_prev = K
        grad_a = h.T @ e / n
        grad_W = ((1 - h**2) * e[:, None] * a[None, :]).T @ X / n
        a -= ETA * grad_a
        W -= ETA * grad_W
    return t_half


def torch_gd_baseline(X, y, a, W, z, zSz, steps):
    import torch

    Xt, yt, zt = (torch.tensor(v, dtype=torch.float64) for v in (X, y, z))
    at = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    Wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    t_half, K_prev = None, 0.0
    for step in range(steps + 1):
        loss = 0.5 * torch.mean((torch.tanh(Xt @ Wt.T) @ at - yt) ** 2)
        with torch.no_grad():
            K = float(at @ (Wt @ zt)) / zSz
        if t_half is None and K >= 0.5:
            t_half = (step - 1 + (0.5 - K_prev) / (K - K_prev)) * ETA
        K_prev = K
        loss.backward()
        with torch.no_grad():
            at -= ETA * at.grad
            Wt -= ETA * Wt.grad
            at.grad = None
            Wt.grad = None
    return t_half


def engine_run(kernel, theta0, z, zSz, rtol, grid=101):
    events = make_events(kernel, kernel.m, z, zSz, K_levels=(0.5,))
    traj = integrate_flow(kernel, theta0, T_MAX, scale=kernel.m ** -1.0, events=events,
                          options=FlowOptions(solver="RK45", rtol=rtol, grid=grid))
    return traj.first_event("K=0.5"), traj.info["field_evaluations"]


def reference_t_half(kernel, theta0, z, zSz):
    m = kernel.m

    def event(t, th):
        return k_of_theta(th, m, z, zSz) - 0.5

    event.direction = 1
    sol = solve_ivp(lambda t, th: kernel.field(th), (0, 20.0), theta0, method="DOP853", rtol=1e-11,
                    atol=1e-17, events=event)
    return float(sol.t_events[0][0])


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def median_ratio(f, g, repeats=30, inner=20):
    ratios = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            f()
        t1 = time.perf_counter()
        for _ in range(inner):
            g()
        t2 = time.perf_counter()
        ratios.append((t1 - t0) / (t2 - t1))
    return float(np.median(ratios)), float(np.percentile(ratios, 10)), float(np.percentile(ratios, 90))


def activation_comparison(repeats=15, inner=5):
    """Part 4: fused and NumPy field of tanh, sin and erf against numpy.tanh on the same arrays."""
    from theory.multistage.activation import activation_from_spec

    out = {}
    for label, data_spec, m in (("samples n=300, m=800", {"dim": 3, "samples": 300, "whiten": True, "seed": 0}, 800),
                                ("quadrature 12^3=1728, m=2000", {"dim": 3, "quadrature": 12, "whiten": True,
                                                                  "seed": 0}, 2000)):
        data = config_from_dict({**WORKLOAD, "data": data_spec}).dataset
        theta = pack(*initial_parameters(m, 3, 1.0, 1))
        for name in ("tanh", "sin", "erf"):
            act = activation_from_spec(name)
            row = {}
            for weights, th in (("at_initialisation", theta), ("at_50x", 50 * theta)):
                arr = data.X @ unpack(th, m)[1].T
                kernels = {"fused": NumpyKernel(act, data.X, data.p, data.y, m, fused=True)} \
                    if fused_status(act, 3)[0] else {}
                kernels["numpy"] = NumpyKernel(act, data.X, data.p, data.y, m, fused=False)
                for variant, k in kernels.items():
                    row[f"{variant}/tanh {weights}"] = median_ratio(lambda: k.loss_and_field(th), lambda: np.tanh(arr),
                                                                    repeats, inner)
                if "fused" in kernels:
                    k0, k1 = kernels["fused"], kernels["numpy"]
                    row[f"numpy/fused {weights}"] = median_ratio(lambda: k1.loss_and_field(th),
                                                                 lambda: k0.loss_and_field(th), repeats, inner)
            out[f"{label}, {name}"] = row
    return out


def print_activation_comparison(table):
    for key, row in table.items():
        print(key + ": " + "; ".join(f"{name} {r[0]:.2f} ({r[1]:.2f}-{r[2]:.2f})" for name, r in row.items()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one repeat of the engine run instead of three")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--rtol", type=float, default=1e-5,
                        help="engine tolerance (default 1e-5: t_half still ~100x more accurate than GD at eta = 0.01)")
    parser.add_argument("--activations-only", action="store_true",
                        help="only part 4: fused and NumPy field of tanh, sin and erf against numpy.tanh")
    args = parser.parse_args()
    reps = 1 if args.quick else 3
    if args.activations_only:
        table = activation_comparison()
        print("one field evaluation / numpy.tanh over the same n x m array, and NumPy path / fused; "
              "median (10-90 %):")
        print_activation_comparison(table)
        if args.json:
            with open(args.json, "w") as fh:
                json.dump({"activations": table}, fh, indent=2)
        return

    config = config_from_dict(WORKLOAD)
    data = config.dataset
    m, d = 800, 3
    a0, W0 = initial_parameters(m, d, 1.0, 1)
    theta0 = pack(a0, W0)
    z, zSz = data.z, data.moments["z_Sinv_z"]
    kernel = NumpyKernel(config.activation, data.X, data.p, data.y, m)
    results = {"machine": {"python": platform.python_version(), "numpy": np.__version__,
                           "scipy": scipy.__version__, "processor": platform.processor() or platform.machine(),
                           "cores": __import__("os").cpu_count()},
               "kernel": kernel.variant, "fused_status": fused_status(config.activation, d)[1]}

    ref = reference_t_half(kernel, theta0, z, zSz)
    steps = int(round(T_MAX / ETA))
    t_engine, (th_engine, nfev) = timed(lambda: engine_run(kernel, theta0, z, zSz, args.rtol), reps)
    t_np, th_np = timed(lambda: numpy_gd_baseline(data.X, data.y, a0, W0, z, zSz, steps), 1)
    results["time_to_t100"] = {
        "engine_s": t_engine, "engine_field_evaluations": nfev, "engine_rtol": args.rtol,
        "numpy_gd_s": t_np, "speedup_vs_numpy_gd": t_np / t_engine,
        "t_half_reference_dop853": ref,
        "t_half_rel_error_engine": abs(th_engine / ref - 1), "t_half_rel_error_numpy_gd": abs(th_np / ref - 1),
    }
    try:
        import torch

        t_torch, th_torch = timed(lambda: torch_gd_baseline(data.X, data.y, a0, W0, z, zSz, steps), 1)
        results["time_to_t100"].update({"torch_gd_s": t_torch, "speedup_vs_torch_gd": t_torch / t_engine,
                                        "t_half_rel_error_torch_gd": abs(th_torch / ref - 1),
                                        "torch": torch.__version__})
    except ImportError:
        results["time_to_t100"]["torch_gd_s"] = "torch not installed"

    arr0 = data.X @ W0.T                    # pre-activations at initialisation
    arr1 = data.X @ (50 * W0).T             # and at weights 50 times larger (the descent's scale)
    field_vs_tanh = {"n": data.size, "m": m}
    variants = (True, False) if fused_status(config.activation, d)[0] else (False,)
    for fused in variants:
        for threads in (1, 2):
            k = NumpyKernel(config.activation, data.X, data.p, data.y, m, threads=threads, fused=fused)
            r0 = median_ratio(lambda: k.loss_and_field(theta0), lambda: np.tanh(arr0))
            r1 = median_ratio(lambda: k.loss_and_field(50 * theta0), lambda: np.tanh(arr1))
            field_vs_tanh[f"{k.variant}, threads={threads}"] = {"at_initialisation": r0, "at_50x": r1}
    results["field_vs_tanh"] = field_vs_tanh

    widths = [250, 500, 1000, 2000, 4000, 8000]
    costs = []
    for w in widths:
        k = NumpyKernel(config.activation, data.X, data.p, data.y, w)
        th = pack(*initial_parameters(w, d, 1.0, 1)) * 50
        inner = max(3, 20000 // w)
        t, _ = timed(lambda: [k.loss_and_field(th) for _ in range(inner)], 5)
        costs.append(t / inner)
    slope = float(np.polyfit(np.log(np.array(widths) * data.size), np.log(costs), 1)[0])
    results["scaling"] = {"widths": widths, "n": data.size, "seconds_per_field": costs, "exponent_in_nm": slope}
    results["activations"] = activation_comparison()

    tt = results["time_to_t100"]
    print(f"time to t = 100: engine {tt['engine_s']:.2f} s ({nfev} field evaluations, rtol {args.rtol:g}); "
          f"NumPy GD {tt['numpy_gd_s']:.2f} s -> speedup {tt['speedup_vs_numpy_gd']:.1f}x (target 20x)")
    if isinstance(tt.get("torch_gd_s"), float):
        print(f"                  PyTorch autograd GD {tt['torch_gd_s']:.2f} s -> speedup "
              f"{tt['speedup_vs_torch_gd']:.1f}x (target 30x)")
    print(f"t_half relative error against DOP853 (rtol 1e-11, t_half = {ref:.6f}): engine "
          f"{tt['t_half_rel_error_engine']:.2e}, NumPy GD {tt['t_half_rel_error_numpy_gd']:.2e}"
          + (f", PyTorch GD {tt['t_half_rel_error_torch_gd']:.2e}" if "t_half_rel_error_torch_gd" in tt else ""))
    print(f"kernel: {kernel.variant} ({results['fused_status']})")
    for name, r in results["field_vs_tanh"].items():
        if not isinstance(r, dict):
            continue
        print(f"one field evaluation / numpy.tanh over the same {data.size} x {m} array, {name}: "
              f"median {r['at_initialisation'][0]:.2f} at initialisation (10-90 %: {r['at_initialisation'][1]:.2f}-"
              f"{r['at_initialisation'][2]:.2f}), {r['at_50x'][0]:.2f} at 50x the weights (target <= 1.5)")
    print(f"cost against n*m over m = {widths[0]}..{widths[-1]}: exponent {slope:.3f} (target 0.9-1.1)")
    print("per activation, one field evaluation / numpy.tanh and NumPy path / fused; median (10-90 %):")
    print_activation_comparison(results["activations"])
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
