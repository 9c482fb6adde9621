"""What a user feels: the whole ``python -m verify simulate`` process against the baselines, in one run.

Usage: python benchmarks/bench_simulate.py [--repeat 3] [--jax-python PYTHON] [--quick] [--json FILE]

Workload (the engine benchmark's): m = 800, d = 3, n = 300 whitened Gaussian
samples, tanh, alpha = 1, t = 0 .. 100, written as ``simulate_workload.toml``
beside this file.  Measured side by side:

1. ``python -m verify simulate --config simulate_workload.toml --out DIR`` as a
   whole process (imports, configuration, integration with the default
   options, observables, NPZ/CSV/PNG/JSON files), median of ``--repeat`` runs,
   with Python's default bytecode cache (``PYTHONDONTWRITEBYTECODE`` removed
   from the child's environment, after one untimed run that writes the
   project's ``__pycache__``, as any first run or a non-editable install
   does); interleaved with as many runs in this process's own environment,
   reported beside them (a sandbox that sets ``PYTHONDONTWRITEBYTECODE``
   recompiles the project's modules in every run, about 0.1-0.15 s).
2. The plain NumPy gradient-descent loop of ``bench_engine.py`` (eta = 0.01,
   10 000 steps) on the same data and initial parameters, in this process,
   with its arrays allocated once and updated in place (``out=``; the same
   operations in the same order, so the same numbers) and one BLAS thread
   (``threadpoolctl``), after 20 untimed steps that touch its pages: its time
   no longer swings with the process's page faults or a second BLAS thread on
   a shared core.  It runs ``--repeat`` times, interleaved with the
   ``simulate`` runs; its min / median / max are printed beside the ratios
   (median over median, and the worst: the fastest loop over the slowest
   ``simulate``).
3. Optionally, ``jax_diffrax_flow.py`` (jitted JAX + diffrax, Tsit5 at rtol
   1e-5) as a whole process, with the Python that has JAX (``--jax-python``;
   skipped when none is given and this Python lacks JAX).

4. The floor of (1): what any ``simulate`` built on SciPy's ``solve_ivp`` pays at least, the median of
   ``--repeat`` processes that only import NumPy and ``scipy.integrate`` (``python -c "import numpy,
   scipy.integrate"``), plus the integration alone with its recorded losses in this process (the project's
   ``integrate`` with ``simulate``'s default rtol, recordings and threads; no observables, predictions or
   files).  GD / floor is the largest simulate/GD ratio this machine allows that design: when it is under 10,
   target (1) cannot be met by trimming ``simulate``'s own work.
5. ``simulate`` warm: the same command with the same arguments run in this process (``verify.cli.main``, its
   printed output discarded) after one untimed call, so that its imports and the lambdified expressions of the
   predictions are paid once, as in a notebook, a sweep or a Dask worker that runs it again and again; median of
   ``--repeat`` calls, interleaved with the rest.  Every file of the command is written and its figure drawn.
6. The floor with ``simulate``'s libraries: the median of ``--repeat`` processes that import every third-party
   module a ``simulate`` process ends up with (found by running the command once in a child and listing
   ``sys.modules``; not a list typed here: NumPy, SciPy, SymPy, Matplotlib and what they load), plus the
   integration alone of (4).  Any ``simulate`` that derives its predictions with SymPy and draws its figure with
   Matplotlib pays at least this; GD / this floor under 10 means target (1) needs a command without one of them.

Targets: (1) at least 10 times faster than (2), and faster than (3).

``--quick`` (for CI): one ``simulate`` run after the warm-up, the GD loop for
2 000 steps (its time for 10 000 estimated as 5 times that, said in the
output), JAX once if given; about 15 s (25 s with JAX).  Exit status 0
whatever the ratios; non-zero only when a command fails.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WORKLOAD = HERE / "simulate_workload.toml"
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))  # this checkout's verify, not an installed one

from bench_engine import ETA, T_MAX, numpy_gd_baseline  # noqa: E402

from verify import threads as _threads  # noqa: E402
from verify.multistage.cli import output_plan  # noqa: E402
from verify.multistage.config import load_config  # noqa: E402
from verify.multistage.initialisation import initial_parameters  # noqa: E402
from verify.multistage.simulation import integrate  # noqa: E402


def _whole(cmd: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    # run from this checkout, so that ``python -m verify`` is its verify
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=HERE.parent)
    return time.perf_counter() - start


def numpy_gd_preallocated(X, y, a, W, z, zSz, steps, warm=20):
    """``bench_engine.numpy_gd_baseline`` with its arrays allocated once and updated in place (the same operations
    in the same order); ``warm`` untimed steps first, on copies, touch every page.  Returns
    ``(seconds, t_half)``."""
    n, d = X.shape
    m = a.shape[0]
    h, tmp = np.empty((n, m)), np.empty((n, m))
    e, Wz, grad_a, grad_W = np.empty(n), np.empty(m), np.empty(m), np.empty((m, d))

    def run(a, W, steps):
        t_half, K_prev, losses = None, 0.0, []
        for step in range(steps + 1):
            np.matmul(X, W.T, out=h)
            np.tanh(h, out=h)
            np.matmul(h, a, out=e)
            np.subtract(e, y, out=e)
            if step % 100 == 0:
                losses.append(0.5 * np.mean(e**2))
            np.matmul(W, z, out=Wz)
            K = (a @ Wz) / zSz
            if t_half is None and K >= 0.5:
                t_half = (step - 1 + (0.5 - K_prev) / (K - K_prev)) * ETA
            K_prev = K
            np.matmul(h.T, e, out=grad_a)
            np.divide(grad_a, n, out=grad_a)
            np.multiply(h, h, out=tmp)                  # (1 - h**2) * e[:, None] * a[None, :], in place
            np.subtract(1.0, tmp, out=tmp)
            np.multiply(tmp, e[:, None], out=tmp)
            np.multiply(tmp, a[None, :], out=tmp)
            np.matmul(tmp.T, X, out=grad_W)
            np.divide(grad_W, n, out=grad_W)
            np.multiply(grad_a, ETA, out=grad_a)
            np.multiply(grad_W, ETA, out=grad_W)
            a -= grad_a
            W -= grad_W
        return t_half

    run(a.copy(), W.copy(), warm)
    a, W = a.copy(), W.copy()
    start = time.perf_counter()
    t_half = run(a, W, steps)
    return time.perf_counter() - start, t_half


def floor_settings(config) -> dict:
    """``simulate``'s defaults for ``config``: its --rtol (from the real parser), its recordings and its kernel
    threads (as it would choose them now)."""
    from verify.cli import build_parser

    threads, _ = _threads.choose(None, work=config.points * config.model.width,
                                 parallel_from=_threads.KERNEL_PARALLEL_FROM)
    return {"rtol": build_parser().parse_args(["simulate", "--config", str(WORKLOAD)]).rtol,
            "grid": output_plan(config)["grid"], "threads": threads}


def integration_floor(config, settings: dict) -> float:
    """Seconds of the integration alone, with its recorded losses, at ``settings`` (:func:`floor_settings`), in
    this process after one untimed run."""
    run = lambda: integrate(config, **settings, progress=False, notify=lambda _: None)  # noqa: E731
    run()
    start = time.perf_counter()
    traj, _ = run()
    seconds = time.perf_counter() - start
    if traj.status != "completed":
        raise RuntimeError(f"the floor's integration ended with status {traj.status!r} ({traj.message})")
    return seconds


def _in_process(argv: list[str]) -> float:
    """Seconds of ``python -m verify ARGV``'s work run in this process (``verify.cli.main``), its output
    discarded; raises when the command does not exit 0."""
    import contextlib
    import io

    from verify.cli import main as verify_main

    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        status = verify_main(argv)
    seconds = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"verify {' '.join(argv)} exited {status} in this process")
    return seconds


_LIST_MODULES = """
import contextlib, io, json, sys
from verify.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    status = main(sys.argv[1:])
if status != 0:
    sys.exit(f"verify exited {status}")
own = {"verify", "theory", "bench_engine", "bench_simulate"}
print(json.dumps([name for name, module in sys.modules.items()
                  if name.split(".")[0] not in sys.stdlib_module_names | own and not name.startswith("_")
                  and getattr(module, "__spec__", None) is not None]))
"""

_IMPORT_MODULES = """
import importlib, json, sys
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
"""


def libraries_of(argv: list[str], env: dict) -> list[str]:
    """The third-party modules (not the standard library's, the project's or private top-level ones) that a process
    running ``python -m verify ARGV`` holds at its end, in the order they were first imported; only those with an
    import spec, so that each can be imported by its name (extension modules also register spec-less entries such
    as ``cython_runtime``)."""
    done = subprocess.run([sys.executable, "-c", _LIST_MODULES, *argv], check=True, capture_output=True, text=True,
                          env=env, cwd=HERE.parent)
    return json.loads(done.stdout)


def _one_blas_thread():
    """A context with one BLAS thread (threadpoolctl), or a no-op with a note when threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        print("note: threadpoolctl is not installed: the GD loop runs with the BLAS threads of the environment "
              "(set OPENBLAS_NUM_THREADS=1)", file=sys.stderr)
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jax-python", default=None, help="a Python with jax and diffrax installed")
    parser.add_argument("--allocating-loop", action="store_true",
                        help="also time bench_engine's allocating GD loop (one BLAS thread), once per repeat, for "
                             "the ratio against it (the baseline before the pre-allocated loop)")
    parser.add_argument("--quick", action="store_true",
                        help="one simulate run, the GD loop for 2 000 steps (x5), about 15 s; exit 0 on any ratio")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: must be at least 1")
    repeat = 1 if args.quick else args.repeat
    steps = int(round(T_MAX / ETA))
    gd_steps = steps // 5 if args.quick else steps

    config = load_config(WORKLOAD)
    data = config.dataset
    a, W = initial_parameters(config.model.width, data.X.shape[1], config.model.alpha, config.train.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-simulate-"))
    out = {"machine": platform.processor() or platform.machine(), "python": platform.python_version(),
           "numpy": np.__version__, "workload": str(WORKLOAD.name), "load_average_start": os.getloadavg(),
           "quick": args.quick}
    try:
        command = [sys.executable, "-m", "verify", "simulate", "--config", str(WORKLOAD), "--json", "--out"]
        python_default = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        _whole(command + [str(work / "warm-up")], env=python_default)     # writes the bytecode cache
        runs, runs_env, gd, gd_t_half, allocating, bare, floor_int, warm = [], [], [], None, [], [], [], []
        settings = floor_settings(config)
        in_process = command[3:-1]          # the command's own arguments, without its --out
        _in_process(in_process + ["--out", str(work / "warm-up-in-process")])
        libraries = libraries_of(in_process + ["--out", str(work / "libraries")], python_default)
        import_libraries = [sys.executable, "-c", _IMPORT_MODULES, json.dumps(libraries)]
        libraries_s = []
        for i in range(repeat):         # interleaved: simulate, simulate in this environment, the floor, the GD loop
            runs.append(_whole(command + [str(work / f"sim{i}")], env=python_default))
            bare.append(_whole([sys.executable, "-c", "import numpy, scipy.integrate"], env=python_default))
            floor_int.append(integration_floor(config, settings))
            warm.append(_in_process(in_process + ["--out", str(work / f"warm{i}")]))
            libraries_s.append(_whole(import_libraries, env=python_default))
            if not args.quick:
                runs_env.append(_whole(command + [str(work / f"env{i}")]))
            with _one_blas_thread():
                seconds, gd_t_half = numpy_gd_preallocated(data.X, data.y, a, W, data.z, data.moments["z_Sinv_z"],
                                                           gd_steps)
            gd.append(seconds * steps / gd_steps)
            if args.allocating_loop:
                with _one_blas_thread():
                    start = time.perf_counter()
                    t_half_allocating = numpy_gd_baseline(data.X, data.y, a, W, data.z, data.moments["z_Sinv_z"],
                                                          gd_steps)
                    allocating.append((time.perf_counter() - start) * steps / gd_steps)
        summary = json.loads((work / "sim0" / "summary.json").read_text())
        out["simulate_process_s"] = runs
        out["simulate_median_s"] = float(np.median(runs))
        out["environment_PYTHONDONTWRITEBYTECODE"] = os.environ.get("PYTHONDONTWRITEBYTECODE")
        if runs_env:
            out["simulate_process_s_this_environment"] = runs_env
            out["simulate_median_s_this_environment"] = float(np.median(runs_env))
        out["simulate_t_half"] = summary["t_half"]

        out["numpy_gd"] = ("preallocated, one BLAS thread, " + (f"{gd_steps} steps x {steps // gd_steps} (quick: "
                           "an estimate of 10 000 steps)" if gd_steps != steps else f"{steps} steps"))
        out["numpy_gd_s"] = gd
        out["numpy_gd_min_median_max_s"] = [min(gd), float(np.median(gd)), max(gd)]
        if gd_steps == steps:
            out["numpy_gd_t_half"] = gd_t_half
        out["speedup_over_numpy_gd"] = float(np.median(gd)) / out["simulate_median_s"]
        out["speedup_worst_pair"] = min(gd) / max(runs)
        out["floor_import_numpy_scipy_integrate_s"] = bare
        out["floor_integration_s"] = floor_int
        out["floor_s"] = float(np.median(bare)) + float(np.median(floor_int))
        out["floor_speedup_over_numpy_gd"] = float(np.median(gd)) / out["floor_s"]
        out["libraries"] = sorted({name.split(".")[0] for name in libraries})
        out["libraries_modules"] = len(libraries)
        out["libraries_import_s"] = libraries_s
        out["libraries_floor_s"] = float(np.median(libraries_s)) + float(np.median(floor_int))
        out["libraries_floor_speedup_over_numpy_gd"] = float(np.median(gd)) / out["libraries_floor_s"]
        out["simulate_warm_s"] = warm
        out["simulate_warm_median_s"] = float(np.median(warm))
        out["warm_speedup_over_numpy_gd"] = float(np.median(gd)) / out["simulate_warm_median_s"]
        out["warm_speedup_worst_pair"] = min(gd) / max(warm)
        if allocating:
            out["allocating_gd_s"] = allocating
            out["allocating_gd_min_median_max_s"] = [min(allocating), float(np.median(allocating)), max(allocating)]
            out["allocating_gd_t_half"] = t_half_allocating if gd_steps == steps else None
            out["speedup_over_allocating_gd"] = float(np.median(allocating)) / out["simulate_median_s"]
        if runs_env:
            out["speedup_over_numpy_gd_this_environment"] = float(np.median(gd)) / out["simulate_median_s_this_environment"]

        jax_python = args.jax_python
        if jax_python is None:
            try:
                import diffrax  # noqa: F401  (only to see that it is installed)
                import jax  # noqa: F401
                jax_python = sys.executable
            except ImportError:
                jax_python = None
        if jax_python:
            np.savez(work / "in.npz", X=data.X, y=data.y, p=data.p, z=data.z, zSz=data.moments["z_Sinv_z"],
                     a=a, W=W)
            times = [_whole([jax_python, str(HERE / "jax_diffrax_flow.py"), str(work / "in.npz"),
                             str(work / f"jax{i}.json")]) for i in range(repeat)]
            inner = json.loads((work / "jax0.json").read_text())
            out["jax_diffrax_process_s"] = times
            out["jax_diffrax_median_s"] = float(np.median(times))
            out["jax_diffrax_split"] = inner
            out["ratio_jax_over_simulate"] = out["jax_diffrax_median_s"] / out["simulate_median_s"]
        else:
            out["jax_diffrax"] = "skipped: no Python with jax and diffrax (pass --jax-python)"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out["load_average_end"] = os.getloadavg()
    text = json.dumps(out, indent=2)
    print(text)
    g = out["numpy_gd_min_median_max_s"]
    print(f"simulate/GD: {out['speedup_over_numpy_gd']:.1f}x (median GD loop / median simulate; worst pair "
          f"{out['speedup_worst_pair']:.1f}x; target >= 10), GD loop min/median/max {g[0]:.2f}/{g[1]:.2f}/{g[2]:.2f} "
          f"s, simulate median {out['simulate_median_s']:.2f} s"
          + (f"; the allocating loop {out['allocating_gd_min_median_max_s'][1]:.2f} s median, "
             f"{out['speedup_over_allocating_gd']:.1f}x" if "allocating_gd_s" in out else "")
          + (f"; JAX + diffrax / simulate {out['ratio_jax_over_simulate']:.2f}x" if "ratio_jax_over_simulate" in out
             else "") + f"; load {out['load_average_start'][0]:.2f} -> {out['load_average_end'][0]:.2f}")
    print(f"floor (import numpy + scipy.integrate {np.median(out['floor_import_numpy_scipy_integrate_s']):.2f} s, "
          f"integration with its recorded losses {np.median(out['floor_integration_s']):.2f} s): {out['floor_s']:.2f} "
          f"s, GD/floor {out['floor_speedup_over_numpy_gd']:.1f}x: the most a simulate on SciPy's solver reaches "
          "here" + (" (under 10: target 1 needs less than the floor)" if out["floor_speedup_over_numpy_gd"] < 10
                    else ""))
    print(f"floor with simulate's libraries (importing the {out['libraries_modules']} third-party modules it loads, "
          f"from {', '.join(out['libraries'])}: {np.median(out['libraries_import_s']):.2f} s, plus the integration): "
          f"{out['libraries_floor_s']:.2f} s, GD/this floor {out['libraries_floor_speedup_over_numpy_gd']:.1f}x: the "
          "most a simulate that loads these libraries reaches here"
          + (" (under 10: target 1 needs a simulate without one of them)"
             if out["libraries_floor_speedup_over_numpy_gd"] < 10 else ""))
    print(f"simulate warm (the same command in a process that has run it once: no imports, the predictions' "
          f"expressions already lambdified): median {out['simulate_warm_median_s']:.2f} s, GD/warm "
          f"{out['warm_speedup_over_numpy_gd']:.1f}x (worst pair {out['warm_speedup_worst_pair']:.1f}x)")
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
