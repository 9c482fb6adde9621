"""Run claims, assemble one versioned report per paper, write JSON, Markdown, HTML and figures.

Claims that share simulations (the same ``group``) run in one worker with one
context, so they share its run cache; groups are read from the claims
themselves.  ``report.json`` holds no clock readings (they go to
``timing.json``), so the same seed, profile and revision give the same JSON.
This module orders the jobs, reads and fills the cache and assembles the
reports; :mod:`verify.pools` executes the jobs (in this process, a local
process pool or a Dask cluster) and caps their threads.
"""
from __future__ import annotations

import os
import re
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from functools import lru_cache
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import sympy as sp

from . import pools
from .output import atomic_write, dumps, jsonable
from .pools import Now, limit_threads, run_setup, single_threaded
from .registry import EXPECT_PASSED, REGISTRY, STATUSES, Status, check_key, load_papers
from .report import SCHEMA, validate_report, write_report
from .report.index import write_index

__all__ = ["run_claims", "run_paper", "run_id", "groups_of", "group_cost", "REPORTS_ROOT", "CLAIMS_ROOT"]

#: where ``all`` writes reports unless ``out_root`` says otherwise: ``runs/reports/<paper>/<run-id>/`` (outside the
#: committed ``reports/``, which ``python -m verify all --out reports`` regenerates)
REPORTS_ROOT = Path("runs") / "reports"
#: where ``run`` (some claims) writes its reports by default, so that it never overwrites a report of ``all``
CLAIMS_ROOT = Path("runs") / "claims"


def run_id(profile: str, seed: int) -> str:
    return f"{profile}-seed{seed}"


def groups_of(ids: list[str]) -> list[list[str]]:
    """The claims ``ids`` split into run groups (claims of one group share a worker), in order of appearance."""
    groups: dict[str, list[str]] = {}
    for cid in ids:
        claim = REGISTRY[cid]
        groups.setdefault(f"{claim.paper}/{claim.run_group}", []).append(cid)
    return list(groups.values())


def group_cost(ids: list[str]) -> float:
    """A run group's rough weight: the largest ``cost`` of its claims (:class:`verify.registry.Claim`)."""
    return max(REGISTRY[cid].cost for cid in ids)


def _traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` as text, its file names relative to the project (``verify/runner.py``) or named
    by their installation folder (``<site-packages>/numpy/...``, ``<python>/...``): the same error gives the same
    report.json on every machine and the report names no folder of the machine that wrote it."""
    import sysconfig
    import traceback

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip("\n")
    roots = [(Path(__file__).resolve().parents[1], "")]
    roots += [(Path(sysconfig.get_paths()[k]).resolve(), "<site-packages>/") for k in ("purelib", "platlib")]
    roots += [(Path(sys.base_prefix).resolve(), "<python>/"), (Path(sys.prefix).resolve(), "<python>/")]
    # the longest folders first (site-packages lies inside the Python prefix, the project may lie anywhere)
    for root, name in sorted(set(roots), key=lambda r: -len(str(r[0]))):
        text = text.replace(f'"{root}{os.sep}', f'"{name}')
    return text


def _error_verdict(paper, cid: str, exc: BaseException, where: str = "the check") -> dict:
    """The verdict of a claim whose check raised (or whose context could not be made): status ``error``, the
    exception in ``details`` and its traceback in ``traceback``; no measurement and no key number."""
    claim = REGISTRY[cid]
    return {"claim": cid, "title": claim.title, "status": Status.ERROR.value, "predicted": None,
            "measured": None, "tolerance": None, "seeds": [], "fits": {}, "figures": [],
            "label": paper.heuristic_label if claim.heuristic else paper.label, "derivation": claim.derivation,
            "details": {"error": f"{type(exc).__name__}: {exc}"}, "negative_control": None,
            "calibrated_control": None, "resolution": None, "range": None, "rows": None,
            "traceback": f"{where[0].upper()}{where[1:]} raised:\n{_traceback(exc)}"}


def _one(paper, ctx, cid: str) -> tuple[dict, float]:
    claim = REGISTRY[cid]
    start = time.perf_counter()
    try:
        reason = ctx.not_applicable(cid) if hasattr(ctx, "not_applicable") else None
    except Exception as exc:  # noqa: BLE001
        # deciding whether the claim applies raised (a bug, or a configuration the regime analysis cannot read):
        # an error verdict with its traceback, and the other claims still run
        return _error_verdict(paper, cid, exc, "deciding whether the claim applies"), time.perf_counter() - start
    if reason:
        verdict = {"claim": cid, "title": claim.title, "status": Status.NOT_APPLICABLE.value, "predicted": None,
                   "measured": None, "tolerance": None, "seeds": [], "fits": {}, "figures": [],
                   "details": {"not_applicable": reason},
                   "negative_control": {"description": claim.control_description,
                                        "status": Status.NOT_APPLICABLE.value, "predicted": None,
                                        "measured": "not run: the claim does not apply"},
                   "calibrated_control": None if claim.calibrated_control is None else {
                       "description": claim.calibrated_description, "status": Status.NOT_APPLICABLE.value,
                       "key": None},
                   "resolution": None, "range": None, "rows": None, "derivation": claim.derivation,
                   "label": paper.heuristic_label if claim.heuristic else paper.label}
        return verdict, time.perf_counter() - start
    # a check or control that raises is an error (a bug to fix), reported with its traceback; every claim runs
    # even after another raised
    try:
        verdict = claim.judge(claim.check, ctx).as_dict()
    except Exception as exc:  # noqa: BLE001
        verdict = _error_verdict(paper, cid, exc)
    try:
        control = claim.judge(claim.negative_control, ctx).as_dict()
        control_out = {"description": claim.control_description, "status": control["status"],
                       "predicted": control["predicted"], "measured": control["measured"],
                       "key": control.get("key")}
    except Exception as exc:  # noqa: BLE001
        control_out = {"description": claim.control_description, "status": Status.ERROR.value,
                       "predicted": None, "measured": f"{type(exc).__name__}: {exc}"}
        _control_raised(cid, verdict, "negative control", exc)
    verdict["negative_control"] = control_out
    if control_out["status"] != Status.FAILED and verdict["status"] == Status.PASSED:
        _inconclusive(cid, verdict, "negative_control",
                      "the negative control did not fail, so this check cannot tell a right prediction from a "
                      "wrong one")
    # the calibrated control: the prediction perturbed by at most twice the tolerance must fail too
    verdict["calibrated_control"] = None
    if claim.calibrated_control is not None:
        try:
            calibrated = claim.judge(claim.calibrated_control, ctx).as_dict()
            verdict["calibrated_control"] = {"description": claim.calibrated_description,
                                             "status": calibrated["status"], "key": calibrated.get("key")}
        except Exception as exc:  # noqa: BLE001
            verdict["calibrated_control"] = {"description": claim.calibrated_description,
                                             "status": Status.ERROR.value, "key": None}
            _control_raised(cid, verdict, "calibrated control", exc)
        else:
            if calibrated["status"] != Status.FAILED and verdict["status"] == Status.PASSED:
                _inconclusive(cid, verdict, "calibrated_control",
                              "the calibrated control did not fail: the check cannot resolve its own tolerance "
                              f"({' '.join(claim.calibrated_description.split())} came out {calibrated['status']})")
    verdict.setdefault("resolution", None)
    verdict.setdefault("range", None)
    verdict.setdefault("rows", None)
    verdict["derivation"] = claim.derivation
    verdict["label"] = paper.heuristic_label if claim.heuristic else paper.label
    return verdict, time.perf_counter() - start


def _control_raised(cid: str, verdict: dict, control: str, exc: BaseException) -> None:
    """A claim whose ``control`` (negative or calibrated) raised is an error too: the check cannot be trusted.
    The check's own status goes to ``details.check_status``, the key loses its margin and says why, and the
    control's traceback is added to the verdict's."""
    why = f"the {control} raised {type(exc).__name__}: {exc}"
    if verdict["status"] != Status.ERROR:
        verdict.setdefault("details", {})["check_status"] = verdict["status"]
        verdict["status"] = Status.ERROR.value
        verdict["details"]["error"] = why
        if verdict.get("key") is not None:
            verdict["key"] = {**verdict["key"], "margin": None, "why": why}
            check_key(cid, verdict["status"], verdict["key"])
    text = f"The {control} raised:\n{_traceback(exc)}"
    verdict["traceback"] = text if not verdict.get("traceback") else f"{verdict['traceback']}\n\n{text}"


def _inconclusive(cid: str, verdict: dict, control: str, reason: str) -> None:
    """A passed ``verdict`` whose ``control`` did not fail becomes inconclusive: the verdict now rests on the
    control, which the margin does not measure, so the key has no margin, and says why."""
    verdict["status"] = Status.INCONCLUSIVE.value
    verdict.setdefault("details", {})[control] = reason
    if verdict.get("key") is not None:
        verdict["key"] = {**verdict["key"], "margin": None, "why": reason}
        check_key(cid, verdict["status"], verdict["key"])


def _run_key(kind: str, **inputs) -> dict:
    """The cache address of a run's results: what was run, on what, and the version of all the code."""
    from . import cache

    return {"kind": kind, **inputs, "code": cache.code_version("theory", "verify")}


def _group(args) -> list:
    """One run group in a worker: its verdicts, from the content-addressed cache when this exact run (claims,
    profile, seed, backend, device, configuration, code) finished before, so that an interrupted run resumes
    where it stopped and a repeated one is quick."""
    from . import cache

    ids, profile, seed, backend, device, user, threads, *rest = args
    prepared = rest[0] if rest else None         # the results of the group's set-up jobs (Paper.setup_jobs)
    key = _run_key("claims", claims=list(ids), profile=profile, seed=seed, backend=backend, device=device,
                   user=user)
    hit = cache.get("runs", key)
    if _cached_verdicts(hit, ids):
        return [(verdict, seconds, True) for verdict, seconds in hit]
    with limit_threads(threads):
        paper = load_papers()[REGISTRY[ids[0]].paper]
        extra = {"user": user} if user is not None else {}
        if prepared:
            extra["prepared"] = prepared
        start = time.perf_counter()
        try:
            ctx = paper.make_context(profile, seed=seed, backend=backend, device=device, **extra)
        except Exception as exc:  # noqa: BLE001 - every claim of the group is an error, the other groups run
            seconds = time.perf_counter() - start
            out = [(_error_verdict(paper, cid, exc, "making the claim's context"), seconds) for cid in ids]
        else:
            out = [_one(paper, ctx, cid) for cid in ids]
    out = jsonable(out)
    if not any(v["status"] == Status.ERROR.value for v, _ in out):
        cache.put("runs", key, out)             # a run that raised is not kept: it may be a passing fault
    return [(verdict, seconds, False) for verdict, seconds in out]


def _cached_verdicts(hit, ids) -> bool:
    """Whether a cache entry holds the verdicts of the claims ``ids``, as :func:`_group` stores them: one
    ``[verdict, seconds]`` per claim, in order, each verdict a valid claim of a report
    (:func:`verify.report.render.validate_claim`: a known status, and never ``error``, which is not stored) with
    a key number consistent with its status, a negative control, and the calibrated control, resolution, range and
    rows (None where the claim has none).  A cache folder is outside the run's
    control, so anything else is a miss and the group runs again."""
    from theory.errors import InputError

    from .report.schema import validate_claim

    if not isinstance(hit, list) or len(hit) != len(ids):
        return False
    for item, cid in zip(hit, ids):
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], dict)):
            return False
        verdict, seconds = item
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or verdict.get("claim") != cid:
            return False
        if verdict.get("status") == Status.ERROR.value or not isinstance(verdict.get("negative_control"), dict):
            return False
        # entries written before calibrated controls, resolutions, ranges and rows were recorded are a miss (run
        # again)
        if any(name not in verdict for name in ("calibrated_control", "resolution", "range", "rows")):
            return False
        calibrated = verdict["calibrated_control"]
        if (calibrated is None) != (REGISTRY[cid].calibrated_control is None):
            return False
        try:
            validate_claim(verdict, cid)        # the schema, the range and rows, and every key's margin rule
        except (InputError, ValueError, TypeError, AttributeError):
            return False
    return True


def _derivation_texts(paper_key: str, keys) -> dict:
    """Statement, assumptions, rendered results and identities of each derivation, from the content-addressed
    cache when the theory code is unchanged (some derivations take seconds of SymPy)."""
    from . import cache

    paper = load_papers()[paper_key]
    out = {}
    for key in keys:
        address = {"paper": paper_key, "derivation": key, "code": cache.code_version("theory")}
        hit = cache.get("derivation-texts", address)
        if hit is not None:
            out[key] = hit
            continue
        d = paper.derivation(key)
        plain = {k: v.replace("``", "") for k, v in d.text.items()}     # reST literals read as plain text
        rendered = d.rendered()
        out[key] = {"statement": plain.get("statement", ""), "assumptions": plain.get("assumptions", ""),
                    "latex": [r["latex"] for r in rendered], "results": rendered,
                    "identities": {k: bool(v) for k, v in d.identities.items()}}
        cache.put("derivation-texts", address, out[key])
    return out


#: a figure file's name as the runner writes it: one plain file name of a figure format (never a path)
_FIGURE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}\.(png|svg|pdf)")


def figure_name_ok(name) -> bool:
    """Whether ``name`` is one plain figure file name: no separator, not absolute, no ``..``, a figure suffix."""
    return isinstance(name, str) and _FIGURE_NAME.fullmatch(name) is not None and ".." not in name


def _drawn_ok(value) -> tuple[bool, str]:
    """Whether a cached figure entry has the shape :func:`_drawn` stores: figure entries and files named by plain
    figure file names (:func:`figure_name_ok`) with base64 text (a cache folder is untrusted input)."""
    if not isinstance(value, dict) or not isinstance(value.get("figures"), list) \
            or not isinstance(value.get("files"), dict):
        return False, "not a figure entry"
    bad = [n for n, data in value["files"].items() if not figure_name_ok(n) or not isinstance(data, str)]
    if bad:
        return False, f"a figure file name that is not one plain file name ({bad[0][:60]!r})"
    for fig in value["figures"]:
        if not isinstance(fig, dict):
            return False, "a figure entry that is not an object"
        for field in ("png", "svg"):
            ref = fig.get(field)
            if ref is not None and not (isinstance(ref, str) and ref.startswith("figures/")
                                        and figure_name_ok(ref[len("figures/"):])):
                return False, f"a figure path outside the report's figures folder ({str(ref)[:60]!r})"
    return True, ""


def _write_figures(folder: Path, files: dict) -> None:
    """Write the base64 ``files`` into ``folder``, each name checked again (:func:`figure_name_ok`)."""
    import base64
    import binascii

    for name, data in files.items():
        if not figure_name_ok(name):
            raise ValueError(f"figure file name {name!r} is not one plain file name")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise ValueError(f"figure file {name!r} is not base64 text") from exc
        atomic_write(folder / name, raw)


def _drawn(key: str, draw) -> dict:
    """``{"figures": draw(folder), "files": {path in folder: base64}}``: ``draw`` writes its figures into a fresh
    folder of a temporary directory of its own and returns their entries; the parent writes the files, so the job
    can run in any worker (a process here or a Dask worker on another machine).  Cached under ``key``."""
    import base64

    from . import cache

    hit = cache.get("runs", key)
    if hit is not None:
        ok, why = _drawn_ok(hit)
        if ok:
            return hit
        cache._note(cache.address("runs", key), f"figure entry {cache.address('runs', key)[:12]} refused: {why}; "
                                                "drawing again")
    tmp = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{os.getpid()}-"))
    try:
        out = tmp / "figures"
        figures = draw(out)
        files = {p.relative_to(out).as_posix(): base64.b64encode(p.read_bytes()).decode("ascii")
                 for p in sorted(out.rglob("*")) if p.is_file()} if out.is_dir() else {}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    value = {"figures": jsonable(figures), "files": files}
    cache.put("runs", key, value)
    return value


def _figures(paper_key: str, profile, seed, backend, device) -> dict:
    """The paper's figures from fresh simulations: ``{"figures": [...], "files": {name: base64}}`` (:func:`_drawn`;
    from the cache when the same run finished before with the same code)."""
    key = _run_key("figures", paper=paper_key, profile=profile, seed=seed, backend=backend, device=device)
    return _drawn(key, lambda out: load_papers()[paper_key].figures(profile, seed, backend, device, str(out)))


def _verdict_figures(claims: list[dict]) -> dict:
    """The figure of every claim that did not pass, drawn from its verdict alone (:func:`verify.report.figures.
    verdict_figure`): ``{"figures": [...], "files": {name: base64}}``, like :func:`_figures` (from the cache when
    the same verdicts were drawn with the same code)."""
    from .report.figures import VERDICT_FIGURE_STATUSES, verdict_figure_input, verdict_figures

    inputs = [verdict_figure_input(c) for c in claims if c.get("status") in VERDICT_FIGURE_STATUSES]
    if not inputs:
        return {"figures": [], "files": {}}

    def draw(out: Path) -> list:
        out.mkdir()
        return verdict_figures(inputs, out)

    return _drawn(_run_key("verdict-figures", verdicts=jsonable(inputs)), draw)


def _claim_figures(paper_key: str, verdicts: list[dict]) -> tuple[dict, dict]:
    """The figures drawn from a paper's verdicts (``verdicts`` in the paper's order): its result figures and the
    figure of every verdict that did not pass, each as :func:`_drawn` gives them (from the cache when drawn before).
    A job for a worker: small figure runs are single-threaded (threads only contend: 60 s against 1.4 s seen)."""
    paper = load_papers()[paper_key]
    with single_threaded():
        if paper.result_figures is None:
            results_drawn = {"figures": [], "files": {}}
        else:
            by_id = {v["claim"]: v for v in verdicts}
            results_drawn = _drawn(_run_key("result-figures", paper=paper_key, verdicts=jsonable(verdicts)),
                                   lambda out: paper.result_figures(by_id, out))
        return results_drawn, _verdict_figures(verdicts)


@lru_cache(maxsize=None)
def _versions(paper_key: str | None = None) -> dict:
    """The versions a report records: Python and the shared libraries, and what the paper adds
    (:attr:`Paper.versions`, e.g. whether the two-layer engine's compiled kernel is built)."""
    from importlib.metadata import PackageNotFoundError, version

    import matplotlib
    import scipy

    try:    # the installed distribution's version: importing torch only to ask costs a second or more
        torch_version = version("torch")
    except PackageNotFoundError:
        torch_version = None
    out = {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
           "sympy": sp.__version__, "matplotlib": matplotlib.__version__, "torch": torch_version}
    paper = load_papers(claims=False).get(paper_key) if paper_key is not None else None
    if paper is not None and paper.versions is not None:
        out.update({str(k): None if v is None else str(v) for k, v in paper.versions().items()})
    return out


def _git(*args) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def _duration_key(paper_key: str, ids: list[str], profile: str) -> dict:
    return {"paper": paper_key, "jobs": list(ids), "profile": profile}


def _last_seconds(paper_key: str, ids: list[str], profile: str, default: float) -> float:
    """The seconds a job (a claim group, named by its claims) took in the last run of this profile, from the
    cache (an ordering hint only: nothing a verdict depends on); ``default`` when unknown or not a number."""
    from . import cache

    value = cache.get("durations", _duration_key(paper_key, ids, profile))
    return float(value) if isinstance(value, (int, float)) and 0 <= value < 1e7 else float(default)


def _remember_seconds(paper_key: str, ids: list[str], profile: str, seconds: float) -> None:
    from . import cache

    cache.put("durations", _duration_key(paper_key, ids, profile), round(float(seconds), 2))


def _submit_longest_first(pool, runs: list, threads: int | None, setups: bool = False) -> None:
    """Submit every paper's jobs to ``pool``, the longest guessed first (a long job started last would hold the
    run's end while the other workers idle); ``setups``: groups go as their set-up jobs (:meth:`_PaperRun.jobs`)."""
    jobs = [job for run in runs for job in run.jobs(threads, setups)]
    for _, fn, args, store in sorted(jobs, key=lambda job: -job[0]):     # stable: ties keep the papers' order
        store(pool.submit(fn, *args))


class _PaperRun:
    """One paper's run: its jobs submitted to a shared executor, then its report assembled and written."""

    def __init__(self, paper_key: str, ids: list[str], *, profile: str, seed: int, backend: str, device: str,
                 out_dir: Path, figures: bool, progress, paper_figures: bool = True,
                 user: dict | None = None):
        self.paper = load_papers()[paper_key]
        wrong = [cid for cid in ids if REGISTRY[cid].paper != paper_key]
        if wrong:
            raise ValueError(f"claims {wrong} are not claims of the paper {paper_key}")
        self.key, self.ids, self.profile, self.seed = paper_key, ids, profile, seed
        self.backend, self.device, self.out_dir = backend, device, out_dir
        self.figures, self.progress = figures, progress
        self.user = user
        self.staging = None          # the temporary figure folder, made when the jobs are submitted
        self.drawing = None          # the job drawing the claims' figures, submitted when the claims are in
        self.groups, self.waiting = [], {}      # the groups' futures; groups waiting for their set-up jobs
        self.want_figures = figures and paper_figures and self.paper.figures is not None

    def jobs(self, threads: int | None = None, setups: bool = False) -> list[tuple[float, object, tuple, object]]:
        """The paper's jobs as ``(weight, fn, args, store)``: ``store(future)`` keeps the future of ``fn(*args)``.
        The weight guesses a job's length, so that a pool can start the longest first: a group's seconds in
        its last run with this profile (:func:`_last_seconds`), else its claims' stated cost (:func:`group_cost`),
        else its number of claims.  With ``setups``, a group whose paper names set-up jobs for it
        (:attr:`Paper.setup_jobs`) is represented by those jobs; the group itself follows when they are done
        (:meth:`release`)."""
        self.start = time.perf_counter()
        self.staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{os.getpid()}-"))
        keys = list(dict.fromkeys(REGISTRY[c].derivation for c in self.ids))
        groups = groups_of(self.ids)
        self.groups = [None] * len(groups)

        def keep(i):
            return lambda future: self.groups.__setitem__(i, future)

        def keep_setup(i, j):
            return lambda future: self.waiting[i][1].__setitem__(j, future)

        self.waiting = {}           # group index -> (its _group arguments, the futures of its set-up jobs)
        out = []
        for i, g in enumerate(groups):
            weight = _last_seconds(self.key, g, self.profile, group_cost(g) or len(g))
            args = (g, self.profile, self.seed, self.backend, self.device, self.user, threads)
            ahead = self._setup_jobs(g) if setups else []
            if not ahead:
                out.append((weight, _group, (args,), keep(i)))
                continue
            # the group's recorded seconds leave out its set-ups (done ahead): they weigh at least its stated cost
            weight = max(weight, group_cost(g) or len(g))
            self.waiting[i] = (args, [None] * len(ahead))
            out += [(weight, run_setup, (fn, fn_args, threads), keep_setup(i, j)) for j, (fn, fn_args) in enumerate(ahead)]
        out.append((_last_seconds(self.key, ["derivations"], self.profile, len(keys) / 2), _derivation_texts,
                    (self.key, keys), lambda future: setattr(self, "texts", future)))
        self.figure_list = None
        if self.want_figures:
            out.append((_last_seconds(self.key, ["figures"], self.profile, 4.0), _figures,
                        (self.key, self.profile, self.seed, self.backend, self.device),
                        lambda future: setattr(self, "figure_list", future)))
        return out

    def submit(self, pool, threads: int | None = None) -> None:
        """Submit the paper's jobs in their order (:meth:`jobs`)."""
        for _, fn, args, store in self.jobs(threads):
            store(pool.submit(fn, *args))

    def remember_seconds(self) -> None:
        """Record each finished group's seconds for the ordering of the next run (:func:`_last_seconds`)."""
        for future in self.groups:
            if future is not None and future.done() and future.exception() is None:
                rows = future.result()
                if rows and not any(from_cache for _, _, from_cache in rows):
                    _remember_seconds(self.key, [v["claim"] for v, _, _ in rows], self.profile,
                                      sum(seconds for _, seconds, _ in rows))

    def _setup_jobs(self, ids: list[str]) -> list:
        """The set-up jobs of the group ``ids`` (none for a researcher's configuration, or where the group's
        verdicts are in the cache: the set-ups would be wasted)."""
        from . import cache

        if self.paper.setup_jobs is None or self.user is not None:
            return []
        key = _run_key("claims", claims=list(ids), profile=self.profile, seed=self.seed, backend=self.backend,
                       device=self.device, user=self.user)
        if _cached_verdicts(cache.get("runs", key), ids):
            return []
        return list(self.paper.setup_jobs(self.profile, self.seed, self.backend, self.device,
                                          REGISTRY[ids[0]].run_group))

    def pending(self) -> list:
        """The futures of the submitted groups and set-up jobs."""
        return [f for f in self.groups if f is not None] + [f for _, fs in self.waiting.values() for f in fs]

    def release(self, pool) -> list:
        """Submit each group whose set-up jobs are all done, with their results (a failed set-up is left out:
        the group computes it itself); return the groups' new futures."""
        out = []
        for i, (args, futures) in list(self.waiting.items()):
            if all(f is not None and f.done() for f in futures):
                prepared = [f.result() for f in futures if f.exception() is None]
                self.groups[i] = pool.submit(_group, (*args, prepared))
                del self.waiting[i]
                out.append(self.groups[i])
        return out

    def groups_done(self) -> bool:
        return not self.waiting and all(f is not None and f.done() for f in self.groups)

    def submit_drawing(self, pool) -> None:
        """Once the claims are in: their figures (the paper's result figures and a figure of every verdict that
        did not pass) drawn by a worker, so that one paper's drawing overlaps the other papers' claims."""
        if self.drawing is not None or not self.figures:
            return
        verdicts = {v["claim"]: v for f in self.groups for v, _, _ in f.result()}
        ordered = [verdicts[c] for c in self.ids]
        self.drawing = pool.submit(_claim_figures, self.key, ordered)

    def finish(self, workers: int, pool=None) -> tuple[dict, dict]:
        paper, profile, seed, out_dir, staging = self.paper, self.profile, self.seed, self.out_dir, self.staging
        results, timings = {}, {}
        try:
            cached = []
            for future in self.groups:
                for verdict, seconds, from_cache in future.result():
                    results[verdict["claim"]], timings[verdict["claim"]] = verdict, seconds
                    if from_cache:
                        cached.append(verdict["claim"])
            self.submit_drawing(pool if pool is not None else Now())
            texts = self.texts.result()
            figure_list = []
            if self.figures:
                self.progress(f"  {paper.key}: drawing the figures and writing the report")
            if self.want_figures:
                drawn = self.figure_list.result()
                _write_figures(staging / "figures", drawn["files"])
                figure_list = drawn["figures"]
            claims = []
            for cid in self.ids:
                v = results[cid]
                text = texts[v["derivation"]]
                v.update({"statement": text["statement"], "assumptions": text["assumptions"],
                          "latex": text["latex"], "results": text["results"]})
                v.setdefault("details", {})["derivation_identities_verified"] = all(text["identities"].values())
                # the documented finding of the reference set-up; on a researcher's configuration every claim
                # expects to pass (the findings are measurements of the project's own set-up)
                v["expected"] = REGISTRY[cid].expected(profile) if self.user is None else dict(EXPECT_PASSED)
                claims.append(v)
            if self.figures:
                result_drawn, verdict_drawn = self.drawing.result()
                _write_figures(staging / "figures", result_drawn["files"])
                figure_list[1:1] = result_drawn["figures"]
                # every claim that did not pass gets a figure of its verdict, shown in its section
                _write_figures(staging / "figures", verdict_drawn["files"])
                for fig in verdict_drawn["figures"]:
                    results[fig["claim"]].setdefault("figures", []).append(fig["png"])
                figure_list += verdict_drawn["figures"]
            statuses = [c["status"] for c in claims]
            report = {
                "schema": SCHEMA, "run_id": run_id(profile, seed),
                "paper": {"key": paper.key, "title": paper.title, "arxiv": paper.arxiv},
                "profile": profile,
                "created": _git("log", "-1", "--format=%cI") or "1970-01-01T00:00:00+00:00", "seed": seed,
                "wall_time_s": None, "git_revision": _git("rev-parse", "HEAD"), "backend": self.backend,
                "device": self.device, "versions": _versions(paper.key),
                "config": paper.config(profile, seed) if self.user is None else paper.config(profile, seed, self.user),
                "summary": {s: statuses.count(s) for s in STATUSES},
                "claims": claims, "figures": figure_list,
            }
            report = jsonable(report)
            validate_report(report)                     # nothing is written for an invalid report
            # the paper's folder is assembled beside its final place (same file system) and swapped in by a rename,
            # so it appears only complete: a full disk or a lost permission leaves the earlier folder as it was
            partial = _partial_folder(out_dir)
            if self.figures:
                (partial / "figures").mkdir(parents=True, exist_ok=True)
                for f in (staging / "figures").iterdir() if (staging / "figures").is_dir() else ():
                    shutil.copyfile(f, partial / "figures" / f.name)
        except BaseException:
            if "partial" in locals():
                shutil.rmtree(partial, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        try:
            # the run record: what differs between two runs of the same seed and revision (kept out of report.json)
            timing = {"run_date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      "git_dirty": _git_dirty(), "wall_time_s": time.perf_counter() - self.start,
                      "per_claim_s": timings, "from_cache": cached, "workers": workers}
            atomic_write(partial / "timing.json", dumps(timing))
            write_report(report, partial, run=timing)   # the figures are in place, so the HTML embeds them
            _swap_in(partial, out_dir)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        paths = {"json": str(out_dir / "report.json"), "md": str(out_dir / "report.md"),
                 "html": str(out_dir / "report.html"), "timing": str(out_dir / "timing.json")}
        return report, paths


def _run_papers(plan: list[tuple[str, list[str], Path]], *, profile: str = "default", seed: int = 0,
                backend: str = "auto", device: str = "cpu", workers: int = 1,
                figures: bool = True, paper_figures: bool = True, progress=print,
                user_configs: dict | None = None, scheduler: str | None = None,
                threads: int | None = None) -> list[tuple[dict, dict]]:
    """Run several papers' claims with one executor: every paper's jobs are submitted before any report is
    assembled, so that the workers never wait for a paper to finish (``plan``: ``(paper, ids, out_dir)``).
    ``paper_figures=False`` leaves out each paper's own figures from fresh simulations (the claims' figures
    stay).  ``user_configs`` maps a paper to a researcher's configuration (its ``read_config`` dict): that
    paper's claims run on it, and its figures of the reference set-up are left out.  ``threads``: each worker's
    BLAS and PyTorch threads (default: :func:`verify.threads.choose`, the idle cores shared among the workers).
    ``scheduler`` sends the
    jobs to a ``dask.distributed`` cluster instead of the local process pool: an address
    (``tcp://host:8786``), or ``"local"`` for a ``LocalCluster`` of ``workers`` processes."""
    runs = [_PaperRun(key, ids, profile=profile, seed=seed, backend=backend, device=device, out_dir=Path(out),
                      figures=figures, progress=progress,
                      paper_figures=paper_figures and key not in (user_configs or {}),
                      user=(user_configs or {}).get(key))
            for key, ids, out in plan]
    _sweep_stale_staging()
    for parent in {Path(out).parent for _, _, out in plan}:
        _sweep_stale_partials(parent)

    from .resources import describe_seconds

    total = sum(len(run.ids) for run in runs)
    done, begun = [0], time.perf_counter()

    def announce(future):
        for verdict, seconds, from_cache in future.result():
            done[0] += 1
            left = total - done[0]
            # a naive estimate from the claims so far: enough to tell minutes from hours
            eta = (time.perf_counter() - begun) / done[0] * left
            tail = f", {describe_seconds(eta)} left" if left and done[0] >= 2 else ""
            progress(f"  {verdict['status']:<14} {verdict['claim']:<32} {seconds:6.1f} s"
                     + (" (from the cache)" if from_cache else "") + f"  [{done[0]}/{total}{tail}]")

    from .threads import choose

    try:
        if scheduler is not None:
            return pools.run_on_dask(runs, scheduler, workers, threads, announce, _submit_longest_first)
        # each worker gets its share of the idle cores for BLAS and torch threads (or --threads)
        threads = choose(threads, workers=workers)[0]
        if workers > 1:
            return pools.run_local(runs, workers, threads, announce, _submit_longest_first)
        return pools.run_here(runs, workers, threads,
                              lambda fn, future: announce(future) if fn is _group and future.exception() is None
                              else None)
    finally:
        for run in runs:
            if run.staging is not None:
                shutil.rmtree(run.staging, ignore_errors=True)


_STAGING = "verify-figures-"
#: the hidden siblings of a paper's report folder while it is assembled (``.<name>.partial-<pid>``) and while the
#: earlier one is swapped out (``.<name>.old-<pid>``)
_PARTIAL, _OLD = ".partial-", ".old-"


def _partial_folder(out_dir: Path) -> Path:
    """A fresh hidden folder beside ``out_dir`` (on its file system), where its new contents are assembled."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = out_dir.parent / f".{out_dir.name}{_PARTIAL}{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    return partial


def _swap_in(partial: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``partial`` with renames only (the earlier folder is restored if the second fails)."""
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}{_OLD}{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        os.rename(out_dir, old)
    try:
        os.rename(partial, out_dir)
    except BaseException:
        if old is not None:
            os.rename(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _sweep_stale_partials(root: Path) -> None:
    """Remove the hidden assembly folders under ``root`` (two levels: paper and run) of runs whose process is
    gone."""
    for path in list(root.glob(".*")) + list(root.glob("*/.*")):
        for marker in (_PARTIAL, _OLD):
            if marker in path.name and path.is_dir():
                pid = path.name.rsplit(marker, 1)[1]
                if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                    shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _sweep_stale_staging() -> None:
    """Remove the temporary figure folders of runs whose process is gone (killed with SIGKILL, say)."""
    for path in Path(tempfile.gettempdir()).glob(f"{_STAGING}*-*"):
        pid = path.name[len(_STAGING):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except OSError:             # another user's process: not ours to judge
            continue


def _git_dirty() -> bool | None:
    """Whether the tracked code (``theory/``, ``verify/``) differs from the revision (None where git is not
    available); reports written into the repository, or edited documents, do not make the code dirty."""
    out = _git("status", "--porcelain", "--untracked-files=no", "--", ":/theory", ":/verify")
    if out is None:
        return False if _git("rev-parse", "HEAD") is not None else None
    return bool(out)


def run_paper(paper_key: str, ids: list[str], *, profile: str = "default", seed: int = 0, backend: str = "auto",
              device: str = "cpu", workers: int = 1, out_dir: str | Path | None = None,
              figures: bool = True, progress=print) -> tuple[dict, dict]:
    """Run the claims ``ids`` of one paper; return ``(report, paths)`` after writing them under ``out_dir``
    (default ``runs/reports/<paper>/<profile>-seed<seed>``)."""
    out_dir = Path(out_dir) if out_dir else REPORTS_ROOT / paper_key / run_id(profile, seed)
    return _run_papers([(paper_key, ids, out_dir)], profile=profile, seed=seed, backend=backend, device=device,
                       workers=workers, figures=figures, progress=progress)[0]


def run_claims(ids: list[str], *, out_root: str | Path | None = None, **options) -> list[tuple[dict, dict]]:
    """Run the claims ``ids`` (of any papers): one report per paper under ``out_root/<paper>/<run-id>/``
    (default ``runs/reports/``) and the index ``out_root/index.md`` and ``index.html``.  Returns
    ``[(report, paths), ...]`` in the order of the papers; the papers share one pool of workers."""
    root = Path(out_root) if out_root else REPORTS_ROOT
    load_papers()                   # the claims register when their papers load
    unknown = [cid for cid in ids if cid not in REGISTRY]
    if unknown:
        from theory.errors import InputError

        raise InputError("ids", unknown, "no such claims", "see 'python -m verify list' for the claim ids")
    by_paper: dict[str, list[str]] = {}
    for cid in ids:
        by_paper.setdefault(REGISTRY[cid].paper, []).append(cid)
    order = list(load_papers())
    rid = run_id(options.get("profile", "default"), options.get("seed", 0))
    plan = [(key, by_paper[key], root / key / rid) for key in sorted(by_paper, key=order.index)]
    out = _run_papers(plan, **options)
    index = write_index(root)
    for _, paths in out:
        paths.update({f"index_{k}": v for k, v in index.items()})
    return out
