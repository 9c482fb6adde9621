"""Same verdicts under other CPU code paths: the quick profile of every paper under several settings, compared.

A verdict must not depend on the machine that computed it.  One machine can
imitate several: PyTorch picks its vectorised kernels by
``ATEN_CPU_CAPABILITY`` (``default``, ``avx2``, ``avx512``), OpenBLAS (NumPy,
SciPy) its kernels by ``OPENBLAS_CORETYPE`` (``Prescott``, ``Haswell``,
``SkylakeX``, ``Zen``, ...), and MKL (PyTorch's BLAS on x86) its code path
by ``MKL_CBWR`` / ``MKL_ENABLE_INSTRUCTIONS``.  This script runs

    python -m verify all --quick --no-figures --no-cache --json

once per setting (each in a fresh process, the variables set before any
library loads), then compares the reports claim by claim:

* the verdicts (claim, negative control and calibrated control) must be identical: any
  difference is a failure (exit 1);
* the key numbers must agree within each claim's resolution: the margin (the
  used fraction of the claim's tolerance) may move by at most
  ``--margin-spread`` (default 0.25 of the tolerance), which is reported per
  claim with the relative spread of the measured key value.

Usage::

    python benchmarks/cross_machine.py                      # the three settings below, all papers
    python benchmarks/cross_machine.py --paper early-training --out /tmp/xm
    python benchmarks/cross_machine.py --markdown           # the per-claim spread as a Markdown table
    python benchmarks/cross_machine.py --reference DIR --settings avx2,baseline
                                       # CI: its own quick run (reports in DIR) against two more settings

Exit status: 0 when verdicts agree and every spread is within its bound, 1
otherwise, 2 for bad options.  Time: about three quick runs (3-4 minutes on
two cores).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: the CPU settings compared: name -> environment variables (set on top of the inherited environment)
SETTINGS = {
    "native": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "OPENBLAS_CORETYPE": "Haswell", "MKL_CBWR": "AVX2",
             "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "baseline": {"ATEN_CPU_CAPABILITY": "default", "OPENBLAS_CORETYPE": "Prescott", "MKL_CBWR": "COMPATIBLE",
                 "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
}
#: variables cleared before each run so that the inherited environment cannot pick a code path of its own
CLEARED = ("ATEN_CPU_CAPABILITY", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS")


def run_setting(name: str, extra: dict, out: Path, papers: list[str], workers: int, profile: str = "quick",
                claims: list[str] | None = None) -> dict:
    """Run ``profile`` (every claim of ``papers``, or only ``claims``) under one setting; return
    ``{claim: {"status", "control", "key", "paper"}}``."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(extra)
    env["VERIFY_NO_CACHE"] = "1"
    folder = out / name
    results = {}
    common = [f"--{profile}"] if profile != "default" else []
    common += ["--no-figures", "--no-cache", "--workers", str(workers), "--out", str(folder)]
    if claims:
        commands = [[sys.executable, "-m", "verify", "run", *claims, *common]]
    else:
        commands = [[sys.executable, "-m", "verify", "all", "--paper", paper, *common] for paper in papers]
    for cmd in commands:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        if proc.returncode not in (0, 1):
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit(f"{name}: {' '.join(cmd[2:])} exited {proc.returncode}")
    results = read_reports(folder, profile)
    capability = subprocess.run([sys.executable, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability())"],
                                env=env, capture_output=True, text=True).stdout.strip()
    print(f"{name:>9}: {len(results)} claims (torch CPU capability {capability or '?'})", flush=True)
    return results


def read_reports(folder: Path, profile: str) -> dict:
    """``{claim: {"status", "control", "key", "paper"}}`` from every ``<paper>/<profile>-seed0/report.json`` under
    ``folder`` (the report files are read as data: only these fields are used)."""
    results = {}
    for path in sorted(folder.glob(f"*/{profile}-seed0/report.json")):
        report = json.loads(path.read_text())
        paper = str(report["paper"]["key"])
        for claim in report["claims"]:
            control = claim.get("negative_control") or {}
            calibrated = claim.get("calibrated_control") or {}
            results[str(claim["claim"])] = {"status": claim["status"], "control": control.get("status"),
                                            "calibrated": calibrated.get("status"),
                                            "key": claim.get("key") or {}, "paper": paper}
    return results


def _float(x):
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def compare(runs: dict, margin_spread: float) -> tuple[list[dict], list[str]]:
    """Rows of per-claim spreads and the list of problems (verdict differences, spreads past the bound)."""
    names = list(runs)
    claims = list(runs[names[-1]])
    problems, rows = [], []
    for cid in claims:
        missing = [n for n in names if cid not in runs[n]]
        if missing:
            problems.append(f"{cid}: missing under {', '.join(missing)}")
            continue
        statuses = {n: runs[n][cid]["status"] for n in names}
        controls = {n: runs[n][cid]["control"] for n in names}
        if len(set(statuses.values())) > 1:
            problems.append(f"{cid}: verdict differs: " + ", ".join(f"{n} {s}" for n, s in statuses.items()))
        if len(set(controls.values())) > 1:
            problems.append(f"{cid}: negative control differs: " + ", ".join(f"{n} {s}" for n, s in controls.items()))
        calibrated = {n: runs[n][cid].get("calibrated") for n in names}
        if len(set(calibrated.values())) > 1:
            problems.append(f"{cid}: calibrated control differs: " +
                            ", ".join(f"{n} {s}" for n, s in calibrated.items()))
        margins = [_float(runs[n][cid]["key"].get("margin")) for n in names]
        measured = [_float(runs[n][cid]["key"].get("measured")) for n in names]
        dm = max(margins) - min(margins) if all(m is not None for m in margins) else None
        scale = max((abs(m) for m in measured if m is not None), default=None)
        dv = (max(measured) - min(measured)) / scale if all(m is not None for m in measured) and scale else \
            (0.0 if all(m is not None for m in measured) else None)
        if dm is not None and dm > margin_spread:
            problems.append(f"{cid}: margin moves by {dm:.3g} of its tolerance across settings "
                            f"(bound {margin_spread:g}): " + ", ".join(f"{n} {m:.4g}" for n, m in zip(names, margins)))
        rows.append({"claim": cid, "paper": runs[names[-1]][cid]["paper"], "status": statuses[names[-1]],
                     "margin_spread": dm, "relative_measured_spread": dv,
                     "margins": dict(zip(names, margins))})
    return rows, problems


def _fmt(x) -> str:
    return "-" if x is None else "0" if x == 0 else f"{x:.2g}"


def markdown(rows: list[dict]) -> str:
    lines = ["| claim | verdict | margin spread (of the tolerance) | relative spread of the key value |",
             "|---|---|---|---|"]
    lines += [f"| {r['claim']} | {r['status']} | {_fmt(r['margin_spread'])} | {_fmt(r['relative_measured_spread'])} |"
              for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paper", action="append", help="one paper (repeatable; default: every paper)")
    ap.add_argument("--profile", choices=("quick", "default", "full"), default="quick")
    ap.add_argument("--claims", nargs="+", metavar="CLAIM", help="only these claims (ids as in 'verify list')")
    ap.add_argument("--settings", default=",".join(SETTINGS),
                    help=f"comma-separated settings among {', '.join(SETTINGS)} (default: all)")
    ap.add_argument("--reference", metavar="DIR",
                    help="reports of a run already made with this profile and seed 0 in the inherited environment "
                         "(e.g. CI's quick run): compared as the setting 'reference' instead of running it again")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--margin-spread", type=float, default=0.25,
                    help="largest allowed spread of a claim's margin across settings (default 0.25)")
    ap.add_argument("--out", help="folder for the reports (default: a temporary folder)")
    ap.add_argument("--json", metavar="FILE", help="also write the per-claim spreads to FILE")
    ap.add_argument("--markdown", action="store_true", help="print the per-claim spreads as a Markdown table")
    args = ap.parse_args(argv)
    chosen = [s.strip() for s in args.settings.split(",") if s.strip()]
    bad = [s for s in chosen if s not in SETTINGS]
    if bad or len(chosen) + bool(args.reference) < 2:
        print(f"error: --settings {args.settings!r}: need two or more of {', '.join(SETTINGS)}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print(f"error: --workers {args.workers}: must be >= 1", file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO))
    from verify.registry import load_papers

    known = list(load_papers(claims=False))
    papers = args.paper or known
    if any(p not in known for p in papers):
        print(f"error: --paper {papers}: each must be one of {', '.join(known)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="cross-machine-") as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        runs = {}
        if args.reference:
            runs["reference"] = read_reports(Path(args.reference), args.profile)
            if not runs["reference"]:
                print(f"error: --reference {args.reference}: no */{args.profile}-seed0/report.json there; "
                      "run 'python -m verify all --out DIR' first", file=sys.stderr)
                return 2
            print(f"reference: {len(runs['reference'])} claims from {args.reference}", flush=True)
        for name in chosen:
            runs[name] = run_setting(name, SETTINGS[name], out, papers, args.workers, args.profile, args.claims)
        if args.reference:         # the reference may hold more papers than were asked for: keep the ones run here
            runs["reference"] = {c: v for c, v in runs["reference"].items() if c in runs[chosen[0]]}
    rows, problems = compare(runs, args.margin_spread)
    if args.json:
        Path(args.json).write_text(json.dumps({"settings": {n: SETTINGS[n] for n in chosen}, "claims": rows},
                                              indent=1))
    if args.markdown:
        print(markdown(rows))
    worst = max((r["margin_spread"] for r in rows if r["margin_spread"] is not None), default=0.0)
    print(f"{len(rows)} claims ({args.profile} profile) under {len(runs)} settings: "
          f"{'verdicts identical' if not any('differs' in p for p in problems) else 'VERDICTS DIFFER'}; "
          f"largest margin spread {worst:.3g} of a tolerance (bound {args.margin_spread:g})")
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
