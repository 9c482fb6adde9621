"""Dense Hessian of the Q3 network, and Lanczos against power iteration with deflation for its top eigenvalues.

Usage: python benchmarks/bench_dense_hessian.py [--dense] [--lanczos-vs-power] [--width 32] [--depth 3]
       [--baseline-columns 48] [--rounds 2] [--threads 1] [--json FILE]
(with neither ``--dense`` nor ``--lanczos-vs-power``, both parts run).

Workload: the network of the noisy-quadratic paper's Q3 measurement
(:mod:`verify.noisy_quadratic.spectrum_training`): a bias-free GELU MLP 64 -> width
-> ... -> 10 (``depth`` weight layers; width 32, depth 3: 3392 parameters,
the ``full`` profile's network), cross-entropy (mean) on all 1797 digits,
float64, at its initial point (``DeepNet.init(0)``), one PyTorch thread.

``--dense`` compares, interleaved in ``--rounds`` rounds (each round: HVP
samples of the floor, a share of the baseline's columns, one full dense
Hessian of the project's route):

(a) baseline, the method of the talk's repository: one
    ``torch.autograd.functional.vhp`` call per unit vector and per chunk of
    256 samples (each call a fresh forward, backward and double backward),
    summed over the chunks. Timed on ``--baseline-columns`` evenly spaced
    columns and scaled linearly to all columns (said in the output);
(b) the project's route, :func:`verify.hessian.torch_dense_hessian` as the
    Q3 code calls it (default route ``jacrev``: ``jacrev`` of ``grad``
    vmapped over chunks of 16 unit vectors), full Hessian, set-up included;
    the opt-in route ``folded`` (constant-folded forward-over-reverse
    products) is timed beside it;
(c) the floor: parameters x the median time of one product by the default
    HVP route (:class:`verify.hessian.TorchHessian`, graph built once).

Targets: (b) at least 2x faster than (a) and within 1.5x of (c). Then where
the time of (b) goes: the time per column against the vmap batch (chunk)
size for both routes (``jacrev`` at chunks 16, 64 and 256, 256 being the
earlier default), and the ``folded`` route's one-off trace and folding (on a
column subset).

``--lanczos-vs-power``: the top ``k = 10`` eigenvalues against the dense
``eigh`` values of the same Hessian, by SciPy's ``eigsh`` (Lanczos, the Q3
settings: ``ncv = max(2k + 1, 20)``, seeded start vector) on the toolkit's
counting operator over a sweep of tolerances, and by power iteration with
deflation (:func:`verify.hessian.power_iteration` with ``deflate=`` the
eigenvectors found so far, PyHessian's protocol) over a sweep of its
stopping tolerance and of fixed steps per eigenvalue (power iteration
finds the eigenvalues of largest modulus; its errors are measured against
those, and the output says whether they are the top ``k``). The sweeps
multiply by the dense matrix (the same Hessian to round-off; a product
streams the 92 MB matrix, about as costly as an autodiff product, but the
counts are what is compared); the cheapest Lanczos setting that reaches
1e-8 relative is confirmed on exact autodiff products (``TorchHessian``),
and so is power iteration's with ``--confirm-power`` (thousands of products).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np
import scipy
import scipy.linalg
import torch
from scipy.sparse.linalg import aslinearoperator, eigsh

from verify.engines.datasets import digits
from verify.engines.deepnet import DeepNet, cross_entropy_loss
from verify.hessian import (DEFAULT_DENSE_ROUTE, DEFAULT_ROUTE, DENSE_CHUNK, TorchHessian, as_operator, folded_hvp,
                            power_iteration, torch_dense_hessian)

DATA_CHUNK = 256          # samples per vhp call of the baseline
SPEEDUP_TARGET = 2.0      # (a) / (b) at least
FLOOR_TARGET = 1.5        # (b) / (c) at most
K = 10
ACCURACY = 1e-8           # relative error of the top-k eigenvalues to reach


def _baseline_columns(net: DeepNet, theta: torch.Tensor, data, columns) -> np.ndarray:
    """Columns of the Hessian by one ``vhp`` call per unit vector and per data chunk, summed (the baseline)."""
    n_total = data.n
    chunks = [(data.x[i:i + DATA_CHUNK], data.labels[i:i + DATA_CHUNK]) for i in range(0, n_total, DATA_CHUNK)]

    def chunk_loss(x, labels):
        return lambda t: cross_entropy_loss(net.forward(net.unflatten(t), x), labels) * (len(labels) / n_total)

    losses = [chunk_loss(x, labels) for x, labels in chunks]
    out = np.empty((net.size, len(columns)))
    for j, col in enumerate(columns):
        e = torch.zeros(net.size, dtype=theta.dtype)
        e[col] = 1
        total = torch.zeros(net.size, dtype=theta.dtype)
        for loss in losses:
            total += torch.autograd.functional.vhp(loss, theta, e)[1]
        out[:, j] = total.numpy()
    return out


def dense_part(net: DeepNet, theta: torch.Tensor, data, args) -> tuple[dict, np.ndarray]:
    loss = net.flat_loss(data, "cross_entropy")
    n = net.size
    columns = np.unique(np.linspace(0, n - 1, args.baseline_columns).round().astype(int))
    shares = np.array_split(columns, args.rounds)
    v = torch.randn(n, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    start = time.perf_counter()
    hess = TorchHessian(loss, theta)
    hvp_setup = time.perf_counter() - start
    for _ in range(3):
        hess.hvp(v)
    hvp_times, baseline_times, dense_times, other_times, baseline_cols = [], [], [], [], []
    routes_diff = 0.0
    H = None
    for r in range(args.rounds):
        for _ in range(args.hvp_samples):
            start = time.perf_counter()
            hess.hvp(v)
            hvp_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        baseline_cols.append(_baseline_columns(net, theta, data, shares[r]))
        baseline_times.append((time.perf_counter() - start, len(shares[r])))
        start = time.perf_counter()
        H = torch_dense_hessian(loss, theta)
        dense_times.append(time.perf_counter() - start)
        other = "folded" if DEFAULT_DENSE_ROUTE == "jacrev" else "jacrev"
        start = time.perf_counter()
        H_other = torch_dense_hessian(loss, theta, route=other)
        other_times.append(time.perf_counter() - start)
        routes_diff = max(routes_diff, float(np.abs(H - H_other).max() / np.abs(H).max()))
        print(f"  round {r + 1}: dense {dense_times[-1]:.1f} s (route {other}: {other_times[-1]:.1f} s); "
              f"baseline {len(shares[r])} columns "
              f"{baseline_times[-1][0]:.1f} s; HVP median so far {1e3 * statistics.median(hvp_times):.2f} ms",
              flush=True)
    base_cols = np.hstack(baseline_cols)
    per_column = sum(t for t, _ in baseline_times) / len(columns)
    a = per_column * n
    b = statistics.median(dense_times)
    hvp = statistics.median(hvp_times)
    c = hvp * n
    diff = float(np.abs(H[:, columns] - base_cols).max() / np.abs(H).max())

    # where the time of (b) goes: the trace and folding, then the time per column against the chunk size
    start = time.perf_counter()
    product = folded_hvp(loss, theta)
    trace_s = time.perf_counter() - start
    vproduct = torch.func.vmap(product)
    scan_cols = min(args.scan_columns, n)
    eye = torch.eye(n, dtype=torch.float64)[:scan_cols]
    grad = torch.func.grad(loss)
    _, pullback = torch.func.vjp(grad, theta)
    vpull = torch.func.vmap(pullback)

    def timed(fn, chunk):
        start = time.perf_counter()
        for i in range(0, scan_cols, chunk):
            fn(eye[i:i + chunk])
        return (time.perf_counter() - start) / scan_cols

    folded_chunks = [c_ for c_ in (1, 4, 8, 16, 32, 64, 128) if c_ <= scan_cols]
    jacrev_chunks = [c_ for c_ in (16, 64, 256) if c_ <= scan_cols]
    scan = {("folded", c_): [] for c_ in folded_chunks}
    scan.update({("jacrev", c_): [] for c_ in jacrev_chunks})
    for fn, chunk in ((vproduct, 16), (vpull, 16)):          # warm-up
        fn(eye[:chunk])
    for _ in range(args.rounds):
        for (route, chunk), times in scan.items():
            times.append(timed(vproduct if route == "folded" else vpull, chunk))
    scan_ms = {f"{route}/{chunk}": 1e3 * statistics.median(t) for (route, chunk), t in scan.items()}
    loop_ms = 1e3 * hvp
    out = {"parameters": n, "rounds": args.rounds, "hvp_samples_per_round": args.hvp_samples,
           "dense_route": DEFAULT_DENSE_ROUTE, "dense_chunk": DENSE_CHUNK, "hvp_route": DEFAULT_ROUTE,
           "a_baseline_s": a, "a_per_column_ms": 1e3 * per_column, "a_columns_timed": int(len(columns)),
           "a_data_chunk": DATA_CHUNK, "b_dense_s": b, "b_dense_all_s": dense_times, "c_floor_s": c,
           "other_route": other, "other_route_s": statistics.median(other_times), "other_route_all_s": other_times,
           "max_abs_diff_routes_relative": routes_diff,
           "hvp_ms": loop_ms, "hvp_setup_ms": 1e3 * hvp_setup, "a_over_b": a / b, "b_over_c": b / c,
           "max_abs_diff_b_vs_a_relative": diff, "trace_and_fold_s": trace_s,
           "ms_per_column_by_chunk": scan_ms, "scan_columns": scan_cols,
           "speedup_target_met": a / b >= SPEEDUP_TARGET, "floor_target_met": b / c <= FLOOR_TARGET}
    print(f"(a) baseline vhp per unit vector and per {DATA_CHUNK}-sample chunk: {1e3 * per_column:.1f} ms per "
          f"column, timed on {len(columns)} of {n} columns and scaled linearly: {a:.1f} s")
    print(f"(b) torch_dense_hessian (route {DEFAULT_DENSE_ROUTE}, chunk {DENSE_CHUNK}), full: {b:.1f} s "
          f"(rounds: {', '.join(f'{t:.1f}' for t in dense_times)} s); route {other}: "
          f"{statistics.median(other_times):.1f} s; the two differ by {routes_diff:.1e} of max |H|")
    print(f"(c) floor {n} x one HVP ({DEFAULT_ROUTE}, median of {len(hvp_times)}: {loop_ms:.2f} ms): {c:.1f} s")
    print(f"(a)/(b) = {a / b:.1f}x (target >= {SPEEDUP_TARGET}: {'met' if a / b >= SPEEDUP_TARGET else 'NOT met'}); "
          f"(b)/(c) = {b / c:.2f} (target <= {FLOOR_TARGET}: {'met' if b / c <= FLOOR_TARGET else 'NOT met'})")
    print(f"max |(b) - (a)| / max |H| on the {len(columns)} baseline columns: {diff:.1e}")
    print(f"where (b)'s time goes: trace and fold once {trace_s:.2f} s; ms per column by vmap chunk "
          f"({scan_cols} columns, median of {args.rounds}; a single HVP is {loop_ms:.2f} ms):")
    for key, ms in scan_ms.items():
        print(f"  {key:12s} {ms:7.2f} ms per column  = {ms / loop_ms:.2f} x one HVP")
    return out, H


def _relative_error(values: np.ndarray, exact: np.ndarray) -> float:
    return float(np.max(np.abs(np.sort(values)[::-1] - exact) / np.abs(exact)))


def _lanczos_run(op_source, k: int, tol: float, seed: int) -> tuple[np.ndarray, int]:
    op = as_operator(op_source)
    n = op.shape[0]
    start = np.random.default_rng(np.random.SeedSequence(seed)).standard_normal(n)
    values = eigsh(op, k=k, which="LA", v0=start, tol=tol, ncv=min(n, max(2 * k + 1, 20)),
                   return_eigenvectors=False)
    return np.sort(values)[::-1], op.products


def _power_run(op_source, k: int, seed: int, steps: int, change_tol: float | None) -> tuple[np.ndarray, int]:
    vectors, values, products = [], [], 0
    for i in range(k):
        pair = power_iteration(op_source, steps, seed=seed + i, deflate=vectors or None, change_tol=change_tol)
        vectors.append(pair.vector)
        values.append(pair.value)
        products += pair.products
    return np.array(values), products


def lanczos_vs_power(net: DeepNet, theta: torch.Tensor, data, H: np.ndarray, args) -> dict:
    exact = scipy.linalg.eigh(H, eigvals_only=True)
    top = exact[::-1][:K]
    bottom = float(exact[0])
    # power iteration converges to the eigenvalues of largest modulus: its errors are measured against those
    by_modulus = np.sort(exact[np.argsort(-np.abs(exact), kind="stable")][:K])[::-1]
    same_set = bool(np.array_equal(by_modulus, top))
    dense_op = aslinearoperator(H)
    rows = []
    for tol in (1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12):
        values, products = _lanczos_run(dense_op, K, tol, seed=0)
        rows.append(("lanczos", f"eigsh tol {tol:.0e}", products, _relative_error(values, top)))
    for change_tol in (1e-3, 1e-6, 1e-10):
        values, products = _power_run(dense_op, K, 0, args.power_max_steps, change_tol)
        rows.append(("power", f"change tol {change_tol:.0e} (max {args.power_max_steps} steps each)", products,
                     _relative_error(values, by_modulus)))
    for steps in (20, 200):
        values, products = _power_run(dense_op, K, 0, steps, None)
        rows.append(("power", f"{steps} steps each", products, _relative_error(values, by_modulus)))
    print(f"top {K} eigenvalues (dense eigh): {', '.join(f'{x:.6g}' for x in top)}; bottom {bottom:.3g}")
    if not same_set:
        print(f"the {K} of largest modulus differ (negative ones among them): "
              f"{', '.join(f'{x:.6g}' for x in by_modulus)}; power iteration's errors are against these")
    else:
        print(f"the {K} largest are also the {K} of largest modulus (power iteration's target)")
    print(f"{'method':8s} {'setting':45s} {'products':>9s} {'max rel. error':>15s}")
    for method, setting, products, err in rows:
        print(f"{method:8s} {setting:45s} {products:9d} {err:15.2e}")
    needed = {}
    for method in ("lanczos", "power"):
        ok = [(p, s, e) for m, s, p, e in rows if m == method and e <= ACCURACY]
        needed[method] = min(ok) if ok else None
    budgets = (100, 200, 400, 800, 1600, 3200, 6400, 12800)
    within = {method: {b: min((e for m, _, p, e in rows if m == method and p <= b), default=None) for b in budgets}
              for method in ("lanczos", "power")}
    print("best max relative error within a product budget (over the runs above):")
    print("budget   " + "".join(f"{b:>10d}" for b in budgets))
    for method in ("lanczos", "power"):
        print(f"{method:8s} " + "".join(f"{within[method][b]:10.1e}" if within[method][b] is not None
                                        else f"{'-':>10s}" for b in budgets))
    # the cheapest settings that reach the accuracy, again on exact autodiff products
    loss = net.flat_loss(data, "cross_entropy")
    confirm = {}
    for method, best in needed.items():
        if method == "power" and not args.confirm_power:
            continue
        if best is None:
            print(f"{method}: no setting reached {ACCURACY:g}")
            continue
        products, setting, _ = best
        hess = TorchHessian(loss, theta)
        start = time.perf_counter()
        if method == "lanczos":
            tol = float(setting.split()[-1])
            values, count = _lanczos_run(hess, K, tol, seed=0)
        elif setting.startswith("change"):
            values, count = _power_run(hess, K, 0, args.power_max_steps, float(setting.split()[2]))
        else:
            values, count = _power_run(hess, K, 0, int(setting.split()[0]), None)
        seconds = time.perf_counter() - start
        confirm[method] = {"setting": setting, "products": count, "seconds": seconds,
                           "max_rel_error": _relative_error(values, top if method == "lanczos" else by_modulus)}
        print(f"{method}: {ACCURACY:g} reached with {products} products ({setting}); again on autodiff products: "
              f"{count} products, {seconds:.1f} s, max rel. error {confirm[method]['max_rel_error']:.1e}")
    for method, best in needed.items():
        print(f"{method}: {'no setting reached' if best is None else f'{best[0]} products ({best[1]}) to reach'} "
              f"{ACCURACY:g}")
    if needed["lanczos"] and needed["power"]:
        print(f"power / Lanczos products to {ACCURACY:g}: {needed['power'][0] / needed['lanczos'][0]:.1f}x")
    return {"k": K, "accuracy": ACCURACY, "top": top.tolist(), "bottom": bottom,
            "top_by_modulus": by_modulus.tolist(), "top_is_top_by_modulus": same_set,
            "runs": [{"method": m, "setting": s, "products": p, "max_rel_error": e} for m, s, p, e in rows],
            "products_needed": {m: (None if b is None else b[0]) for m, b in needed.items()},
            "within_budget": {m: {str(b): e for b, e in w.items()} for m, w in within.items()},
            "confirmed_on_autodiff": confirm}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dense", action="store_true", help="time (a), (b), (c)")
    parser.add_argument("--lanczos-vs-power", action="store_true", help="top-10 eigenvalues: products and accuracy")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--baseline-columns", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--hvp-samples", type=int, default=15, help="HVP timings per round for the floor")
    parser.add_argument("--scan-columns", type=int, default=256)
    parser.add_argument("--power-max-steps", type=int, default=1000)
    parser.add_argument("--confirm-power", action="store_true",
                        help="repeat power iteration's cheapest setting that reaches 1e-8 on autodiff products")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    both = not (args.dense or args.lanczos_vs_power)

    torch.set_num_threads(args.threads)
    data = digits(dtype=torch.float64)
    net = DeepNet(64, 10, args.depth, args.width, activation="gelu", dtype=torch.float64, notify=None)
    theta = net.flatten(net.init(0))
    out = {"workload": f"bias-free GELU MLP {' -> '.join(str(s[1]) for s in net.shapes)} -> 10, cross-entropy on "
                       f"all {data.n} digits, float64, initial point (init seed 0)",
           "parameters": net.size, "threads": torch.get_num_threads(),
           "blas_threads_env": os.environ.get("OPENBLAS_NUM_THREADS"), "torch": torch.__version__,
           "numpy": np.__version__, "scipy": scipy.__version__, "python": platform.python_version(),
           "processor": platform.processor() or platform.machine(), "load_average_start": os.getloadavg()}
    print(f"{out['workload']}; {net.size} parameters; {out['threads']} torch thread(s); "
          f"load average {out['load_average_start'][0]:.1f}", flush=True)
    H = None
    if args.dense or both:
        out["dense"], H = dense_part(net, theta, data, args)
    if args.lanczos_vs_power or both:
        if H is None:
            start = time.perf_counter()
            H = torch_dense_hessian(net.flat_loss(data, "cross_entropy"), theta)
            print(f"dense Hessian for the reference: {time.perf_counter() - start:.1f} s")
        out["lanczos_vs_power"] = lanczos_vs_power(net, theta, data, H, args)
    out["load_average_end"] = os.getloadavg()
    print(f"load average at the end {out['load_average_end'][0]:.1f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    dense = out.get("dense")
    return 0 if dense is None or (dense["speedup_target_met"] and dense["floor_target_met"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
