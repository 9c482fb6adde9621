"""Run claims, assemble one versioned report per paper, write JSON, Markdown, HTML and figures.

Claims that share simulations (the same ``group``) run in one worker with one
context, so they share its run cache; groups are read from the claims
themselves.  ``report.json`` holds no clock readings (they go to
``timing.json``), so the same seed, profile and revision give the same JSON.
"""
from __future__ import annotations

import platform
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import sympy as sp

from ._io import atomic_write, dumps, jsonable
from .registry import REGISTRY, STATUSES, Status, load_papers
from .report import SCHEMA, validate_report, write_report
from .report.index import write_index

__all__ = ["run_claims", "run_paper", "run_id", "groups_of", "REPORTS_ROOT"]

#: where reports go unless ``out_root`` says otherwise: ``reports/<paper>/<run-id>/``
REPORTS_ROOT = Path("reports")


def run_id(profile: str, seed: int) -> str:
    return f"{profile}-seed{seed}"


def groups_of(ids: list[str]) -> list[list[str]]:
    """The claims ``ids`` split into run groups (claims of one group share a worker), in order of appearance."""
    groups: dict[str, list[str]] = {}
    for cid in ids:
        claim = REGISTRY[cid]
        groups.setdefault(f"{claim.paper}/{claim.run_group}", []).append(cid)
    return list(groups.values())


def _one(paper, ctx, cid: str) -> tuple[dict, float]:
    claim = REGISTRY[cid]
    start = time.perf_counter()
    try:
        verdict = claim.check(ctx).as_dict()
    except Exception as exc:  # noqa: BLE001 - every claim runs even after another fails
        verdict = {"claim": cid, "title": claim.title, "status": Status.INCONCLUSIVE.value, "predicted": None,
                   "measured": None, "tolerance": None, "seeds": [], "fits": {}, "figures": [],
                   "label": paper.label, "details": {"error": f"{type(exc).__name__}: {exc}"}}
    try:
        control = claim.negative_control(ctx).as_dict()
        control_out = {"description": claim.control_description, "status": control["status"],
                       "predicted": control["predicted"], "measured": control["measured"]}
    except Exception as exc:  # noqa: BLE001
        control_out = {"description": claim.control_description, "status": Status.INCONCLUSIVE.value,
                       "predicted": None, "measured": f"{type(exc).__name__}: {exc}"}
    verdict["negative_control"] = control_out
    if control_out["status"] != Status.FAILED and verdict["status"] == Status.PASSED:
        verdict["status"] = Status.INCONCLUSIVE.value
        verdict.setdefault("details", {})["negative_control"] = (
            "the negative control did not fail, so this check cannot tell a right prediction from a wrong one")
    verdict["derivation"] = claim.derivation
    verdict["label"] = paper.heuristic_label if claim.heuristic else paper.label
    return verdict, time.perf_counter() - start


def _group(args) -> list:
    ids, profile, seed, backend, device = args
    paper = load_papers()[REGISTRY[ids[0]].paper]
    ctx = paper.make_context(profile, seed=seed, backend=backend, device=device)
    return [_one(paper, ctx, cid) for cid in ids]


def _derivation_texts(paper_key: str, keys) -> dict:
    paper = load_papers()[paper_key]
    out = {}
    for key in keys:
        d = paper.derivation(key)
        plain = {k: v.replace("``", "") for k, v in d.text.items()}     # reST literals read as plain text
        out[key] = {"statement": plain.get("statement", ""), "assumptions": plain.get("assumptions", ""),
                    "latex": [sp.latex(v) for v in d.results.values()], "identities": d.identities}
    return out


def _figures(paper_key: str, *args) -> list:
    return load_papers()[paper_key].figures(*args)


def _versions() -> dict:
    import matplotlib
    import scipy

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    from .engines.twolayer import fused_status

    fused, why = fused_status()
    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "sympy": sp.__version__, "matplotlib": matplotlib.__version__, "torch": torch_version,
            "fused_kernel": "built" if fused else why}


def _git(*args) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def run_paper(paper_key: str, ids: list[str], *, profile: str = "default", seed: int = 0, backend: str = "auto",
              device: str = "cpu", workers: int = 1, out_dir: str | Path | None = None, accept_failures=(),
              figures: bool = True, progress=print) -> tuple[dict, dict]:
    """Run the claims ``ids`` of one paper; return ``(report, paths)`` after writing them under ``out_dir``
    (default ``reports/<paper>/<profile>-seed<seed>``)."""
    paper = load_papers()[paper_key]
    wrong = [cid for cid in ids if REGISTRY[cid].paper != paper_key]
    if wrong:
        raise ValueError(f"claims {wrong} are not claims of the paper {paper_key}")
    start = time.perf_counter()
    jobs = [(g, profile, seed, backend, device) for g in groups_of(ids)]
    results, timings = {}, {}
    out_dir = Path(out_dir) if out_dir else REPORTS_ROOT / paper_key / run_id(profile, seed)
    keys = list(dict.fromkeys(REGISTRY[c].derivation for c in ids))
    staging = Path(tempfile.mkdtemp(prefix="verify-figures-"))
    want_figures = figures and paper.figures is not None
    fig_args = (paper_key, profile, seed, backend, device, str(staging / "figures"))
    try:
        if workers > 1:
            with ProcessPoolExecutor(workers) as pool:
                texts_future = pool.submit(_derivation_texts, paper_key, keys)
                figures_future = pool.submit(_figures, *fig_args) if want_figures else None
                for out in pool.map(_group, jobs):
                    for verdict, seconds in out:
                        results[verdict["claim"]], timings[verdict["claim"]] = verdict, seconds
                        progress(f"  {verdict['status']:<14} {verdict['claim']}")
                texts = texts_future.result()
                figure_list = figures_future.result() if want_figures else []
        else:
            for job in jobs:
                for verdict, seconds in _group(job):
                    results[verdict["claim"]], timings[verdict["claim"]] = verdict, seconds
                    progress(f"  {verdict['status']:<14} {verdict['claim']}")
            texts = _derivation_texts(paper_key, keys)
            figure_list = _figures(*fig_args) if want_figures else []
        claims = []
        for cid in ids:
            v = results[cid]
            text = texts[v["derivation"]]
            v.update({"statement": text["statement"], "assumptions": text["assumptions"], "latex": text["latex"]})
            v.setdefault("details", {})["derivation_identities_verified"] = all(text["identities"].values())
            claims.append(v)
        if figures and paper.result_figures is not None:
            figure_list[1:1] = paper.result_figures(results, staging / "figures")
        statuses = [c["status"] for c in claims]
        report = {
            "schema": SCHEMA, "run_id": run_id(profile, seed),
            "paper": {"key": paper.key, "title": paper.title, "arxiv": paper.arxiv},
            "profile": profile,
            "created": _git("log", "-1", "--format=%cI") or "1970-01-01T00:00:00+00:00", "seed": seed,
            "wall_time_s": None, "git_revision": _git("rev-parse", "HEAD"), "backend": backend, "device": device,
            "versions": _versions(), "config": paper.config(profile, seed),
            "summary": {s: statuses.count(s) for s in STATUSES},
            "known_failures": sorted(set(accept_failures) & set(ids)),
            "claims": claims, "figures": figure_list,
        }
        report = jsonable(report)
        validate_report(report)                     # nothing is written for an invalid report
        if figures:
            (out_dir / "figures").mkdir(parents=True, exist_ok=True)
            for f in (staging / "figures").iterdir() if (staging / "figures").is_dir() else ():
                shutil.move(str(f), out_dir / "figures" / f.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    paths = write_report(report, out_dir)           # the figures are in place, so the HTML embeds them
    timing = {"wall_time_s": time.perf_counter() - start, "per_claim_s": timings, "workers": workers}
    atomic_write(out_dir / "timing.json", dumps(timing))
    paths["timing"] = str(out_dir / "timing.json")
    return report, paths


def run_claims(ids: list[str], *, out_root: str | Path | None = None, **options) -> list[tuple[dict, dict]]:
    """Run the claims ``ids`` (of any papers): one report per paper under ``out_root/<paper>/<run-id>/``
    (default ``reports/``) and the index ``out_root/index.md`` and ``index.html``.  Returns
    ``[(report, paths), ...]`` in the order of the papers."""
    root = Path(out_root) if out_root else REPORTS_ROOT
    by_paper: dict[str, list[str]] = {}
    for cid in ids:
        by_paper.setdefault(REGISTRY[cid].paper, []).append(cid)
    order = list(load_papers())
    out = []
    for key in sorted(by_paper, key=order.index):
        rid = run_id(options.get("profile", "default"), options.get("seed", 0))
        out.append(run_paper(key, by_paper[key], out_dir=root / key / rid, **options))
    index = write_index(root)
    for _, paths in out:
        paths.update({f"index_{k}": v for k, v in index.items()})
    return out
