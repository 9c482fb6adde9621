"""The engine's integration alone against JAX + diffrax, in one run (issue 25, targets 1, 2, 3 and 7).

Usage: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_flow_vs_jax.py
       [--jax-python PYTHON] [--repeat 3] [--sizes A,B,C] [--modes one,all]
       [--parts field,integration,whole,threads,dtype] [--pairs 3] [--quick] [--json FILE]

Workloads (tanh, alpha = 1, whitened Gaussian samples, data seed 0, initialisation seed 1, the target
of ``simulate_workload.toml``):

- A: m = 800, n = 300, d = 3, t = 0 .. 100 (the engine and simulate benchmarks' workload);
- B: m = 4000, n = 2000, d = 8, t = 0 .. 20;
- C: m = 20000, n = 2000, d = 8, t = 0 .. 20 (t_half is about 5.2 at B: the horizon holds the plateau,
  the descent and the start of the secondary plateau).

Part 1, the field: one ``loss_and_field`` of the compiled kernel against one ``numpy.tanh(out=)`` pass over
the same n x m array (and the sin and erf kernels against ``numpy.sin`` / ``scipy.special.erf``), one
kernel thread, at A's and B's sizes; medians and 10-90 % bands of interleaved rounds.

Part 2, the integration alone: ``integrate_flow`` (RK45, rtol 1e-5, 101 recordings with their losses, the
K = 1/2 event), against ``jax_diffrax_flow.py`` (jitted JAX + diffrax, Tsit5, rtol 1e-5, 101 saved
states and their losses, ``--losses-in-solve 1``) run in ``--jax-python`` (skipped, with a line, when none is
given or it cannot import jax and diffrax), its compile excluded: the script times ``--repeat`` runs of the
compiled solve, each right after one of the engine's.  Two modes: ``one`` (one thread each: this process and the
JAX process pinned to one core, the kernel with one thread, XLA without its Eigen thread pool),
``all`` (the machine's threads each: the kernel's rows split among the cores from n * m =
``verify.threads.KERNEL_PARALLEL_FROM`` on, as ``simulate`` does on idle cores, the recorded losses then evaluated
after the integration by the split kernel; below it one kernel thread with the recorded losses on the other core;
JAX with its defaults).
Agreement: K(t) of the two runs on the 101 recording times (max difference) and t_half interpolated
linearly on that grid by the same rule for both; the engine's t_half from its event is printed too.
The JAX process compiles once, then its solves alternate with the engine's integrations (engine, JAX, engine,
...: ``--serve 1``), so both sides of a pair see the same state of the machine.  Ratio: the median over the pairs
of JAX's integration time over the engine's (10-90 % band); target >= 1.2 at every size and mode.

Also printed: the split of the engine's time, field evaluations x the time of one evaluation (measured
right after, same state of the machine) against the whole integration.

Part 3 (``--parts ...,whole``; issue 25, target 3), the whole processes, compile included: ``python -m verify
multistage simulate --rtol 1e-5`` (its default outputs at that size: 301 recordings, the D3 remainder and the
per-neuron series at A; 101 recordings and neither from n x m = 4e6 on, ``LARGE_RUN_FROM``) against
``jax_diffrax_flow.py`` run as a whole process (imports, compile, the solve, Tsit5 at rtol 1e-5, as many saved
states as ``simulate`` records and their losses inside the solve), same data and initial parameters (the
configuration is written as a TOML file and checked to give the data and initial parameters handed to JAX).
``--pairs`` pairs per size, the two commands alternating (which goes first alternates too), the ratio
JAX / simulate taken within each pair; median (min-max) printed.  Mode ``all`` (the default of this part: both
with their default threads) and ``one`` (both pinned to one core, ``--threads 1``, XLA without its Eigen pool).
``--quick``: size A, one pair, mode ``all`` (about 15 s with JAX; exit 0 whatever the ratios).

Part 4 (``--parts threads`` or ``--threads-table``; issue 25, target 2's threshold): one field evaluation with the
kernel's rows split between two threads against one thread over a range of n x m, interleaved, the idle cores
measured before each size, and the crossover (the threshold ``verify.threads.KERNEL_PARALLEL_FROM`` is set from;
it says when the table was not taken on idle cores).

Part 5 (``--parts dtype`` or ``--dtype-part``; issue 25, target 7): the integration with the field in float32
against float64 (speed of the integration and of one field evaluation, t_half and T_d of each) at A and B.

``--quick`` without ``--parts``: parts 1, 2, 4 and 5 in a short form for CI (size A, two integrations a side,
three sizes in part 4): prints the ratios and exits 0 whatever they are, 1 only when a part raises.
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
import scipy
import scipy.special

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's verify, not an installed one
TARGET = "tanh(2*x0) + 0.5*x1**2 + 0.4*x2 - 0.3"
SIZES = {"A": (800, 300, 3, 100.0), "B": (4000, 2000, 8, 20.0), "C": (20000, 2000, 8, 20.0)}
RTOL = 1e-5
GRID = 101


def setup(m, n, d, t_max):
    from verify.multistage.config import config_from_dict
    from verify.multistage.initialisation import initial_parameters

    config = config_from_dict({"model": {"activation": "tanh", "width": m, "alpha": 1.0},
                               "data": {"dim": d, "samples": n, "whiten": True, "seed": 0},
                               "target": {"expr": TARGET}, "train": {"method": "flow", "t_max": t_max, "seed": 1}})
    a, W = initial_parameters(m, d, 1.0, 1)
    return config, a, W


def band(values):
    v = np.asarray(values, dtype=float)
    return float(np.median(v)), float(np.percentile(v, 10)), float(np.percentile(v, 90))


def interleaved_ratio(f, g, rounds, inner):
    """Median (10-90 %) of time(f) / time(g) over rounds, f and g alternating (bench_engine's measurement)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_engine import median_ratio

    return median_ratio(f, g, repeats=rounds, inner=inner)


def field_part(quick):
    from theory.multistage.activation import activation_from_spec
    from verify.multistage.engine import NumpyKernel, pack, unpack
    from verify.multistage.engine.kernels import fused_status

    passes = {"tanh": np.tanh, "sin": np.sin, "erf": scipy.special.erf}
    out = {}
    for label in ("A", "B"):
        m, n, d, t_max = SIZES[label]
        config, a, W = setup(m, n, d, t_max)
        data = config.dataset
        for name in ("tanh", "sin", "erf"):
            act = activation_from_spec(name)
            if not fused_status(act, d)[0]:
                out[f"{label} {name}"] = f"skipped: {fused_status(act, d)[1]}"
                continue
            kernel = NumpyKernel(act, data.X, data.p, data.y, m, fused=True)
            theta = pack(a, 50 * W)                       # the descent's scale of the weights
            arr = data.X @ unpack(theta, m)[1].T
            res = np.empty_like(arr)
            ufunc = passes[name]
            inner = max(1, int(2e6 // (n * m)))
            out[f"{label} {name}"] = interleaved_ratio(lambda: kernel.loss_and_field(theta),
                                                       lambda: ufunc(arr, out=res), 5 if quick else 15, inner)
    return out


#: part 4's sizes: (n, d, widths); n x m from 1.5e4 to 1.9e6 at d = 3 (workload A's n), 5e4 to 3.2e6 at d = 8
THREAD_SERIES = ((300, 3, (50, 100, 200, 400, 800, 1600, 3200, 6400)), (2000, 8, (25, 50, 100, 200, 400, 800, 1600)))
QUICK_SERIES = ((300, 3, (200, 800, 3200)),)


def threads_table(quick):
    """Part 4: one field evaluation of the kernel with its rows split between two threads against one thread,
    over a range of n x m, interleaved; the crossover is the smallest n x m from which two threads are faster
    at that size and every larger one of its series.  The idle cores are measured before each size."""
    from verify.multistage.engine import NumpyKernel, pack
    from verify import threads as threads_module

    rows, crossovers = [], {}
    for n, d, widths in (QUICK_SERIES if quick else THREAD_SERIES):
        series = []
        for m in widths:
            config, a, W = setup(m, n, d, 1.0)
            data = config.dataset
            theta = pack(a, 50 * W)
            one, two = (NumpyKernel(config.activation, data.X, data.p, data.y, m, threads=k) for k in (1, 2))
            for k in (one, two):
                k.loss_and_field(theta)                       # the pool started, the work arrays touched
            inner = max(2, int(4e6 // (n * m)))               # about 10 ms a side per round
            start = time.perf_counter()
            for _ in range(inner):
                one.loss_and_field(theta)
            t_one = (time.perf_counter() - start) / inner
            busy = threads_module.busy_cores()
            ratio = interleaved_ratio(lambda: two.loss_and_field(theta), lambda: one.loss_and_field(theta),
                                      5 if quick else 11, inner)
            row = {"n": n, "d": d, "m": m, "elements": n * m, "one_thread_us": t_one * 1e6,
                   "two_over_one": ratio, "busy_cores_before": busy, "chunks": len(two._chunks)}
            series.append(row)
            print(f"  n = {n:5d}, d = {d}, m = {m:5d}: n x m = {n * m:9.3g}, one thread {t_one * 1e6:8.0f} us, two "
                  f"about {ratio[0] * t_one * 1e6:8.0f} us, two threads / one {ratio[0]:.2f} ({ratio[1]:.2f}-"
                  f"{ratio[2]:.2f}), busy cores before "
                  f"{busy:.1f}", flush=True)
        faster = [r["two_over_one"][0] < 1.0 for r in series]
        first = next((i for i in range(len(series)) if all(faster[i:])), None)
        crossovers[f"n = {n}, d = {d}"] = None if first is None else series[first]["elements"]
        rows.extend(series)
    return {"rows": rows, "crossover_elements": crossovers, "threshold_in_use": threads_module.KERNEL_PARALLEL_FROM}


def engine_runs(m, n, d, t_max, threads, repeat, between=None):
    """``repeat`` integrations of the engine; ``between()`` is called after each (one JAX run: interleaved)."""
    from verify.engines import FlowOptions, integrate_flow
    from verify.multistage.engine.events import make_events
    from verify.multistage.engine import NumpyKernel, pack

    config, a, W = setup(m, n, d, t_max)
    data = config.dataset
    z, zSz = data.z, data.moments["z_Sinv_z"]
    kernel = NumpyKernel(config.activation, data.X, data.p, data.y, m, threads=threads)
    theta0 = pack(a, W)
    times, traj = [], None
    for _ in range(repeat):
        events = make_events(kernel, m, z, zSz, K_levels=(0.5,))
        start = time.perf_counter()
        traj = integrate_flow(kernel, theta0, t_max, scale=m ** -1.0, events=events,
                              options=FlowOptions(solver="RK45", rtol=RTOL, grid=GRID))
        times.append(time.perf_counter() - start)
        if between is not None:
            between()
    evaluations = traj.info["field_evaluations"]
    inner = max(2, min(20, int(4e6 // (n * m))))
    start = time.perf_counter()
    for _ in range(inner):
        kernel.loss_and_field(traj.theta[len(traj.theta) // 2])
    per_field = (time.perf_counter() - start) / inner
    K = np.einsum("tk,tkd,d->t", traj.theta[:, :m], traj.theta[:, m:].reshape(len(traj.t), m, d), z) / zSz
    return {"times_s": times, "evaluations": evaluations, "field_s": per_field, "t": traj.t.tolist(),
            "K": K.tolist(), "t_half_event": traj.first_event("K=0.5"), "kernel": kernel.variant}


def dtype_part(labels, repeat):
    """Part 5: the integration with the field in float32 against float64 (one kernel thread, the same machine
    state: the two alternate, ``repeat`` pairs), with t_half (K = 1/2) and T_d (K = 1 - delta, delta = 0.01)
    from the flow's events of each; the ratio is the median of the pairs' float64 / float32 times."""
    from verify.engines import FlowOptions, integrate_flow
    from verify.multistage.engine.events import make_events
    from verify.multistage.engine import NumpyKernel, pack

    out = {}
    for label in labels:
        m, n, d, t_max = SIZES[label]
        config, a, W = setup(m, n, d, t_max)
        data = config.dataset
        z, zSz = data.z, data.moments["z_Sinv_z"]
        theta0 = pack(a, W)
        runs = {dt: {"times_s": []} for dt in ("float64", "float32")}
        for _ in range(repeat):
            for dt, run in runs.items():
                kernel = NumpyKernel(config.activation, data.X, data.p, data.y, m, threads=1, dtype=dt)
                events = make_events(kernel, m, z, zSz, K_levels=(0.5, 0.99))
                start = time.perf_counter()
                traj = integrate_flow(kernel, theta0, t_max, scale=m ** -1.0, events=events,
                                      options=FlowOptions(solver="RK45", rtol=RTOL, grid=GRID))
                run["times_s"].append(time.perf_counter() - start)
                run.update({"evaluations": traj.info["field_evaluations"], "t_half": traj.first_event("K=0.5"),
                            "T_d": traj.first_event("K=0.99"), "kernel": kernel.variant,
                            "final_loss": float(traj.loss[-1])})
        ratio = band([a / b for a, b in zip(runs["float64"]["times_s"], runs["float32"]["times_s"])])
        # one field evaluation alone, float64 / float32, interleaved (weights at 50x the initialisation, as in part 1)
        theta = pack(a, 50 * W)
        k64, k32 = (NumpyKernel(config.activation, data.X, data.p, data.y, m, threads=1, dtype=dt)
                    for dt in ("float64", "float32"))
        field_ratio = interleaved_ratio(lambda: k64.loss_and_field(theta), lambda: k32.loss_and_field(theta),
                                        5 if repeat < 3 else 11, max(2, int(1e7 // (n * m))))
        rel = {}
        for q in ("t_half", "T_d"):
            ref, got = runs["float64"][q], runs["float32"][q]
            rel[q] = None if ref is None or got is None else abs(got - ref) / ref
        out[label] = {"runs": runs, "float64_over_float32": ratio, "field_float64_over_float32": field_ratio,
                      "relative_difference": rel}
        show = lambda v: "not reached" if v is None else f"{v:.1e}"  # noqa: E731
        print(f"  {label} (m = {m}, n = {n}, d = {d}): float64 {band(runs['float64']['times_s'])[0]:.3f} s, "
              f"float32 {band(runs['float32']['times_s'])[0]:.3f} s ({runs['float32']['evaluations']} against "
              f"{runs['float64']['evaluations']} evaluations): float32 {ratio[0]:.2f}x ({ratio[1]:.2f}-{ratio[2]:.2f}) "
              f"faster (one field: {field_ratio[0]:.2f}x, {field_ratio[1]:.2f}-{field_ratio[2]:.2f}); "
              f"|float32 / float64 - 1|: t_half {show(rel['t_half'])} (t_half {runs['float64']['t_half']}), "
              f"T_d {show(rel['T_d'])} (T_d {runs['float64']['T_d']})", flush=True)
    return out


def grid_t_half(t, K):
    t, K = np.asarray(t), np.asarray(K)
    i = int(np.argmax(K >= 0.5))
    if K[i] < 0.5 or i == 0:
        return None
    return float(t[i - 1] + (0.5 - K[i - 1]) / (K[i] - K[i - 1]) * (t[i] - t[i - 1]))


def jax_usable(python):
    """Whether ``python`` runs and imports jax and diffrax: ``(True, "")`` or ``(False, why)``."""
    try:
        done = subprocess.run([python, "-c", "import jax, diffrax"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"does not run ({exc})"
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return False, f"cannot import jax and diffrax ({last})"
    return True, ""


class JaxSession:
    """The JAX script compiled once in its own process (``--serve 1``), then one solve per :meth:`run`, so that
    its runs alternate with the engine's on the same state of the machine; :meth:`close` returns its JSON."""

    def __init__(self, jax_python, m, n, d, t_max, mode, work):
        config, a, W = setup(m, n, d, t_max)
        data = config.dataset
        src, self.dst = work / f"in-{m}.npz", work / f"jax-{m}-{mode}.json"
        np.savez(src, X=data.X, y=data.y, p=data.p, z=data.z, zSz=data.moments["z_Sinv_z"], a=a, W=W)
        env = dict(os.environ)
        cmd = [jax_python, str(HERE / "jax_diffrax_flow.py"), str(src), str(self.dst), "--rtol", str(RTOL),
               "--t-max", str(t_max), "--grid", str(GRID), "--losses-in-solve", "1", "--serve", "1"]
        if mode == "one":
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
            cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0)))] + cmd
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"{jax_python} jax_diffrax_flow.py did not start (exit {self.proc.wait()})")

    def run(self) -> float:
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> dict:
        self.proc.stdin.write("end\n")
        self.proc.stdin.close()
        if self.proc.wait(timeout=600):
            raise RuntimeError(f"jax_diffrax_flow.py exited with {self.proc.returncode}")
        return json.loads(self.dst.read_text())


def _workload_toml(m, n, d, t_max) -> str:
    """The configuration of :func:`setup` as a TOML file for the ``simulate`` command."""
    return (f'[model]\nactivation = "tanh"\nwidth = {m}\nalpha = 1.0\n\n[data]\ndim = {d}\nsamples = {n}\n'
            f'whiten = true\nseed = 0\n\n[target]\nexpr = "{TARGET}"\n\n[train]\nmethod = "flow"\n'
            f't_max = {t_max!r}\nseed = 1\n')


def _timed(cmd, env=None) -> float:
    start = time.perf_counter()
    # run from this checkout, so that ``python -m verify`` is its verify
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=HERE.parent)
    return time.perf_counter() - start


def whole_part(jax_python, sizes, modes, pairs, work):
    """Part 3: the whole ``simulate`` process against the whole JAX + diffrax script, interleaved pairs."""
    from verify.multistage.cli import output_plan
    from verify.multistage.config import load_config

    python_default = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    results = {}
    warmed = False
    for label in sizes:
        m, n, d, t_max = SIZES[label]
        config, a, W = setup(m, n, d, t_max)
        toml = work / f"workload-{label}.toml"
        toml.write_text(_workload_toml(m, n, d, t_max))
        loaded = load_config(toml)
        if not (np.array_equal(loaded.dataset.X, config.dataset.X) and np.array_equal(loaded.dataset.y,
                                                                                       config.dataset.y)):
            raise RuntimeError(f"{toml} does not give the benchmark's data")
        grid = output_plan(loaded)["grid"]
        data = config.dataset
        src = work / f"whole-in-{label}.npz"
        np.savez(src, X=data.X, y=data.y, p=data.p, z=data.z, zSz=data.moments["z_Sinv_z"], a=a, W=W)
        sim = [sys.executable, "-m", "verify", "multistage", "simulate", "--config", str(toml), "--rtol", str(RTOL),
               "--json", "--quiet", "--out"]
        if not warmed:          # writes the project's bytecode cache, as any first run does (not timed)
            _timed(sim + [str(work / "warm-up")], env=python_default)
            warmed = True
        for mode in modes:
            pin = ["taskset", "-c", str(min(os.sched_getaffinity(0)))] if mode == "one" else []
            sim_cmd = pin + sim[:-1] + (["--threads", "1"] if mode == "one" else []) + ["--out"]
            jax_env = dict(os.environ)
            if mode == "one":
                jax_env["XLA_FLAGS"] = (jax_env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
            jax_cmd = (pin + [jax_python, str(HERE / "jax_diffrax_flow.py"), str(src), str(work / "jax.json"),
                              "--rtol", str(RTOL), "--t-max", str(t_max), "--grid", str(grid), "--losses-in-solve",
                              "1"]) if jax_python else None
            t_sim, t_jax, ratios = [], [], []
            for i in range(pairs):
                out_dir = work / f"sim-{label}-{mode}-{i}"
                run_sim = lambda: t_sim.append(_timed(sim_cmd + [str(out_dir)], env=python_default))  # noqa: E731
                run_jax = lambda: t_jax.append(_timed(jax_cmd, env=jax_env))  # noqa: E731
                for run in ((run_sim, run_jax) if i % 2 == 0 else (run_jax, run_sim)):
                    if run is run_sim or jax_cmd:
                        run()
                if jax_cmd:
                    ratios.append(t_jax[-1] / t_sim[-1])
                if i == 0:
                    summary = json.loads((out_dir / "summary.json").read_text())
                    npz_mb = os.path.getsize(out_dir / "trajectory.npz") / 1e6
                shutil.rmtree(out_dir)          # up to 150 MB of states at C
            row = {"simulate_s": t_sim, "simulate_t_half": summary["t_half"], "outputs": summary["outputs"],
                   "npz_mb": npz_mb, "field_evaluations": summary["run"]["field_evaluations"]}
            line = (f"{label} (m = {m}, n = {n}, d = {d}, t to {t_max:g}), {mode}: simulate {np.median(t_sim):.2f} s "
                    f"({min(t_sim):.2f}-{max(t_sim):.2f}), {grid} recordings, remainder "
                    f"{summary['outputs']['remainder']}, per-neuron {summary['outputs']['per_neuron']}, NPZ "
                    f"{npz_mb:.1f} MB, t_half {summary['t_half']}")
            if jax_cmd:
                inner = json.loads((work / "jax.json").read_text())
                row.update({"jax_s": t_jax, "ratios_jax_over_simulate": ratios, "jax_t_half_grid": inner["t_half"],
                            "jax_split_last": {k: inner[k] for k in ("import_s", "compile_s", "integrate_s")}})
                line += (f"; JAX + diffrax {np.median(t_jax):.2f} s ({min(t_jax):.2f}-{max(t_jax):.2f}; last: import "
                         f"{inner['import_s']:.1f} s, compile {inner['compile_s']:.1f} s, solve "
                         f"{inner['integrate_s']:.1f} s), t_half on its grid {inner['t_half']} -> simulate ahead "
                         f"{np.median(ratios):.2f}x per pair ({min(ratios):.2f}-{max(ratios):.2f}, {pairs} pair(s); "
                         "target > 1)")
            print(line, flush=True)
            results[f"{label} {mode}"] = row
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jax-python", default=None, help="a Python with jax and diffrax (e.g. a separate venv)")
    parser.add_argument("--repeat", type=int, default=3, help="integrations per side at A and B")
    parser.add_argument("--repeat-large", type=int, default=2, help="integrations per side at C (about a minute each)")
    parser.add_argument("--sizes", default="A,B,C")
    parser.add_argument("--modes", default="one,all")
    parser.add_argument("--quick", action="store_true",
                        help="the parts in a short form, for CI (size A, two integrations a side, three sizes in "
                             "part 4; by default parts field, integration, threads and dtype): prints the ratios "
                             "and exits 0 whatever they are (1 only when a part breaks)")
    parser.add_argument("--skip-field", action="store_true")
    parser.add_argument("--parts", default=None,
                        help="which parts: field, integration, whole (the whole processes, part 3), threads (part "
                             "4), dtype (part 5); default field,integration (with --quick: field,integration,"
                             "threads,dtype)")
    parser.add_argument("--pairs", type=int, default=3, help="interleaved pairs per size in part 3 (2 at C)")
    parser.add_argument("--whole-modes", default="all", help="modes of part 3: all, one or both (all,one)")
    parser.add_argument("--split-from", type=float, default=None,
                        help="n * m from which 'all' mode splits the kernel's rows among the cores (default: "
                             "verify.threads.KERNEL_PARALLEL_FROM, simulate's threshold)")
    parser.add_argument("--threads-table", action="store_true",
                        help="part 4 (as --parts threads): two kernel threads against one over a range of n x m, "
                             "and the crossover (the threshold verify.threads.KERNEL_PARALLEL_FROM is set from)")
    parser.add_argument("--dtype-part", action="store_true",
                        help="part 5 (as --parts dtype): the integration with a float32 field against float64 "
                             "(speed, t_half, T_d)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    sizes = ["A"] if args.quick else args.sizes.split(",")
    if args.split_from is None:
        from verify.threads import KERNEL_PARALLEL_FROM
        args.split_from = KERNEL_PARALLEL_FROM
    repeat = 2 if args.quick else args.repeat
    out = {"machine": {"processor": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                       "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
                       "load_average_start": os.getloadavg()}}
    if args.parts is None:
        args.parts = "field,integration,threads,dtype" if args.quick else "field,integration"
    parts = set(args.parts.split(","))
    parts |= {"threads"} if args.threads_table else set()
    parts |= {"dtype"} if args.dtype_part else set()
    if not parts <= {"field", "integration", "whole", "threads", "dtype"}:
        parser.error(f"--parts {args.parts!r}: unknown part; use field, integration, whole, threads and/or dtype")
    if args.jax_python is not None:
        usable, why = jax_usable(args.jax_python)
        if not usable:
            print(f"JAX + diffrax skipped: {args.jax_python} {why}")
            args.jax_python = None
    if not args.skip_field and "field" in parts:
        out["field"] = field_part(args.quick)
        print("part 1: one field evaluation / the activation's NumPy pass over the same n x m array, one thread, "
              "weights at 50x the initialisation; median (10-90 %), target <= 1.5:")
        for key, r in out["field"].items():
            print(f"  {key}: " + (r if isinstance(r, str) else f"{r[0]:.2f} ({r[1]:.2f}-{r[2]:.2f})"))

    if "threads" in parts:
        if len(os.sched_getaffinity(0)) < 2:
            print("part 4: skipped (this process may use one core)")
        else:
            print("part 4: one field evaluation, the kernel's rows split between two threads / one thread, "
                  "median (10-90 %) of interleaved rounds:")
            out["threads_table"] = table = threads_table(args.quick)
            for series, at in table["crossover_elements"].items():
                print(f"  crossover ({series}): " + (f"two threads faster from n x m = {at:.3g} on" if at else
                                                     "two threads not faster at the largest size") +
                      f" (threshold in use: {table['threshold_in_use']:.3g})")
            busiest = max(r["busy_cores_before"] for r in table["rows"])
            table["idle"] = busiest < 0.5
            if not table["idle"]:
                print(f"  note: other work kept up to {busiest:.1f} cores busy during the table; simulate splits only "
                      "onto idle cores, so set the threshold from a run on an idle machine")
    if "dtype" in parts:
        print(f"part 5: the integration (RK45, rtol {RTOL:g}) with the field in float32 against float64, one kernel "
              "thread, alternating:")
        out["dtype"] = dtype_part(["A"] if args.quick else [s for s in sizes if s != "C"] or ["A"],
                                  2 if args.quick else args.repeat)
    if "integration" in parts:
        if args.jax_python is None:
            print("part 2: JAX + diffrax skipped (no --jax-python given); the engine's times alone follow")
        work = Path(tempfile.mkdtemp(prefix="bench-flow-jax-"))
        cores = os.sched_getaffinity(0)
        out["integration"] = {}
        for label in sizes:
            m, n, d, t_max = SIZES[label]
            for mode in [m for m in args.modes.split(",") if m]:
                if mode == "one":
                    os.sched_setaffinity(0, {min(cores)})
                # the machine's threads: the kernel's rows split among the cores from --split-from entries on
                # (below, one kernel thread, the recorded losses on the other core; with the split, the losses after)
                threads = len(cores) if mode == "all" and m * n >= args.split_from else 1
                reps = args.repeat_large if label == "C" and not args.quick else repeat
                jax = session = None
                try:
                    # the JAX process compiled first, then engine and JAX runs alternating (engine, JAX, engine, ...)
                    session = JaxSession(args.jax_python, m, n, d, t_max, mode, work) if args.jax_python else None
                    eng = engine_runs(m, n, d, t_max, threads, reps, between=session.run if session else None)
                    jax = session.close() if session else None
                finally:
                    if session is not None and session.proc.poll() is None:
                        session.proc.kill()
                    os.sched_setaffinity(0, cores)
                e_med = band(eng["times_s"])
                row = {"engine": eng, "engine_median_s": e_med, "kernel_threads": threads, "repeat": reps}
                line = (f"{label} (m = {m}, n = {n}, d = {d}, t to {t_max:g}), {mode} thread(s), {reps} run(s) each: "
                        f"engine ({threads} kernel thread(s)) "
                        f"{e_med[0]:.3f} s ({e_med[1]:.3f}-{e_med[2]:.3f}), {eng['evaluations']} evaluations, field "
                        f"{eng['field_s'] * 1e3:.2f} ms x evaluations = "
                        f"{eng['field_s'] * eng['evaluations'] / e_med[0]:.0%} of it")
                if jax is not None:
                    j_med = band(jax["integrate_all_s"])
                    pairs = band([j / e for j, e in zip(jax["integrate_all_s"], eng["times_s"])])
                    dK = float(np.max(np.abs(np.asarray(jax["K"]) - np.asarray(eng["K"]))))
                    th_e, th_j = grid_t_half(eng["t"], eng["K"]), grid_t_half(eng["t"], jax["K"])
                    row.update({"jax": {k: v for k, v in jax.items() if k != "K"}, "jax_median_s": j_med,
                                "ratio_jax_over_engine": pairs[0], "ratio_band": pairs, "max_K_difference": dK,
                                "t_half_grid_engine": th_e, "t_half_grid_jax": th_j})
                    line += (f"; JAX + diffrax {j_med[0]:.3f} s ({j_med[1]:.3f}-{j_med[2]:.3f}), {jax['evaluations']} "
                             f"evaluations, compile {jax['compile_s']:.1f} s excluded -> engine ahead "
                             f"{pairs[0]:.2f}x ({pairs[1]:.2f}-{pairs[2]:.2f}, interleaved pairs; target >= 1.2); "
                             f"max |K_engine - K_jax| on the grid {dK:.1e}, t_half on the grid {th_e} / {th_j}, "
                             f"engine's event {eng['t_half_event']}")
                print(line, flush=True)
                out["integration"][f"{label} {mode}"] = row
    if "whole" in parts:
        work = Path(tempfile.mkdtemp(prefix="bench-whole-"))
        if args.jax_python is None:
            print("part 3: JAX + diffrax skipped (no --jax-python given); simulate's times alone follow")
        print("part 3: the whole simulate process against the whole JAX + diffrax script (compile included), "
              "interleaved pairs:")
        out["whole"] = {}
        for label in sizes:
            out["whole"].update(whole_part(args.jax_python, [label], args.whole_modes.split(","),
                                           1 if args.quick else (min(args.pairs, 2) if label == "C" else args.pairs),
                                           work))
        shutil.rmtree(work, ignore_errors=True)
    out["machine"]["load_average_end"] = os.getloadavg()
    print(f"load average: start {out['machine']['load_average_start'][0]:.2f}, "
          f"end {out['machine']['load_average_end'][0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
