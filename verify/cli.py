"""The command line: ``python -m verify <command>``.

Shared commands (``list``, ``all``, ``run``, ``report``, ``stages``) work
across papers; each paper's own tools hang under ``python -m verify <paper>
<tool>``, and the first paper's tools (``derive``, ``predict``, ``simulate``
of the multistage paper) also stand at the top level.

Exit status: 0 when everything asked for holds (every claim's verdict equals
its expectation: passed, or not applicable, unless the claim records a finding
against its source; every derived identity verified), 1 when a verdict differs
from its expectation in either direction (a claim that failed, an expected
failure that now passes, a check that raised: ``error`` always differs), or an
identity did not verify, 2 for usage and input errors (one line on standard
error, nothing written), 130 when interrupted.
"""
from __future__ import annotations

import argparse
import re
import difflib
import os
import sys
import time
from pathlib import Path

from theory.errors import InputError, VerifierError

from .registry import REGISTRY, claims_of, load_papers

__all__ = ["main", "build_parser"]


#: what reads as a negative number value (argparse's own rule knows only -1 and -.5): -1e-3, -1E300, -inf, -nan
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "--target -1e300" and "--lr -inf" are values, not options (no option of this program looks like one)
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message):  # one line, exit 2
        self.exit(2, f"error: {message} (see 'python -m verify {self.prog.split(maxsplit=1)[-1]} --help')\n"
                  if " " in self.prog else f"error: {message} (see 'python -m verify --help')\n")


def cmd_list(args) -> int:
    # from the committed claim index (verify/claim_index.json, checked against the registry by a test): importing
    # the claim modules for their ids and titles took 4-6 s (SymPy derivations and PyTorch at import)
    import theory

    from .claim_index import build, current
    from .report.sections import paper_line

    # papers of installed packages (entry points) are not in the committed index: listed from their registry
    outside = [key for key in load_papers(claims=False) if key not in theory.PAPERS]
    for paper in current()["papers"] + (build(outside)["papers"] if outside else []):
        if args.paper and paper["key"] != args.paper:
            continue
        print(f"{paper_line(paper['title'], paper['arxiv'])} [{paper['key']}]")
        print("  Claims (python -m verify run CLAIM ...):")
        for claim in paper["claims"]:
            kind = "  [heuristic, measured]" if claim["heuristic"] else ""
            print(f"    {claim['id']:<24} {claim['derivation']:<4} {claim['title']}{kind}")
        print(f"  Derivations (python -m verify {paper['key']} derive NAME):")
        for d in paper["derivations"]:
            print(f"    {d['key']:<4} {d['name']:<18} {d['title']}")
        print()
    return 0


def _resolve_claims(names: list[str]) -> list[str]:
    known = claims_of()
    ids = []
    for raw in names:
        if raw in REGISTRY:
            ids.append(raw)
            continue
        matches = [cid for cid in known if cid.lower().startswith(raw.lower() + "-") or cid.lower() == raw.lower()]
        if matches:
            ids.extend(matches)
            continue
        close = difflib.get_close_matches(raw, known, n=3, cutoff=0.4)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise InputError("CLAIM", raw, "no such claim", f"{hint}see 'python -m verify list'")
    return list(dict.fromkeys(ids))


def _profile(args) -> str:
    return "quick" if args.quick else "full" if args.full else "default"


def _run_and_report(ids: list[str], args, default_root, paper_figures: bool = True, signs=None) -> int:
    from tqdm import tqdm

    from .devices import check_device
    from .report.sections import expectation_of
    from .report.sections import unexpected as unexpected_claims
    from .runner import run_claims

    check_device(args.device)
    papers = load_papers()
    for key in dict.fromkeys(REGISTRY[cid].paper for cid in ids):     # each paper checks what its engines take
        if papers[key].check_run_options is not None:
            papers[key].check_run_options(args.backend, args.device)
    explicit = args.workers is not None
    if not explicit:
        args.workers = min(os.cpu_count() or 1, 4)
    if args.workers < 1:
        raise InputError("--workers", args.workers, "must be at least 1", "use e.g. --workers 2")
    if not 0 <= args.seed < 2**63:
        raise InputError("--seed", args.seed, "out of range", "use a seed from 0 to 2^63 - 1, e.g. --seed 0")
    if args.accept_failure:
        raise InputError("--accept-failure", args.accept_failure[0], "was removed: a claim records its expected "
                         "verdict itself", "leave the option out; a documented finding goes into the claim's "
                         "registration, claim(..., expect=Expectation('failed', 'why'))")
    profile = _profile(args)
    if args.no_cache:               # the workers inherit the environment
        os.environ["VERIFY_NO_CACHE"] = "1"
    if args.cache:
        os.environ["VERIFY_CACHE_DIR"] = str(Path(args.cache).resolve())
    root = Path(args.out or default_root)
    user_configs = _user_configs(ids, args.config) if args.config else None
    say = sys.stderr if args.json else sys.stdout
    # a remote cluster has its own workers; locally (a pool or --scheduler local) they are capped at the cores
    remote = args.scheduler is not None and args.scheduler != "local"
    workers = args.workers if remote else _cap_workers(args.workers, ids, say, explicit)
    from .threads import parse

    threads = parse(args.threads)
    lock = _lock_output(root)       # checked before any work: a folder we cannot write, or another run in it
    # with --json, standard output carries the JSON summary alone; the progress goes to standard error
    print(f"Running {len(ids)} claim{'s' if len(ids) != 1 else ''}, profile {profile}, seed {args.seed}, "
          f"{workers} worker{'s' if workers != 1 else ''}; reports under {root}/", file=say)
    start = time.perf_counter()
    # an overall bar with the ETA on a terminal (tqdm stays silent where standard error is not one)
    with tqdm(total=len(ids), unit="claim", file=sys.stderr, disable=None, leave=False,
              bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} claims [{elapsed}<{remaining}]") as bar:
        done, last = [0], [time.perf_counter()]

        def progress(line: str) -> None:
            bar.write(line, file=say)
            if signs is not None:
                signs.heard()
            if re.search(r"\[\d+/\d+", line):      # a claim's line ("[12/40, about 3 min left]")
                done[0] += 1
                last[0] = time.perf_counter()
            elif signs is not None and "drawing the figures" in line:     # the heartbeat names the paper's figures
                signs.phase(f"{line.strip()} ({done[0]} of {len(ids)} claims done)", line="")
            bar.update(1)

        if signs is not None:      # a line on standard error every few seconds while one claim or a figure runs long
            signs.phase("running the claims", lambda: f"{done[0]} of {len(ids)} claims done, the last "
                        f"{time.perf_counter() - last[0]:.0f} s ago", line="")
        with lock:
            results = run_claims(ids, out_root=root, profile=profile, seed=args.seed, backend=args.backend,
                                 device=args.device, workers=workers,
                                 figures=not args.no_figures, paper_figures=paper_figures, progress=progress,
                                 user_configs=user_configs, scheduler=args.scheduler, threads=threads)
    elapsed = time.perf_counter() - start
    unexpected, changes = [], []
    print(f"\n({elapsed:.0f} s)", file=say)
    summary = {"profile": profile, "seed": args.seed, "wall_time_s": round(elapsed, 3), "papers": []}
    for report, paths in results:
        counts = ", ".join(f"{n} {s}" for s, n in report["summary"].items())
        print(f"{report['paper']['key']}: {counts}", file=say)
        differ = unexpected_claims(report)
        unexpected += differ
        for c in report["claims"]:
            expected = expectation_of(c, report)
            if c["status"] == "passed" and c["claim"] not in differ:
                continue
            if c["claim"] in differ:
                note = f" (differs from the expected {expected['status']})"
                changes.append(f"{c['claim']} ({c['status']}, expected {expected['status']})")
            elif expected["reason"]:
                note = " (as expected: a documented finding)"
            else:
                note = ""
            why = _why_line(c)
            print(f"  {c['status']}: {c['claim']}{note}{': ' + why if why else ''}", file=say)
        print(f"  report: {paths['md']}\n          {paths['html']}\n          {paths['json']}", file=say)
        summary["papers"].append({
            "paper": report["paper"]["key"], "summary": report["summary"],
            "claims": {c["claim"]: c["status"] for c in report["claims"]},
            "expected": {c["claim"]: expectation_of(c, report)["status"] for c in report["claims"]},
            "report": {k: paths[k] for k in ("json", "md", "html")}})
    if results:
        print(f"index: {results[0][1]['index_md']}", file=say)
        summary["index"] = results[0][1]["index_md"]
    if changes:
        many = len(changes) != 1
        print(f"{len(changes)} verdict{'s differ' if many else ' differs'} from {'their' if many else 'its'} "
              f"expectation: {'; '.join(changes)}", file=say)
    else:
        print("every verdict equals its expectation", file=say)
    summary["unexpected"] = unexpected
    summary["exit_status"] = 1 if unexpected else 0
    if args.json:
        from .output import dumps

        print(dumps(summary), end="")
    return summary["exit_status"]


def _why_line(claim: dict) -> str:
    """The one-line reason of a claim that did not pass (its key's why, the exception of an error, or why it
    does not apply)."""
    why = (claim.get("key") or {}).get("why")
    if not why:
        details = claim.get("details") or {}
        why = details.get("error") if claim["status"] == "error" else details.get("not_applicable")
    return " ".join(str(why).split())[:200] if why else ""


def _cap_workers(asked: int, ids: list[str], say, explicit: bool = True) -> int:
    """``--workers`` capped at the cores and at the independent jobs (run groups, and per paper its derivations
    and figures); a cap of an explicit ``--workers`` is said.  Without ``--workers``, one run group runs in this
    process (its derivation texts and figures are small: a pool would only cost its start-up)."""
    from .runner import groups_of

    papers = {REGISTRY[cid].paper for cid in ids}
    groups = len(groups_of(ids))
    jobs = groups + 2 * len(papers)
    cores = os.cpu_count() or 1
    workers = max(1, min(asked, cores, jobs))
    if not explicit and groups == 1:
        return 1
    if workers < asked and explicit:
        why = "the cores" if workers == cores else "the independent jobs"
        print(f"note: --workers {asked} capped at {workers} ({why}: {cores} cores, {jobs} jobs)", file=say)
    return workers


def _lock_output(root: Path):
    """A lock on the output folder (``filelock``): a second run writing there stops at once with one line; a
    folder that cannot be created or written is refused before any work."""
    from filelock import FileLock

    if root.exists() and not root.is_dir():
        raise InputError("--out", str(root), "is a file, not a folder", "give a folder (it is created if absent)")
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".verify-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError("--out", str(root), f"cannot be written ({exc.strerror or exc})",
                         "choose a folder you can write to") from None
    return _Exclusive(FileLock(str(root / ".verify.lock")), root)


class _Exclusive:
    """Hold a file lock without waiting: busy means another run is writing to the same folder."""

    def __init__(self, lock, root: Path):
        self.lock, self.root = lock, root

    def __enter__(self):
        from filelock import Timeout

        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            raise InputError("--out", str(self.root), "another verify run is writing reports there",
                             "wait for it to finish, or give this run another --out") from None
        return self

    def __exit__(self, *exc):
        self.lock.release()
        return False


def _user_configs(ids: list[str], path: str) -> dict:
    """``--config FILE`` read by each paper of the claims ``ids`` (one-line error where a paper takes none)."""
    papers = load_papers()
    out = {}
    for key in dict.fromkeys(REGISTRY[cid].paper for cid in ids):
        reader = papers[key].read_config
        if reader is None:
            takes = [k for k, p in papers.items() if p.read_config is not None]
            raise InputError("--config", path, f"the {key} paper takes no configuration file",
                             f"check the claims of {', '.join(takes)} on it (--paper {takes[0]})")
        out[key] = reader(path)
    return out


def cmd_all(args) -> int:
    from .progress import Signs
    from .runner import REPORTS_ROOT

    with Signs("all") as signs:
        signs.phase("loading the claims", line="")
        ids = claims_of(args.paper)
        if args.config and not args.paper:        # a configuration file belongs to the papers that read one
            papers = load_papers()
            ids = [cid for cid in ids if papers[REGISTRY[cid].paper].read_config is not None]
        return _run_and_report(ids, args, REPORTS_ROOT, signs=signs)


def cmd_run(args) -> int:
    from .progress import Signs
    from .runner import CLAIMS_ROOT

    with Signs("run") as signs:
        signs.phase("loading the claims", line="")
        # some claims: their own figures, not the paper's figures from fresh simulations (those come with 'all')
        return _run_and_report(_resolve_claims(args.claims), args, CLAIMS_ROOT, paper_figures=False, signs=signs)


def cmd_cache(args) -> int:
    from . import cache

    if args.cache:
        os.environ["VERIFY_CACHE_DIR"] = str(Path(args.cache).resolve())
    if args.action == "clear":
        print(f"removed {cache.clear()} entries from {cache.root()}")
        return 0
    entries = cache.info()
    print(f"cache {cache.root()} ({'on' if cache.enabled() else 'off: VERIFY_NO_CACHE is set'})")
    for ns, d in entries.items():
        print(f"  {ns:<20} {d['entries']:>6} entries {d['bytes'] / 1e6:10.2f} MB")
    if not entries:
        print("  (empty)")
    return 0


def cmd_report(args) -> int:
    from .report import rerender

    paths = rerender(args.dir)
    print("\n".join(paths.values()))
    return 0


def _add_run_options(p) -> None:
    prof = p.add_mutually_exclusive_group()
    prof.add_argument("--quick", action="store_true", help="quick profile (under a minute on 2 cores)")
    prof.add_argument("--full", action="store_true", help="paper-scale profile (larger widths, more seeds)")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--out", help="reports folder: each paper's report goes to OUT/<paper>/<profile>-seed<seed>/ "
                                 "and the index to OUT/index.md (default: runs/reports for 'all', runs/claims for "
                                 "'run'; the committed reports are made with --out reports)")
    p.add_argument("--json", action="store_true",
                   help="a machine-readable summary on standard output (the progress goes to standard error)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the jobs on a dask.distributed cluster: its scheduler's address (tcp://host:8786), "
                        "or 'local' for a LocalCluster of --workers processes (default: a local process pool)")
    p.add_argument("--cache", metavar="DIR", help="the content-addressed cache folder (default "
                                                  "$VERIFY_CACHE_DIR or ~/.cache/dynamics-verifier)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--config", metavar="FILE",
                   help="check the claims on a researcher's configuration (a TOML file as for 'multistage "
                        "predict'); claims whose assumptions it breaks are reported not-applicable with the reason")
    p.add_argument("--backend", default="auto", help="auto | numpy | torch")
    p.add_argument("--device", default="cpu", help="cpu | cuda")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel worker processes (default: the number of cores, at most 4; one claim group runs "
                        "in this process)")
    p.add_argument("--threads", default=None, metavar="N",
                   help="BLAS and PyTorch threads of each worker (default: the idle cores shared among the "
                        "workers)")
    # removed: a claim records its expected verdict itself (claim(..., expect=...)); kept only to say so
    p.add_argument("--accept-failure", action="append", default=[], metavar="CLAIM", help=argparse.SUPPRESS)
    p.add_argument("--no-figures", action="store_true", help="skip the figures")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command line. With ``argv``, a paper's tools are built only when its key is the command (building
    them imports the paper's tool modules, which can take a second); without, every paper's tools are built."""
    papers = load_papers(claims=False)
    command = next((a for a in argv if not a.startswith("-")), None) if argv is not None else None
    parser = _Parser(prog="verify", description="Symbolic-numeric verifier of training-dynamics theorems.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("list", help="list the claims and the derivations of every paper")
    p.add_argument("--paper", choices=list(papers), help="one paper only")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("all", help="run every claim (of every paper, or of --paper) and write the reports")
    p.add_argument("--paper", choices=list(papers), help="one paper only")
    _add_run_options(p)
    p.set_defaults(func=cmd_all)

    p = sub.add_parser("run", help="run some claims (ids from 'list', or a derivation key such as D9)")
    p.add_argument("claims", nargs="+", metavar="CLAIM")
    _add_run_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("cache", help="the content-addressed cache of derivations and runs: info or clear")
    p.add_argument("action", choices=["info", "clear"])
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the jobs on a dask.distributed cluster: its scheduler's address (tcp://host:8786), "
                        "or 'local' for a LocalCluster of --workers processes (default: a local process pool)")
    p.add_argument("--cache", metavar="DIR", help="the cache folder (default $VERIFY_CACHE_DIR or "
                                                  "~/.cache/dynamics-verifier)")
    p.set_defaults(func=cmd_cache)

    p = sub.add_parser("report", help="render report.md and report.html again from DIR/report.json")
    p.add_argument("dir", metavar="DIR")
    p.set_defaults(func=cmd_report)

    from .stages import add_parser as add_stages

    add_stages(sub)

    from .report.sections import paper_line

    for i, (key, paper) in enumerate(papers.items()):
        if paper.add_tools is None:
            continue
        if i == 0:                                  # the first paper's tools also stand at the top level
            paper.add_tools(sub)
        p = sub.add_parser(key, help=f"tools of {paper_line(paper.title, paper.arxiv)}")
        # a paper's own tools only when it is the command (building them imports its tool modules and their
        # derivations: about a second); a top-level --help lists the paper with its one-line help
        if argv is None or command == key:
            paper.add_tools(p.add_subparsers(dest="tool", required=True, parser_class=_Parser))
    _name_options(parser)
    return parser


def _name_options(parser: argparse.ArgumentParser) -> None:
    """Give every tool (a parser without subcommands) its mapping from parameter to option (``rtol`` ->
    ``--rtol``, from its own options): engines raise errors naming their parameters, and :func:`main` shows them
    in the tool's words (:meth:`theory.errors.InputError.named`)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        parser.set_defaults(_option_names={a.dest: max(a.option_strings, key=len) for a in parser._actions
                                           if a.option_strings and a.dest not in ("help", "version")})
    for action in subs:
        for child in dict.fromkeys(action.choices.values()):
            _name_options(child)


class Terminated(Exception):
    """SIGTERM arrived: stop the way an interrupt stops, with exit status 143."""


def _on_sigterm(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """``python -m verify ARGV``: the exit status."""
    from . import threads

    with threads.window_from_here():     # the idle cores measured over the start-up, not in a 0.1 s sleep later
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    import signal
    import threading

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv == ["--version"]:           # answered before any parser is built (no SymPy, torch or paper import)
        from . import __version__

        print(f"verify {__version__}")
        return 0
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    options: dict = {}              # the tool's options by parameter: an engine's error is shown in their words
    try:
        from .progress import Signs

        # building the parser imports the papers' tool modules: a Ctrl-C there is an interrupt like any other; on a
        # loaded machine that can take longer than a heartbeat (it speaks only then, and never with --quiet)
        words = " ".join(a for a in argv[:2] if not a.startswith("-"))
        with Signs("verify", quiet="--quiet" in argv) as loading:
            loading.phase(f"loading the modules of '{words}'", line="")
            args = build_parser(argv).parse_args(argv)
        options = getattr(args, "_option_names", {})
        code = args.func(args)
        sys.stdout.flush()            # a full standard output fails here, inside the handlers below
        return code
    except VerifierError as exc:
        print(f"error: {exc.named(options) if isinstance(exc, InputError) else exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:           # e.g. '... --json | head': the reader left; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:            # a full disk, a lost permission: one line, and no half-written report
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())    # stdout may be the full device
        except (OSError, ValueError):
            pass
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"error: cannot write{where}: {exc.strerror or exc}; nothing was left half-written (a report folder "
              "is replaced only when complete); free space or choose another --out", file=sys.stderr)
        return 2
