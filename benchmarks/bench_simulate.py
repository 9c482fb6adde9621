"""What a user feels: the whole ``python -m verify simulate`` process against the baselines, in one run.

Usage: python benchmarks/bench_simulate.py [--repeat 3] [--jax-python PYTHON] [--json FILE]

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
   10 000 steps) on the same data and initial parameters, in this process.
3. Optionally, ``jax_diffrax_flow.py`` (jitted JAX + diffrax, Tsit5 at rtol
   1e-5) as a whole process, with the Python that has JAX (``--jax-python``;
   skipped when none is given and this Python lacks JAX).

Targets: (1) at least 10 times faster than (2), and faster than (3).
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

from bench_engine import ETA, T_MAX, numpy_gd_baseline  # noqa: E402

from verify.multistage.config import load_config  # noqa: E402
from verify.multistage.initialisation import initial_parameters  # noqa: E402


def _whole(cmd: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jax-python", default=None, help="a Python with jax and diffrax installed")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    config = load_config(WORKLOAD)
    data = config.dataset
    a, W = initial_parameters(config.model.width, data.X.shape[1], config.model.alpha, config.train.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-simulate-"))
    out = {"machine": platform.processor() or platform.machine(), "python": platform.python_version(),
           "workload": str(WORKLOAD.name)}
    try:
        command = [sys.executable, "-m", "verify", "simulate", "--config", str(WORKLOAD), "--json", "--out"]
        python_default = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        _whole(command + [str(work / "warm-up")], env=python_default)     # writes the bytecode cache
        runs, runs_env = [], []
        for i in range(args.repeat):
            runs.append(_whole(command + [str(work / f"sim{i}")], env=python_default))
            runs_env.append(_whole(command + [str(work / f"env{i}")]))
        summary = json.loads((work / "sim0" / "summary.json").read_text())
        out["simulate_process_s"] = runs
        out["simulate_median_s"] = float(np.median(runs))
        out["environment_PYTHONDONTWRITEBYTECODE"] = os.environ.get("PYTHONDONTWRITEBYTECODE")
        out["simulate_process_s_this_environment"] = runs_env
        out["simulate_median_s_this_environment"] = float(np.median(runs_env))
        out["simulate_t_half"] = summary["t_half"]

        start = time.perf_counter()
        t_half_gd = numpy_gd_baseline(data.X, data.y, a, W, data.z, data.moments["z_Sinv_z"],
                                      int(round(T_MAX / ETA)))
        out["numpy_gd_s"] = time.perf_counter() - start
        out["numpy_gd_t_half"] = t_half_gd
        out["speedup_over_numpy_gd"] = out["numpy_gd_s"] / out["simulate_median_s"]
        out["speedup_over_numpy_gd_this_environment"] = out["numpy_gd_s"] / out["simulate_median_s_this_environment"]

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
                             str(work / f"jax{i}.json")]) for i in range(args.repeat)]
            inner = json.loads((work / "jax0.json").read_text())
            out["jax_diffrax_process_s"] = times
            out["jax_diffrax_median_s"] = float(np.median(times))
            out["jax_diffrax_split"] = inner
            out["ratio_jax_over_simulate"] = out["jax_diffrax_median_s"] / out["simulate_median_s"]
        else:
            out["jax_diffrax"] = "skipped: no Python with jax and diffrax (pass --jax-python)"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
