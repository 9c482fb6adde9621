"""The command line: ``python -m verify <command>``.

Exit status: 0 when everything asked for holds (every claim passed or is not
applicable; every derived identity verified), 1 when a claim failed or was
inconclusive (or an identity did not verify), 2 for usage and input errors
(one line on standard error, nothing written), 130 when interrupted.
"""
from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import sympy as sp

import theory
from theory.activation import activation_from_spec
from theory.errors import InputError, VerifierError

from .config import load_config

DEFAULT_CONFIG = Path(__file__).with_name("configs") / "multistage.toml"
_TAKES_ACTIVATION = {"D2", "D7", "D11"}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        self.exit(2, f"error: {message} (see 'python -m verify {self.prog.split()[-1]} --help')\n"
                  if " " in self.prog else f"error: {message} (see 'python -m verify --help')\n")


def _resolve_derivations(names: list[str]) -> list[str]:
    if not names:
        return list(theory.DERIVATIONS)
    by_name = {v: k for k, v in theory.DERIVATIONS.items()}
    keys = []
    for raw in names:
        key = raw.upper() if raw.upper() in theory.DERIVATIONS else by_name.get(raw.lower())
        if key is None:
            choices = list(theory.DERIVATIONS) + list(by_name)
            close = difflib.get_close_matches(raw, choices, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise InputError("NAME", raw, "no such derivation", f"{hint}choose from {', '.join(choices)}")
        keys.append(key)
    return keys


def _derive(key: str, activation):
    mod = theory.module(key)
    return mod.derive(activation) if key in _TAKES_ACTIVATION else mod.derive()


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_derive(args) -> int:
    keys = _resolve_derivations(args.names)
    activation = activation_from_spec(args.activation, "--activation").require_tanh_like("--activation")
    results = [_derive(k, activation) for k in keys]
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=2))
    elif args.latex:
        print("\n\n".join(r.latex() for r in results))
    else:
        for r in results:
            print(f"{r.key}. {r.title}  [{r.name}]")
            print("  " + r.text.get("statement", "").replace("\n", "\n  "))
            for label, value in r.results.items():
                print(f"  * {label}: {sp.sstr(value)}")
            for label, ok in r.identities.items():
                print(f"  {'ok ' if ok else 'FAIL'} {label}")
            print()
    return 0 if all(all(r.identities.values()) for r in results) else 1


def _format_prediction(p: dict) -> str:
    lines = []
    keys = ["method", "applicable", "z_norm", "growth_rate", "initial_loss", "plateau_loss", "K0", "K0_expected",
            "t_half", "T_d", "T_p", "E_T_d", "dT_d_dalpha", "dT_d_dlog_m", "plateau_loss_bound", "C_1",
            "W2rel_decay_rate"]
    for k in keys:
        if k in p:
            lines.append(f"  {k:<20} {p[k]}")
    return "\n".join(lines)


def cmd_predict(args) -> int:
    from .predict import predict

    config = load_config(args.config)
    p = predict(config)
    print(json.dumps(p, indent=2) if args.json else _format_prediction(p))
    return 0


def cmd_simulate(args) -> int:
    from .engine.flow import FlowOptions
    from .plots import loss_figure
    from .predict import predict
    from .simulate import measure, simulate

    config = load_config(args.config)
    FlowOptions(solver=args.solver, rtol=args.rtol, grid=args.grid)   # validate before any work
    out_dir = Path(args.out) if args.out else Path("runs") / f"{Path(args.config).stem}-seed{config.train.seed}"
    note = print if not args.json else (lambda msg: print(msg, file=sys.stderr))
    traj, obs, kernel = simulate(config, backend=args.backend, device=args.device, solver=args.solver,
                                 rtol=args.rtol, grid=args.grid, batch=args.batch, progress=args.progress,
                                 K_levels=args.k_levels, loss_levels=args.loss_levels,
                                 notify=note, threads=args.threads)
    summary = measure(config, traj, obs, kernel)
    summary["seeds"] = {"data": config.data.seed if config.dataset.kind == "sample" else None,
                        "init": config.train.seed}
    files = {}
    if len(traj.t):
        files = traj.save(out_dir, "trajectory", {k: v for k, v in obs.items() if k != "loss"})
        prediction = predict(config)
        files["png"] = loss_figure(traj.t, traj.loss, summary["stages"], out_dir / "loss.png",
                                   plateau_level=prediction["plateau_loss"],
                                   title=f"{config.activation.name}, m = {config.model.width}, "
                                         f"alpha = {config.model.alpha}, {traj.info['integrator']}")
        _atomic_write(out_dir / "summary.json", json.dumps(summary, indent=2, default=_jsonable))
        files["summary"] = str(out_dir / "summary.json")
    summary["files"] = files
    if args.json:
        print(json.dumps(summary, indent=2, default=_jsonable))
    else:
        for key in ("status", "z_norm", "K0", "t_half", "T_d", "T_p", "initial_loss", "plateau_loss", "final_loss",
                    "diverged", "files"):
            print(f"  {key:<14} {summary[key]}")
    if traj.status == "interrupted":
        return 130
    return 1 if traj.status == "failed" else 0


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def cmd_list(args) -> int:
    from .claims import REGISTRY

    print("Claims (python -m verify run CLAIM ...):")
    for cid, claim in REGISTRY.items():
        kind = "  [heuristic, measured]" if claim.heuristic else ""
        print(f"  {cid:<24} {claim.derivation:<4} {claim.title}{kind}")
    print("\nDerivations (python -m verify derive NAME):")
    for key, name in theory.DERIVATIONS.items():
        print(f"  {key:<4} {name:<18} {theory.module(key).TITLE}")
    return 0


def _resolve_claims(names: list[str]) -> list[str]:
    from .claims import REGISTRY

    ids = []
    for raw in names:
        if raw in REGISTRY:
            ids.append(raw)
            continue
        matches = [cid for cid in REGISTRY if cid.lower().startswith(raw.lower() + "-") or cid.lower() == raw.lower()]
        if matches:
            ids.extend(matches)
            continue
        close = difflib.get_close_matches(raw, list(REGISTRY), n=3, cutoff=0.4)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise InputError("CLAIM", raw, "no such claim", f"{hint}see 'python -m verify list'")
    return list(dict.fromkeys(ids))


def _profile(args) -> str:
    return "quick" if args.quick else "full" if args.full else "default"


def _run_and_report(ids: list[str], args) -> int:
    from .engine.backends import BACKENDS, DEVICES
    from .runner import run_claims, run_id

    if args.backend not in BACKENDS:
        raise InputError("--backend", args.backend, "unknown backend", f"use one of {', '.join(BACKENDS)}")
    if args.device not in DEVICES:
        raise InputError("--device", args.device, "unknown device", f"use one of {', '.join(DEVICES)}")
    if args.workers < 1:
        raise InputError("--workers", args.workers, "must be at least 1", "use e.g. --workers 2")
    accepted = _resolve_claims(args.accept_failure) if args.accept_failure else []
    profile = _profile(args)
    out = args.out or str(Path("reports") / run_id(profile, args.seed))
    print(f"Running {len(ids)} claims, profile {profile}, seed {args.seed}, {args.workers} worker(s):")
    start = time.perf_counter()
    report, paths = run_claims(ids, profile=profile, seed=args.seed, backend=args.backend, device=args.device,
                               workers=args.workers, out_dir=out, accept_failures=accepted,
                               figures=not args.no_figures)
    bad = [c["claim"] for c in report["claims"] if c["status"] in ("failed", "inconclusive")]
    unexpected = [c for c in bad if c not in accepted]
    print(f"\n{report['summary']}  ({time.perf_counter() - start:.0f} s)")
    for c in report["claims"]:
        if c["status"] in ("failed", "inconclusive"):
            known = " (accepted known failure)" if c["claim"] in accepted else ""
            print(f"  {c['status']}: {c['claim']}{known}")
    print(f"report: {paths['md']}\n        {paths['html']}\n        {paths['json']}")
    return 1 if unexpected else 0


def cmd_all(args) -> int:
    from .claims import REGISTRY

    return _run_and_report(list(REGISTRY), args)


def cmd_run(args) -> int:
    return _run_and_report(_resolve_claims(args.claims), args)


def cmd_report(args) -> int:
    from .report import rerender

    paths = rerender(args.dir)
    print("\n".join(paths.values()))
    return 0


def _add_run_options(p) -> None:
    prof = p.add_mutually_exclusive_group()
    prof.add_argument("--quick", action="store_true", help="quick profile (under a minute on 2 cores)")
    prof.add_argument("--full", action="store_true", help="paper-scale profile (m up to 5000, more seeds)")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--out", help="report directory (default reports/<profile>-seed<seed>)")
    p.add_argument("--backend", default="auto", help="auto | numpy | torch")
    p.add_argument("--device", default="cpu", help="cpu | cuda")
    p.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 4),
                   help="parallel worker processes (default: the number of cores, at most 4)")
    p.add_argument("--accept-failure", action="append", default=[], metavar="CLAIM",
                   help="a known failure that does not change the exit status (repeatable)")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="verify", description="Symbolic-numeric verifier of training-dynamics theorems.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("derive", help="print the derived results D1-D10")
    p.add_argument("names", nargs="*", metavar="NAME", help="D1..D10 or a module name (default: all)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="LaTeX (Markdown with $$ math $$)")
    fmt.add_argument("--json", action="store_true", help="machine-readable JSON")
    p.add_argument("--activation", default="tanh", help="activation for D2 and D7 (default tanh)")
    p.set_defaults(func=cmd_derive)

    p = sub.add_parser("predict", help="predictions for one configuration")
    p.add_argument("--config", required=True, help="TOML configuration file")
    p.add_argument("--json", action="store_true", help="machine-readable JSON")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("simulate", help="simulate one trajectory and measure what the theory predicts")
    p.add_argument("--config", required=True, help="TOML configuration file")
    p.add_argument("--json", action="store_true", help="machine-readable JSON on standard output")
    p.add_argument("--out", help="directory for the trajectory (NPZ, CSV), loss.png and summary.json "
                                 "(default runs/<config>-seed<seed>)")
    p.add_argument("--backend", default="auto", help="auto | numpy | torch (default auto = numpy)")
    p.add_argument("--device", default="cpu", help="cpu | cuda (torch only)")
    p.add_argument("--solver", default="RK45", help="RK45 | DOP853 | RK23 | LSODA | Radau | BDF (flow only)")
    p.add_argument("--rtol", type=float, default=1e-8, help="relative tolerance of the flow solver")
    p.add_argument("--grid", type=int, default=601, help="number of recording times")
    p.add_argument("--batch", type=int, default=None, help="mini-batch size: SGD instead of full-batch descent")
    p.add_argument("--threads", type=int, default=1, help="threads for the NumPy kernel")
    p.add_argument("--k-levels", type=float, nargs="*", default=(), metavar="K",
                   help="extra levels of K whose crossing times are recorded (1/2 and 1 - delta always are)")
    p.add_argument("--loss-levels", type=float, nargs="*", default=(), metavar="R",
                   help="loss levels whose (downward) crossing times are recorded")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: when standard error is a terminal)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("list", help="list the claims and the derivations")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("all", help="run every claim and write the report")
    _add_run_options(p)
    p.set_defaults(func=cmd_all)

    p = sub.add_parser("run", help="run some claims (ids from 'list', or a derivation key such as D9)")
    p.add_argument("claims", nargs="+", metavar="CLAIM")
    _add_run_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("report", help="render report.md and report.html again from DIR/report.json")
    p.add_argument("dir", metavar="DIR")
    p.set_defaults(func=cmd_report)

    from .stages import add_parser as add_stages

    add_stages(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except VerifierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:           # e.g. '... --json | head': the reader left; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
