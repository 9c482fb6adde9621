"""Threads that fit the machine (issue 25, target 4): each command's default threads next to one busy neighbour
process, against the same command on one thread without the neighbour.

    python benchmarks/bench_threads.py [--repeat 3] [--json FILE]

For every command it runs, interleaved and ``--repeat`` times:

* ``one``: ``--threads 1``, no neighbour (the single-thread time);
* ``auto``: no ``--threads`` (the command chooses, :mod:`verify.threads`), with one busy neighbour;
* ``all``: ``--threads`` set to every core, with the same neighbour (what a command did that took PyTorch's
  and the BLAS's defaults).

and prints the medians and the ratios auto / one (target: at most 1.3) and all / one.  The neighbour is a
Python process spinning on one core.  Figures and the machine go in benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands(tmp: Path) -> dict[str, list[str]]:
    py = [sys.executable, "-m", "verify"]
    return {
        "critical-lr d4 w64 zero-last-layer": py + ["early-training", "critical-lr", "--depth", "4", "--width", "64",
                                                    "--zero-last-layer", "--quiet", "--json"],
        "simulate (workload A, m = 800)": py + ["simulate", "--config", str(ROOT / "benchmarks" / "simulate_workload.toml"),
                                                "--out", str(tmp / "sim"), "--no-progress"],
        "run Q2 --quick": py + ["run", "Q2", "--quick", "--no-cache", "--no-figures", "--out", str(tmp / "q2")],
    }


def timed(cmd: list[str], threads: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                            "MKL_NUM_THREADS")}
    full = cmd + (["--threads", threads] if threads is not None else [])
    start = time.perf_counter()
    done = subprocess.run(full, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(full)} exited {done.returncode}: {done.stderr.strip()[-400:]}")
    return seconds


class Neighbour:
    """One busy Python process (a spin loop) while the block runs."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)          # let it show in /proc/stat
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--only", help="run only the commands whose name contains this text")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores; load average before: {os.getloadavg()[0]:.2f}")
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, cmd in commands(Path(tmp)).items():
            if args.only and args.only not in name:
                continue
            times = {"one": [], "auto": [], "all": []}
            for _ in range(args.repeat):
                times["one"].append(timed(cmd, "1"))
                with Neighbour():
                    times["auto"].append(timed(cmd, None))
                    times["all"].append(timed(cmd, str(cores)))
            med = {k: statistics.median(v) for k, v in times.items()}
            out[name] = {"median_s": med, "auto_over_one": med["auto"] / med["one"],
                         "all_over_one": med["all"] / med["one"], "times_s": times}
            print(f"{name:<36} one {med['one']:7.2f} s   auto+neighbour {med['auto']:7.2f} s "
                  f"({med['auto'] / med['one']:.2f}x)   all cores+neighbour {med['all']:7.2f} s "
                  f"({med['all'] / med['one']:.2f}x)", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    worst = max((v["auto_over_one"] for v in out.values()), default=float("nan"))
    print(f"worst auto / one: {worst:.2f} (target <= 1.3)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
