"""Where the time of one ``simulate`` run goes, phase by phase, on one core (issue 25, target 3).

Usage: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/simulate_split.py [--size B] [--rtol 1e-5]
       [--grid G] [--remainder on|off] [--per-neuron on|off] [--npz-dtype float64|float32] [--json FILE]

Runs the steps of ``python -m verify multistage simulate`` one after the other in this process, pinned to one
core so that no phase hides behind another on a second core (the recorded losses and the D3 remainder's fields
otherwise run in side threads), and times each:

- imports: a fresh ``python -c`` that imports what the command imports (its CLI, the simulator, the figure, the
  stage detector's filters and the predictions);
- configuration: ``config_from_dict`` and the data set;
- integration: ``integrate`` minus the recorded losses (timed on their own, right after, on the same states);
- recorded losses: one loss evaluation per recording;
- observables without the D3 remainder, and the remainder's extra field evaluations (the difference);
- measure (stages, events), NPZ/CSV writing, the prediction and loss.png.

Sizes (``bench_flow_vs_jax.py``'s): A m = 800, n = 300, d = 3, t to 100; B m = 4000, n = 2000, d = 8, t to 20;
C m = 20000, n = 2000, d = 8, t to 20.  ``--grid``, ``--remainder`` and ``--per-neuron`` default to what the
command chooses at that size (``verify.multistage.cli.output_plan``).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

IMPORTS = ("import verify.cli, verify.multistage.cli, verify.multistage.simulation, verify.report.figures, "
           "scipy.ndimage, verify.multistage.prediction, matplotlib.backends.backend_agg")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="B", choices=("A", "B", "C"))
    parser.add_argument("--rtol", type=float, default=1e-5)
    parser.add_argument("--grid", type=int, default=None)
    parser.add_argument("--remainder", choices=("on", "off"), default=None)
    parser.add_argument("--per-neuron", choices=("on", "off"), default=None)
    parser.add_argument("--npz-dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    load0 = os.getloadavg()[0]

    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", IMPORTS], check=True, cwd=HERE.parent)   # this checkout's verify
    phases = {"imports (a fresh process)": time.perf_counter() - start}

    from bench_flow_vs_jax import SIZES, setup

    from verify.multistage.cli import output_plan
    from verify.multistage.simulation import integrate, measure, missing, observe
    from verify.multistage.prediction import predict
    from verify.report.figures import loss_figure

    m, n, d, t_max = SIZES[args.size]
    start = time.perf_counter()
    config, _, _ = setup(m, n, d, t_max)
    config.dataset
    phases["configuration and data"] = time.perf_counter() - start
    plan = output_plan(config, grid=args.grid, remainder=None if args.remainder is None else args.remainder == "on",
                       per_neuron=None if args.per_neuron is None else args.per_neuron == "on")
    start = time.perf_counter()
    traj, kernel = integrate(config, rtol=args.rtol, grid=plan["grid"], progress=False, notify=lambda _: None)
    whole = time.perf_counter() - start
    start = time.perf_counter()
    for th in traj.theta:
        kernel.loss(th)
    losses = time.perf_counter() - start
    phases["integration (solver steps, field, dense output, events)"] = whole - losses
    phases[f"recorded losses ({len(traj.t)} loss evaluations)"] = losses
    start = time.perf_counter()
    observe(config, traj, kernel, remainder=False, per_neuron=plan["per_neuron"])
    phases["observables (without the D3 remainder)"] = time.perf_counter() - start
    if plan["remainder"]:
        start = time.perf_counter()
        obs = observe(config, traj, kernel, remainder=True, per_neuron=plan["per_neuron"])
        phases["D3 remainder's extra field evaluations"] = (time.perf_counter() - start
                                                            - phases["observables (without the D3 remainder)"])
    else:
        obs = observe(config, traj, kernel, remainder=False, per_neuron=plan["per_neuron"])
    start = time.perf_counter()
    summary = measure(config, traj, obs, kernel)
    phases["measure (stages, events)"] = time.perf_counter() - start
    work = Path(tempfile.mkdtemp(prefix="simulate-split-"))
    start = time.perf_counter()
    paths = traj.save(work, "trajectory", {k: v for k, v in obs.items() if k != "loss"},
                      missing=missing(config, remainder=plan["remainder"]), dtype=args.npz_dtype,
                      storage=plan["storage"])
    phases["NPZ, CSV and columns files"] = time.perf_counter() - start
    size_mb = os.path.getsize(paths["npz"]) / 1e6
    start = time.perf_counter()
    plateau = predict(config)["plateau_loss"]
    loss_figure(traj.t, traj.loss, summary["stages"], work / "loss.png", plateau_level=plateau)
    phases["prediction and loss.png"] = time.perf_counter() - start
    for p in work.iterdir():
        p.unlink()
    work.rmdir()
    total = sum(phases.values())
    integration = phases["integration (solver steps, field, dense output, events)"]
    print(f"size {args.size} (m = {m}, n = {n}, d = {d}, t to {t_max:g}), rtol {args.rtol:g}, {len(traj.t)} "
          f"recordings, remainder {'on' if plan['remainder'] else 'off'}, per-neuron arrays "
          f"{'on' if plan['per_neuron'] else 'off'}, NPZ {args.npz_dtype} ({size_mb:.1f} MB), "
          f"{traj.info['field_evaluations']} field evaluations by the solver; one core; load {load0:.2f}")
    print("| phase | seconds | share |\n| --- | --- | --- |")
    for name, s in phases.items():
        print(f"| {name} | {s:.3f} | {s / total:.0%} |")
    rest = total - integration
    print(f"| total | {total:.3f} | |\nall but the integration: {rest:.3f} s = {rest / integration:.2f} x the "
          "integration")
    if args.json:
        Path(args.json).write_text(json.dumps({"size": args.size, "phases_s": phases, "npz_mb": size_mb,
                                               "plan": {k: v for k, v in plan.items() if k != "storage"}},
                                              indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
