"""Run claims, assemble the versioned report, write JSON, Markdown, HTML and figures.

``report.json`` holds no clock readings (they go to ``timing.json``), so the
same seed, profile and revision give the same JSON.
"""
from __future__ import annotations

import json
import platform
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

import theory
from theory._derivation import derivation_text

from . import figures as figs
from .claims import REGISTRY, Context
from .claims._base import _clean
from .report import SCHEMA, validate_report, write_report

__all__ = ["run_claims", "GROUPS", "run_id"]

#: Claims that share simulations run in the same worker.
GROUPS = [
    ["D1-gradient-flow", "D2-taylor-remainder"],
    ["D3-higher-order-bound", "D5-growth-lemma", "D7-w2rel-decay", "D8-logistic-K", "D9-t-half",
     "D10-plateau-loss"],
    ["D4-linearized-flow", "D6-initial-plateau"],
    ["D7-amplitudes-similar"],
    ["D9-slope-alpha"],
    ["D9-slope-log-m"],
    ["D9-gd-rate"],
    ["D11-secondary-plateau"],
]


def run_id(profile: str, seed: int) -> str:
    return f"{profile}-seed{seed}"


def _one(ctx: Context, cid: str) -> tuple[dict, float]:
    claim = REGISTRY[cid]
    start = time.perf_counter()
    try:
        verdict = claim.check(ctx).as_dict()
    except Exception as exc:  # noqa: BLE001 - every claim runs even after another fails
        verdict = {"claim": cid, "title": claim.title, "status": "inconclusive", "predicted": None,
                   "measured": None, "tolerance": None, "seeds": [], "fits": {}, "figures": [],
                   "label": "check of a reconstructed theorem", "details": {"error": f"{type(exc).__name__}: {exc}"}}
    try:
        control = claim.negative_control(ctx).as_dict()
        control_out = {"description": claim.control_description, "status": control["status"],
                       "predicted": control["predicted"], "measured": control["measured"]}
    except Exception as exc:  # noqa: BLE001
        control_out = {"description": claim.control_description, "status": "inconclusive",
                       "predicted": None, "measured": f"{type(exc).__name__}: {exc}"}
    verdict["negative_control"] = control_out
    if control_out["status"] != "failed" and verdict["status"] == "passed":
        verdict["status"] = "inconclusive"
        verdict.setdefault("details", {})["negative_control"] = (
            "the negative control did not fail, so this check cannot tell a right prediction from a wrong one")
    verdict["derivation"] = claim.derivation
    if claim.heuristic:
        verdict["label"] = "measurement of a heuristic claim (arXiv:2410.20119 argues it without proof)"
    else:
        verdict["label"] = "check of our reconstruction of a result of arXiv:2410.20119"
    return verdict, time.perf_counter() - start


def _group(args) -> list:
    ids, profile, seed, backend, device = args
    ctx = Context.make(profile, seed=seed, backend=backend, device=device)
    return [_one(ctx, cid) for cid in ids]


def _derivation_texts(keys) -> dict:
    out = {}
    for key in keys:
        mod = theory.module(key)
        d = mod.derive()
        text = derivation_text(mod.__name__)
        plain = {k: v.replace("``", "") for k, v in text.items()}     # reST literals read as plain text
        out[key] = {"statement": plain.get("statement", ""), "assumptions": plain.get("assumptions", ""),
                    "latex": [__import__("sympy").latex(v) for v in d.results.values()],
                    "identities": d.identities}
    return out


def _versions() -> dict:
    import matplotlib
    import scipy
    import sympy

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    from verify.engine.kernels import fused_status

    fused, why = fused_status()
    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "sympy": sympy.__version__, "matplotlib": matplotlib.__version__, "torch": torch_version,
            "fused_kernel": "built" if fused else why}


def _git(*args) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def run_claims(ids: list[str], *, profile: str = "default", seed: int = 0, backend: str = "auto",
               device: str = "cpu", workers: int = 1, out_dir: str | Path | None = None,
               accept_failures=(), figures: bool = True, progress=print) -> tuple[dict, dict]:
    """Run the claims ``ids``; return ``(report, paths)`` after writing them under ``out_dir``."""
    start = time.perf_counter()
    groups = [[c for c in g if c in ids] for g in GROUPS] + [[c for c in ids if not any(c in g for g in GROUPS)]]
    groups = [g for g in groups if g]
    jobs = [(g, profile, seed, backend, device) for g in groups]
    results, timings = {}, {}
    out_dir = Path(out_dir) if out_dir else Path("reports") / run_id(profile, seed)
    keys = sorted({REGISTRY[c].derivation for c in ids}, key=lambda k: int(k[1:]))
    staging = Path(tempfile.mkdtemp(prefix="verify-figures-"))
    fig_args = (profile, seed, backend, device, str(staging / "figures"))
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            texts_future = pool.submit(_derivation_texts, keys)
            figures_future = pool.submit(figs.simulated_figures, *fig_args) if figures else None
            for out in pool.map(_group, jobs):
                for verdict, seconds in out:
                    results[verdict["claim"]], timings[verdict["claim"]] = verdict, seconds
                    progress(f"  {verdict['status']:<14} {verdict['claim']}")
            texts = texts_future.result()
            figure_list = figures_future.result() if figures else []
    else:
        for job in jobs:
            for verdict, seconds in _group(job):
                results[verdict["claim"]], timings[verdict["claim"]] = verdict, seconds
                progress(f"  {verdict['status']:<14} {verdict['claim']}")
        texts = _derivation_texts(keys)
        figure_list = figs.simulated_figures(*fig_args) if figures else []
    claims = []
    for cid in ids:
        v = results[cid]
        text = texts[v["derivation"]]
        v.update({"statement": text["statement"], "assumptions": text["assumptions"], "latex": text["latex"]})
        v.setdefault("details", {})["derivation_identities_verified"] = all(text["identities"].values())
        claims.append(v)
    if figures:
        fig2 = figs.figure_descent_time(results, staging / "figures")
        if fig2:
            figure_list.insert(1, fig2)
    statuses = [c["status"] for c in claims]
    summary = {s: statuses.count(s) for s in ("passed", "failed", "inconclusive", "not-applicable")}
    report = {
        "schema": SCHEMA, "run_id": run_id(profile, seed), "profile": profile,
        "created": _git("log", "-1", "--format=%cI") or "1970-01-01T00:00:00+00:00", "seed": seed,
        "wall_time_s": None, "git_revision": _git("rev-parse", "HEAD"), "backend": backend, "device": device,
        "versions": _versions(), "config": Context.make(profile, seed=seed).config().as_dict(),
        "summary": summary, "known_failures": sorted(set(accept_failures) & set(ids)),
        "claims": claims, "figures": figure_list,
    }
    report = _clean(report)
    validate_report(report)                         # nothing is written for an invalid report
    if figures:
        (out_dir / "figures").mkdir(parents=True, exist_ok=True)
        for f in (staging / "figures").iterdir():
            shutil.move(str(f), out_dir / "figures" / f.name)
    shutil.rmtree(staging, ignore_errors=True)
    paths = write_report(report, out_dir)           # the figures are in place, so the HTML embeds them
    timing = {"wall_time_s": time.perf_counter() - start, "per_claim_s": timings, "workers": workers}
    (out_dir / "timing.json").write_text(json.dumps(timing, indent=2))
    paths["timing"] = str(out_dir / "timing.json")
    return report, paths
