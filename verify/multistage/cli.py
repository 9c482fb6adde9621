"""The multistage paper's tools: ``derive``, ``predict`` and ``simulate``.

They hang under ``python -m verify multistage <tool>`` and, as the first
paper's tools, at the top level (``python -m verify predict ...``).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import theory.multistage as derivations
from theory.errors import InputError

from .._derive_tool import add_parser as add_derive_parser
from .._derive_tool import derive_each, resolve, show
from .._interrupt import HeldInterrupt
from ..output import atomic_write, dumps

__all__ = ["add_tools", "DEFAULT_CONFIG", "LARGE_RUN_FROM", "output_plan"]

DEFAULT_CONFIG = Path(__file__).with_name("configs") / "multistage.toml"
_TAKES_ACTIVATION = {"D2", "D7", "D11"}


def cmd_derive(args) -> int:
    resolve(derivations, args.names)            # an unknown name is refused before the activation is built
    from theory.multistage.activation import activation_from_spec

    activation = activation_from_spec(args.activation, "--activation").require_tanh_like("--activation")
    results = derive_each(derivations, args, lambda k: derivations.derive(k, activation) if k in _TAKES_ACTIVATION
                          else derivations.derive(k))
    return show(results, args)


def _format_prediction(p: dict) -> str:
    lines = []
    keys = ["method", "applicable", "z_norm", "growth_rate", "initial_loss", "plateau_loss", "K0", "K0_expected",
            "t_half", "T_d", "T_p", "E_T_d", "dT_d_dalpha", "dT_d_dlog_m", "plateau_loss_bound", "C_1",
            "W2rel_decay_rate"]
    for k in keys:
        if k in p:
            lines.append(f"  {k:<20} {p[k]}")
    return "\n".join(lines)


def _write_stdout(text: str) -> None:
    """Print ``text`` and flush; a full or failing standard output is a one-line error, not a traceback."""
    try:
        print(text, end="" if text.endswith("\n") else "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        try:        # the buffered text would fail again at exit: send it nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        raise InputError("standard output", getattr(sys.stdout, "name", "stdout"),
                         f"cannot be written ({exc.strerror or exc})",
                         "free space on its disk or redirect the output elsewhere") from None


def cmd_predict(args) -> int:
    from .prediction import predict

    from .config import load_config

    config = load_config(args.config)
    p = predict(config)
    _write_stdout(dumps(p) if args.json else _format_prediction(p))
    return 0


def _check_levels(option: str, values, low: float, high: float, fix: str) -> tuple:
    """Finite levels inside ``(low, high)``, or an :class:`InputError` naming the first bad one."""
    for v in values:
        if not (math.isfinite(v) and low < v < high):
            raise InputError(option, v, f"each level must be a finite number in ({low:g}, {high:g})", fix)
    return tuple(values)


#: n x m (points x width) from which simulate's two-layer kernel shares its rows among threads (measured by
#: benchmarks/bench_flow_vs_jax.py --threads-table; see verify.threads)
from ..threads import KERNEL_PARALLEL_FROM  # noqa: E402


#: n x m (points x width) from which a simulation is "large": by default it records at 101 times instead of 301,
#: and leaves out the D3 remainder ratio (101 extra field evaluations) and the per-neuron series (two time x m
#: arrays); at m = 4000, n = 2000, d = 8 the recordings, observables, remainder and files of small runs' defaults
#: cost 1.6 times the integration, those of a large run 0.47 times (benchmarks/README.md, issue 25).  Below it
#: (the default configuration: 1.7e6) nothing changes.
LARGE_RUN_FROM = 4e6
#: the defaults of small and large runs: recordings, D3 remainder, per-neuron series
_SMALL_DEFAULTS = {"grid": 301, "remainder": True, "per_neuron": True}
_LARGE_DEFAULTS = {"grid": 101, "remainder": False, "per_neuron": False}


def output_plan(config, *, grid: int | None = None, remainder: bool | None = None,
                per_neuron: bool | None = None) -> dict:
    """What ``simulate`` records and writes: ``grid`` (recordings; each costs a loss evaluation), ``remainder``
    (the D3 remainder ratio at 101 recordings, a field evaluation each), ``per_neuron`` (the ``time x m`` series
    ``alignment`` and ``amplitude``).  Each is the caller's value where given, else the default of the run's size
    (:data:`LARGE_RUN_FROM`); ``rule`` says which applied, in words, and ``storage`` is what the NPZ records."""
    work = config.points * config.model.width
    large = work >= LARGE_RUN_FROM
    defaults = _LARGE_DEFAULTS if large else _SMALL_DEFAULTS
    given = {"grid": grid, "remainder": remainder, "per_neuron": per_neuron}
    plan = {k: defaults[k] if v is None else v for k, v in given.items()}
    chosen = [k for k, v in given.items() if v is not None]
    rule = (f"n x m = {work:.3g} {'>=' if large else '<'} {LARGE_RUN_FROM:.0e}: "
            + ("a large run: by default 101 recordings, no D3 remainder ratio, no per-neuron series (--grid, "
               "--remainder and --per-neuron ask for them)" if large else
               "by default 301 recordings, the D3 remainder ratio and the per-neuron series"))
    if chosen:
        rule += f"; given on the command line: {', '.join(chosen)}"
    plan.update(large=large, rule=rule,
                storage={"size_rule": rule, "recordings": plan["grid"], "remainder": plan["remainder"],
                         "per_neuron": plan["per_neuron"]})
    return plan


def _check_simulate_options(args, config) -> float:
    """Refuse bad options before any work: levels, threads, grid, batch, device and the output folder; return
    the run's estimated seconds (:meth:`Config.check_resources`)."""
    from ..engines import FlowOptions
    from .engine import BACKENDS, DEVICES

    FlowOptions(solver=args.solver, rtol=args.rtol, grid=301 if args.grid is None else args.grid)
    from .engine.kernels import check_precision

    check_precision(args.dtype, args.rtol if config.train.method == "flow" and args.batch is None else None)
    if args.backend not in BACKENDS:            # refused here, before the estimate line (select_kernel checks too)
        raise InputError("--backend", args.backend, "unknown backend", f"use one of {', '.join(BACKENDS)}")
    if args.device not in DEVICES:
        raise InputError("--device", args.device, "unknown device", f"use one of {', '.join(DEVICES)}")
    _check_levels("--k-levels", args.k_levels, 0.0, math.inf, "give levels of K such as --k-levels 0.1 0.9")
    _check_levels("--loss-levels", args.loss_levels, 0.0, math.inf, "give positive losses such as --loss-levels 0.01")
    from .. import threads as _threads

    args.threads, _ = _threads.choose(_threads.parse(args.threads), work=config.points * config.model.width,
                                      parallel_from=KERNEL_PARALLEL_FROM,
                                      say=lambda line: print(line, file=sys.stderr))
    if args.batch is not None and args.batch < 1:
        raise InputError("--batch", args.batch, "must be at least 1", "omit it for full-batch descent")
    from ..engines.trajectory import NPZ_DTYPES

    if args.npz_dtype not in NPZ_DTYPES:
        raise InputError("--npz-dtype", args.npz_dtype, "unknown storage precision",
                         f"use one of {', '.join(NPZ_DTYPES)}")
    args.plan = output_plan(config, grid=args.grid, remainder=args.remainder, per_neuron=args.per_neuron)
    args.grid = args.plan["grid"]
    return config.check_resources(simulate=True, grid=args.grid, batch=args.batch)


def _prepare_out(out_dir: Path) -> None:
    """Check, before the simulation starts, that ``out_dir`` is (or can be made) a writable folder."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("--out", str(out_dir), "exists and is not a folder", "give a folder path for --out")
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError("--out", str(out_dir), f"{existing} is not a folder", "give a folder path for --out")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError("--out", str(out_dir), f"{existing} is not writable (read-only disk or no permission)",
                         "give a writable folder for --out")
    if existing == out_dir:
        import tempfile
        try:
            with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".write-check-"):
                pass
        except OSError as exc:
            raise InputError("--out", str(out_dir), f"cannot be written ({exc.strerror or exc})",
                             "give a writable folder for --out") from None


def _prefetch() -> None:
    """Import what the steps after the integration need in a background thread while the trajectory is
    integrated: the plotting modules, the stage detector's smoothing filters and the predictions' module.

    The integration spends most of its time in compiled code that releases the GIL, so on a machine with two
    cores these imports (about 0.9 s) are hidden; the code after the integration finds the modules imported
    (or waits for the import lock).  Nothing else runs in that thread.
    """
    import threading
    from importlib import import_module

    interval = sys.getswitchinterval()

    def load():
        try:
            for name in ("matplotlib.figure", "matplotlib.backends.backend_agg", "scipy.ndimage",
                         "verify.multistage.prediction"):
                import_module(name)
        except Exception:      # the code that needs a module imports it again in the main thread and reports there
            pass
        finally:
            sys.setswitchinterval(interval)

    # a short switch interval while the import runs: the integrator gets the GIL back soon after each kernel call
    sys.setswitchinterval(min(interval, 2e-4))
    threading.Thread(target=load, name="prefetch-plotting", daemon=True).start()


#: the files of a simulation, in the order they are written
_SIMULATE_FILES = ("npz", "csv", "columns", "png", "summary")


def cmd_simulate(args) -> int:
    """Integrate, then measure and write the files.  A Ctrl-C during the integration keeps the states so far
    (status ``interrupted``); one after it keeps the finished trajectory: the trajectory files and
    ``summary.json`` are still written (whole: Ctrl-C is held back while they are), the figure is skipped, and
    the summary says where the run was stopped (``interrupted``, ``complete``) and why a file is missing
    (``files.<kind>`` null, with ``reasons["files.<kind>"]``).  Exit status 130 after any Ctrl-C."""
    from ..progress import Signs

    quiet = getattr(args, "quiet", False)
    with Signs("simulate", quiet=quiet) as signs:
        signs.phase("loading the configuration and its derivations", line="")
        return _run_simulation(args, signs, quiet)


def _run_simulation(args, signs, quiet: bool) -> int:
    from ..engines.events import Progress
    from .simulation import integrate, measure, missing, observe

    from .config import load_config

    config = load_config(args.config)
    seconds = _check_simulate_options(args, config)
    out_dir = Path(args.out) if args.out else Path("runs") / f"{Path(args.config).stem}-seed{config.train.seed}"
    _prepare_out(out_dir)
    plan = args.plan
    if plan["large"] and not quiet:
        print(f"simulate: {plan['rule']}", file=sys.stderr)
    _prefetch()
    signs.estimate(seconds, f"{args.config}: width {config.model.width}, alpha {config.model.alpha}, "
                   f"t_max {config.train.t_max:g}", "a line per phase follows")
    note = lambda msg: print(msg, file=sys.stderr)    # noqa: E731 - notices (e.g. a CUDA fallback) on stderr
    # the bar on a terminal (--progress forces it, --no-progress and --quiet turn it off); elsewhere the heartbeat
    # says the time reached every few seconds
    bar = Progress(config.train.t_max, enabled=False if quiet and args.progress is None else args.progress)
    signs.phase(f"integrating to t = {config.train.t_max:g}", lambda: f"t = {bar.t:.4g} of {bar.total:g}",
                beat=not bar.enabled)
    traj, kernel = integrate(config, backend=args.backend, device=args.device, solver=args.solver, rtol=args.rtol,
                             grid=args.grid, batch=args.batch, progress=bar, K_levels=args.k_levels,
                             loss_levels=args.loss_levels, notify=note, threads=args.threads, dtype=args.dtype)
    stops = [f"during the integration ({traj.message})"] if traj.status == "interrupted" else []
    files, not_written = {}, {}
    obs = {}
    signs.phase(f"computing the observables on {len(traj.t)} recorded states")
    try:
        obs = observe(config, traj, kernel, remainder=plan["remainder"], per_neuron=plan["per_neuron"])
    except KeyboardInterrupt:
        stops.append("after the integration, while the observables were computed (the files hold none)")
    signs.phase(f"measuring the stages and writing the trajectory files to {out_dir}/")
    with HeldInterrupt() as held:
        summary = measure(config, traj, obs, kernel)
        if len(traj.t):
            files.update(traj.save(out_dir, "trajectory", {k: v for k, v in obs.items() if k != "loss"},
                                   missing=missing(config, remainder=plan["remainder"]), dtype=args.npz_dtype,
                                   compress=args.npz_compress, storage=plan["storage"]))
    if held.caught:
        stops.append("after the integration, while the trajectory files were written")
    if not len(traj.t):
        not_written.update(dict.fromkeys(("npz", "csv", "columns", "png"), "the trajectory holds no recorded state"))
    elif stops and not stops[0].startswith("during"):
        not_written["png"] = f"not drawn: Ctrl-C arrived {stops[0]}"
    else:
        try:
            signs.phase("drawing loss.png")
            from ..report.figures import loss_figure
            from .prediction import predict      # imported by the prefetch thread during the integration

            plateau = predict(config)["plateau_loss"]
            files["png"] = loss_figure(traj.t, traj.loss, summary["stages"], out_dir / "loss.png",
                                       plateau_level=plateau, level_label="R* (predicted)",
                                       marks={"T_p (measured: q_max reaches m^-alpha_1)": summary["T_p"]["value"],
                                              "T_d (measured: K reaches 1 - delta)": summary["T_d"]["value"]},
                                       title=f"{config.activation.name}, m = {config.model.width}, "
                                             f"alpha = {config.model.alpha}, {traj.info['integrator']}")
        except KeyboardInterrupt:
            stops.append("after the integration, while loss.png was drawn")
            not_written["png"] = f"not drawn: Ctrl-C arrived {stops[-1]}"
    summary["seeds"] = {"data": config.data.seed if config.dataset.kind == "sample" else None,
                        "init": config.train.seed}
    if summary["seeds"]["data"] is None:
        summary["reasons"]["seeds.data"] = (f"{config.dataset.kind} data: the inputs are not drawn at random, so "
                                            "there is no data seed")
    summary["outputs"] = {"recordings": plan["grid"], "remainder": plan["remainder"],
                          "per_neuron": plan["per_neuron"], "npz_dtype": args.npz_dtype,
                          "npz_compressed": args.npz_compress, "size_rule": plan["rule"]}
    summary["interrupted"] = stops[0] if stops else None
    summary["complete"] = not stops
    if not stops:
        summary["reasons"]["interrupted"] = "the run was not interrupted"
    summary["files"] = {kind: files.get(kind) for kind in _SIMULATE_FILES}
    summary["files"]["summary"] = str(out_dir / "summary.json")
    for kind, why in not_written.items():
        summary["reasons"][f"files.{kind}"] = why
    with HeldInterrupt() as held:
        atomic_write(out_dir / "summary.json", dumps(summary))
    if held.caught and not stops:
        stops.append("after the integration, while summary.json was written")
    if args.json:
        _write_stdout(dumps(summary))
    else:
        for key in ("status", "z_norm", "K0", "t_half", "T_d", "T_p", "initial_loss", "plateau_loss", "final_loss",
                    "diverged", "interrupted", "files"):
            print(f"  {key:<14} {summary[key]}")
        print("  stages         detected in the loss (start - end)   by the theory's events on this run (start - end)")
        theory = summary.get("stages_theory", {})
        for name in dict.fromkeys([*summary["stages"], *theory]):
            found, pred = summary["stages"].get(name), theory.get(name)
            show = (lambda b: f"{b[0]:>10.4g} - {b[1]:<10.4g}" if b else f"{'-':>10}   {'':<10}")
            print(f"    {name:<18} {show(found)}      {show(pred)}")
        print(f"  T_p (measured) {summary['T_p']['value']}   (q_max reached m^-alpha_1 on this run; 'predict' gives "
              "the exact linear flow's first passage from the same initial scale)")
        print(f"  T_d (measured) {summary['T_d']['value']}   (K reached 1 - delta on this run; 'predict' gives the "
              "derived descent time)")
        print("  the detected stages come from the loss curve alone (verify.stages); the others are the theory's "
              "definitions, [0, T_p], [T_p, T_d], [T_d, end], read from this run's q_max and K")
        for path, why in summary["reasons"].items():
            print(f"  null: {path:<18} {why}")
    if stops:
        return 130
    return 1 if traj.status == "failed" else 0


def add_tools(sub) -> None:
    """Add ``derive``, ``predict`` and ``simulate`` to the subparsers ``sub``."""
    p = add_derive_parser(sub, derivations, "D1-D11 of the multistage paper")
    p.add_argument("--activation", default="tanh", help="activation for D2, D7 and D11 (default tanh)")
    p.set_defaults(func=cmd_derive)

    p = sub.add_parser("predict", help="multistage predictions for one configuration")
    p.add_argument("--config", required=True, help="TOML configuration file")
    p.add_argument("--json", action="store_true", help="machine-readable JSON")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("simulate", help="simulate one two-layer trajectory and measure what the theory predicts")
    p.add_argument("--config", required=True, help="TOML configuration file")
    p.add_argument("--json", action="store_true", help="machine-readable JSON on standard output")
    p.add_argument("--out", help="directory for the trajectory (NPZ, CSV), loss.png and summary.json "
                                 "(default runs/<config>-seed<seed>)")
    p.add_argument("--backend", default="auto", help="auto | numpy | torch (default auto = numpy)")
    p.add_argument("--device", default="cpu", help="cpu | cuda (torch only)")
    p.add_argument("--solver", default="RK45", help="RK45 | DOP853 | RK23 | LSODA | Radau | BDF (flow only)")
    p.add_argument("--rtol", type=float, default=1e-6,
                   help="relative tolerance of the flow solver (default 1e-6: event times to about 1e-7 relative)")
    p.add_argument("--grid", type=int, default=None,
                   help="number of recording times, each with a loss evaluation (default 301; 101 for a large run: "
                        f"n x m >= {LARGE_RUN_FROM:.0e} points x width)")
    p.add_argument("--remainder", action=argparse.BooleanOptionalAction, default=None,
                   help="the D3 remainder ratio at 101 recordings, one field evaluation each (default: on, off for "
                        f"a large run, n x m >= {LARGE_RUN_FROM:.0e})")
    p.add_argument("--per-neuron", action=argparse.BooleanOptionalAction, default=None,
                   help="the per-neuron series alignment and amplitude (time x m) in the NPZ (default: on, off for a "
                        f"large run, n x m >= {LARGE_RUN_FROM:.0e})")
    p.add_argument("--npz-dtype", default="float64", metavar="float64|float32",
                   help="precision of the NPZ's states, losses and observables (times stay float64; the CSV keeps "
                        "double precision); recorded in the NPZ's entry 'storage' (default float64)")
    p.add_argument("--npz-compress", action="store_true",
                   help="write the NPZ compressed (zlib; default uncompressed: states barely compress); recorded in "
                        "the NPZ's entry 'storage'")
    p.add_argument("--batch", type=int, default=None, help="mini-batch size: SGD instead of full-batch descent")
    p.add_argument("--dtype", default="float64", metavar="{float64,float32}",
                   help="precision of the two-layer field's arithmetic (default float64; the integrator's states stay "
                        "float64, and --npz-dtype chooses how they are stored).  float32 "
                        "integrates about 2.2 times faster (compiled kernel) with t_half and T_d within about 1e-6 "
                        "relative of float64; it needs --rtol >= 1e-6 and is for this tool only, not for the "
                        "claims (benchmarks/README.md, issue 25 targets 2 and 7)")
    p.add_argument("--threads", default=None, metavar="N",
                   help="threads of the two-layer kernel (default: one below n x m = "
                        f"{KERNEL_PARALLEL_FROM:.0e}, else the idle cores)")
    p.add_argument("--k-levels", type=float, nargs="*", default=(), metavar="K",
                   help="extra levels of K whose crossing times are recorded (1/2 and 1 - delta always are)")
    p.add_argument("--loss-levels", type=float, nargs="*", default=(), metavar="R",
                   help="loss levels whose (downward) crossing times are recorded")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: when standard error is a terminal)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on standard error (an estimate, then "
                   "one per phase, and the time reached every few seconds where there is no bar)")
    p.set_defaults(func=cmd_simulate)
