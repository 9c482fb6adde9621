"""The noisy-quadratic tools: ``derive`` and ``stationary``, under ``python -m verify noisy-quadratic <tool>``.

``stationary`` prints the derived stationary loss of GD (or heavy ball with
``--momentum``) on the noisy quadratic, the circulating approximation when a
momentum is given, a simulated value with its Monte Carlo interval, whether
the parameters are stable and the relaxation rate (spectral radius).
"""
from __future__ import annotations

import json
import math
import sys

import numpy as np

import theory.noisy_quadratic as derivations
from theory.bridge import numeric
from theory.errors import InputError
from theory.noisy_quadratic import momentum as q2

from .._derive_tool import add_parser as add_derive_parser
from ..output import jsonable
from .._toolconfig import merge, read_table
from .simulation import chain_interval, simulate

__all__ = ["add_tools", "stationary_summary", "point_stream_key", "spectrum_summary", "read_stationary_config", "STATIONARY_SETTINGS",
           "STATIONARY_EXAMPLE"]

#: the burn-in leaves the covariance this far from stationarity (relative), by the derived spectral radius
BURN_IN_RESIDUAL = 1e-8
#: the most steps (burn-in and averaged) ``stationary`` simulates; a slower point reports its derived values only
SIMULATION_STEP_LIMIT = 2_000_000
#: the most chains ``stationary`` simulates (memory: a few arrays of this many floats)
CHAIN_LIMIT = 10_000_000
_ARGS = (q2.alpha, q2.lam, q2.sigma, q2.gamma)


#: the settings of ``stationary`` (the command-line options without dashes, the keys of its [stationary] table)
STATIONARY_SETTINGS = {"lr": float, "curvature": float, "noise": float, "momentum": float, "chains": int,
                       "steps": int, "seed": int}
STATIONARY_DEFAULTS = {"momentum": None, "chains": 2048, "steps": 4000, "seed": 0}
STATIONARY_REQUIRED = ("lr", "curvature", "noise")
#: the example settings file (``python -m verify noisy-quadratic stationary --config FILE``)
STATIONARY_EXAMPLE = "verify/noisy_quadratic/configs/stationary.toml"
_EXAMPLES = {"lr": "0.1", "curvature": "1", "noise": "1", "momentum": "0.9", "chains": "2048", "steps": "4000",
             "seed": "0"}


def _option(key: str) -> str:
    return f"--{key}"


def _check_stationary(values: dict, field=_option) -> None:
    """Check the settings present in ``values``; ``field(key)`` names one in an error (``--lr``, or
    ``[stationary] lr`` for a settings file)."""
    def bad(key, problem):
        name = field(key)
        fix = f"use e.g. --{key} {_EXAMPLES[key]}" if name.startswith("--") else f"set {key} = {_EXAMPLES[key]}"
        raise InputError(name, values[key], problem, fix)

    for key in ("lr", "curvature"):
        if key in values and not (math.isfinite(values[key]) and values[key] > 0):
            bad(key, "must be a positive finite number")
    if "noise" in values and not (math.isfinite(values["noise"]) and values["noise"] >= 0):
        bad("noise", "must be a non-negative finite number")
    momentum = values.get("momentum")
    if momentum is not None and not (math.isfinite(momentum) and 0 <= momentum < 1):
        bad("momentum", "must lie in [0, 1)")
    if "chains" in values and not 2 <= values["chains"] <= CHAIN_LIMIT:
        bad("chains", f"must lie in [2, {CHAIN_LIMIT:.0e}] (the interval needs two chains)")
    if "steps" in values and not 1 <= values["steps"] <= SIMULATION_STEP_LIMIT:
        bad("steps", f"must be a positive integer of at most {SIMULATION_STEP_LIMIT:.0e}")
    if "seed" in values and values["seed"] < 0:
        bad("seed", "must be a non-negative integer")


def read_stationary_config(path) -> dict:
    """The [stationary] table of a TOML settings file, checked (errors name ``[stationary] <key>``); keys it
    leaves out are absent (the command line or the defaults give them)."""
    values = read_table(path, "stationary", STATIONARY_SETTINGS, ("stationary",), STATIONARY_EXAMPLE)
    _check_stationary(values, lambda key: f"[stationary] {key}")
    return values


#: the simulation's cost, measured with a safety factor of about two (one thread): NumPy's per-step overhead and
#: the per-chain work of one heavy-ball step with fresh noise; memory: position, velocity, noise and the running
#: sums of every chain
SECONDS_PER_STEP, SECONDS_PER_CHAIN_STEP, BYTES_PER_CHAIN = 2e-5, 2e-8, 96


def _check_cost(chains: int, total_steps: int) -> float:
    """Refuse (one line) a simulation that cannot fit in memory or time; return its estimated seconds."""
    from ..resources import FLOPS, check_memory, check_time

    check_memory(float(chains) * BYTES_PER_CHAIN, "--chains", chains, f"{chains} chains",
                 "use fewer --chains (e.g. 2048)")
    seconds = float(total_steps) * (SECONDS_PER_STEP + float(chains) * SECONDS_PER_CHAIN_STEP)
    return check_time(seconds * FLOPS, "--chains" if chains > 4096 else "--steps",
                      chains if chains > 4096 else total_steps,
                      f"{chains} chains x {total_steps} steps (burn-in included)",
                      "use fewer --chains or --steps")


def stationary_summary(lr: float, curvature: float, noise: float, momentum: float | None = None,
                       chains: int = 2048, steps: int = 4000, seed: int = 0, *, signs=None) -> dict:
    """The derived floor (and approximation), a simulated floor with its 95 % interval, stability, relaxation.

    Unstable parameters are reported (``stable: False`` with the region) and not simulated.  ``signs``
    (:class:`verify.progress.Signs`, the command line's) hears an estimate where the simulation is estimated
    to take longer than a heartbeat, and its heartbeat speaks while a simulation runs long.
    """
    _check_stationary({"lr": lr, "curvature": curvature, "noise": noise, "momentum": momentum, "chains": chains,
                       "steps": steps, "seed": seed})
    gamma = 0.0 if momentum is None else momentum
    c = lr * curvature
    upper = _value(q2.STABLE_UPPER, (q2.gamma,), gamma)
    stable = 0 < c < upper
    rho = _value(q2.SPECTRAL_RADIUS, (q2.alpha, q2.lam, q2.gamma), lr, curvature, gamma)
    out = {"lr": lr, "curvature": curvature, "noise": noise, "momentum": momentum, "alpha_lambda": c,
           "stable": stable, "region": f"0 < alpha lambda < {upper:.12g} (1 + gamma)", "relaxation_rate": rho,
           "seed": seed, "chains": chains, "steps": steps}
    if not stable:
        out.update({"exact": None, "approximation": None, "simulated": None,
                    "approximation_note": "not evaluated: the parameters are outside the stable region"})
        return out
    exact = _value(q2.STATIONARY_LOSS, _ARGS, lr, curvature, noise, gamma)
    out["exact"] = exact if math.isfinite(exact) else None
    if out["exact"] is None:
        out["exact_note"] = "beyond the range of float64 (the derived floor overflows)"
    if momentum is not None:
        out.update(_approximation(lr, curvature, noise, gamma))
    why_not = None
    # the chains square x (scale sqrt(floor)) and the interval squares x^2 again: past sqrt(float64 max) / 1e3 the
    # estimate overflows and would print inf +- nan
    square_limit = math.sqrt(np.finfo(np.float64).max) / 1e3
    if out["exact"] is None or not out["exact"] < square_limit:
        why_not = (f"the floor {exact:.3g} is beyond {square_limit:.3g}, where the chains' squared values and their "
                   "variance overflow float64")
    elif not (math.isfinite(rho) and rho < 1):
        why_not = (f"the relaxation rate rho = {rho:.17g} rounds to 1 or beyond in float64 (alpha lambda = {c:.3g} "
                   f"too close to an edge of the stable region, 0 or {upper:.12g}, to simulate)")
    else:
        burn = math.ceil(math.log(BURN_IN_RESIDUAL) / (2 * math.log(rho))) if rho > 0 else 1
        if burn + steps > SIMULATION_STEP_LIMIT:
            why_not = (f"relaxing at rho = {rho:.12g} per step, the burn-in alone needs {burn:.3g} steps (more than "
                       f"{SIMULATION_STEP_LIMIT:.0e} with --steps)")
    if why_not is not None:                            # a finite but very slow point: derived values only
        out["simulated"] = None
        out["simulation_note"] = f"not run: {why_not}; the derived values above are exact"
        return out
    seconds = _check_cost(chains, burn + steps)
    if signs is not None:
        from ..progress import HEARTBEAT_S

        what = f"{chains} chains x {burn + steps} steps (burn-in {burn})"
        if seconds >= HEARTBEAT_S:          # a run of a few seconds (the defaults) stays silent
            signs.estimate(seconds, what, "a line every few seconds follows")
        signs.phase(f"simulating {what}", line="")
    key = point_stream_key(lr, curvature, noise, gamma)
    run = simulate(lr, curvature, noise, gamma, chains=chains, steps=burn + steps, burn_in=burn, seed=seed,
                   spawn_key=key)
    with np.errstate(all="ignore"):                   # a noise so large that x^2 overflows: inf and nan, reported
        ci = chain_interval(run.chain_means, run.chain_sq, steps)
    mean, se = float(ci["mean"][0]), float(ci["stderr"][0])
    out["simulated"] = {"mean": mean, "stderr": se, "interval_95": [mean - 1.96 * se, mean + 1.96 * se],
                        "burn_in": burn, "autocorrelation_time": float(ci["autocorrelation_time"][0]),
                        "noise_stream": f"SeedSequence({seed}, spawn_key={key}).spawn(1)[0]: this point's own "
                                        "stream (the spawn key is the IEEE-754 bits of lr, curvature, noise, "
                                        "momentum)"}
    return out


def point_stream_key(lr: float, curvature: float, noise: float, momentum: float) -> tuple:
    """The spawn key of one point's noise stream: the IEEE-754 bits of its four parameters as integers, so that
    two points (two calls of ``stationary`` with one seed) draw independent noise and their simulated errors are
    independent, while one point with one seed gives the same numbers every time."""
    return tuple(int(np.float64(v).view(np.uint64)) for v in (lr, curvature, noise, momentum))


def _value(expr, args, *values) -> float:
    """A derived expression at a point, evaluated in float64 NumPy arithmetic (an overflow gives inf, a division by
    zero inf or nan, never an exception at a finite input)."""
    with np.errstate(all="ignore"):
        return float(numeric(expr, args)(*(np.float64(v) for v in values)))


def _approximation(lr: float, curvature: float, noise: float, gamma: float) -> dict:
    """The circulating approximation at a stable point: its value, or None with the reason where it predicts no
    stationary law (at or beyond its pole alpha lambda = 1 - gamma^2, where it is unbounded or negative; the pole
    is decided by comparing alpha lambda with the derived pole, not by dividing by zero)."""
    c = lr * curvature
    pole = float(numeric(q2.APPROX_POLE, (q2.gamma,))(gamma))
    beyond = ("the approximation predicts no stationary law here: alpha lambda = {c:.12g} is {where} its pole "
              "1 - gamma^2 = {pole:.12g}, where it is {what}, although the process is stable (up to 1 + gamma)")
    if c == pole:
        return {"approximation": None, "approximation_pole": pole,
                "approximation_note": beyond.format(c=c, where="at", pole=pole, what="unbounded")}
    if c > pole:
        return {"approximation": None, "approximation_pole": pole,
                "approximation_note": beyond.format(c=c, where="beyond", pole=pole, what="negative")}
    approx = _value(q2.APPROXIMATION, _ARGS, lr, curvature, noise, gamma)
    if not (math.isfinite(approx) and approx >= 0):     # alpha lambda an ulp below the pole, rounded across it
        return {"approximation": None, "approximation_pole": pole,
                "approximation_note": beyond.format(c=c, where="within rounding of", pole=pole,
                                                    what="unbounded")}
    return {"approximation": approx, "approximation_pole": pole, "approximation_note": "finite"}


def _fmt(value) -> str:
    return "none" if value is None else f"{value:.10g}" if isinstance(value, float) else str(value)


def cmd_stationary(args) -> int:
    from ..progress import Signs

    with Signs("stationary", quiet=args.quiet) as signs:
        out = stationary_summary(args.lr, args.curvature, args.noise, args.momentum, args.chains, args.steps,
                                 args.seed, signs=signs)
    if args.json:
        print(json.dumps(jsonable(out), indent=2))
        return 0
    for key in ("lr", "curvature", "noise", "momentum", "alpha_lambda", "stable", "region", "relaxation_rate",
                "exact"):
        print(f"  {key:<16} {_fmt(out[key])}")
    if out.get("exact_note"):
        print(f"  {'':<16} ({out['exact_note']})")
    if args.momentum is not None:
        print(f"  {'approximation':<16} {_fmt(out['approximation'])}  ({out.get('approximation_note', '')})")
    sim = out["simulated"]
    if sim is None:
        print(f"  {'simulated':<16} " + out.get("simulation_note", "not run (unstable: the loss grows without bound)"))
    else:
        lo, hi = sim["interval_95"]
        print(f"  {'simulated':<16} {sim['mean']:.10g} +- {sim['stderr']:.3g}  (95 %: [{lo:.8g}, {hi:.8g}], "
              f"{out['chains']} chains x {out['steps']} steps after a burn-in of {sim['burn_in']})")
    return 0


def _number(name: str, text: str, example: str, kind=float):
    try:
        return kind(text)
    except ValueError:
        raise InputError(name, text, f"is not {'an integer' if kind is int else 'a number'}",
                         f"use e.g. {name} {example}") from None


def _cmd_stationary_parsed(args) -> int:
    """Parse here, so that a bad value is one InputError line (exit 2) naming its option; the settings of
    ``--config FILE`` (its [stationary] table) fill the options not given on the command line."""
    options = {key: None if getattr(args, key) is None else
               _number(f"--{key}", getattr(args, key), _EXAMPLES[key], kind)
               for key, kind in STATIONARY_SETTINGS.items()}
    from_file = read_stationary_config(args.config) if args.config else {}
    settings = merge(options, from_file, STATIONARY_DEFAULTS)
    for key in STATIONARY_REQUIRED:
        if settings.get(key) is None:
            raise InputError(f"--{key}", None, "is required",
                             f"give --{key} {_EXAMPLES[key]}, or {key} = {_EXAMPLES[key]} in the [stationary] "
                             f"table of --config (see {STATIONARY_EXAMPLE})")
    for key, value in settings.items():
        setattr(args, key, value)
    return cmd_stationary(args)


#: Lanczos's eigenvalue count at most (more is the dense spectrum's job); the tool's cost: a training step of the
#: small network, and one entry of the dense float64 Hessian (3392 parameters: 23.6 s, benchmarks/README.md), each
#: with a safety factor of about two
SPECTRUM_K_LIMIT, SPECTRUM_SECONDS_PER_STEP, SPECTRUM_SECONDS_PER_ENTRY = 50, 6e-3, 4e-6


def spectrum_summary(params: int = 656, checkpoint: int | None = None, k: int = 5, seed: int = 0, *,
                     signs=None) -> dict:
    """Train Q3's network (depth 3, the width that gives ``params`` parameters) and compare Lanczos with eigh.

    ``params`` must be ``64 w + w^2 + 10 w`` for a width ``w`` (656 for 8, 2352 for 24, 3392 for 32); training
    runs ``100 w`` steps (at most 3000) with drops at 1/2 and 3/4; the checkpoint defaults to the end.
    ``signs`` (:class:`verify.progress.Signs`, the command line's) hears the estimate and a line per phase.
    """
    from .spectrum_training import SpectrumSetup, train_and_measure

    widths = {64 * w + w * w + 10 * w: w for w in range(1, 65)}
    if params not in widths:
        close = sorted(widths, key=lambda n: abs(n - params))[:2]
        raise InputError("--params", params, "is not the size of a 64-w-w-10 network",
                         f"use e.g. {close[0]} or {close[1]}")
    w = widths[params]
    steps = min(100 * w, 3000)
    step = steps if checkpoint is None else checkpoint
    if not 0 <= step <= steps:
        raise InputError("--checkpoint", step, f"must be a step in 0..{steps}", f"use e.g. --checkpoint {steps}")
    if not 1 <= k <= min(params - 1, SPECTRUM_K_LIMIT):
        raise InputError("--k", k, f"must lie in 1..{min(params - 1, SPECTRUM_K_LIMIT)} (Lanczos finds a few extreme "
                         "eigenvalues; the dense spectrum beside it has them all)", "use e.g. --k 5")
    if seed < 0:
        raise InputError("--seed", seed, "must be a non-negative integer", "use e.g. --seed 0")
    from ..resources import FLOPS, check_memory, check_time

    check_memory(8.0 * params * params * 3, "--params", params, f"the dense {params} x {params} Hessian and its "
                 "eigenvectors", "use a smaller --params")
    seconds = check_time((SPECTRUM_SECONDS_PER_STEP * steps + SPECTRUM_SECONDS_PER_ENTRY * params * params) * FLOPS,
                         "--params", params, f"{steps} training steps and the dense Hessian of {params} parameters",
                         "use a smaller --params")
    setup = SpectrumSetup(width=w, steps=steps, drops=(steps // 2, 3 * steps // 4), checkpoints=(step,), k=k)
    phase = None
    if signs is not None:
        signs.estimate(seconds, f"{params} parameters (width {w}), {steps} training steps, the dense Hessian at "
                       f"step {step}")
        phase = signs.phase
    c = train_and_measure(setup, seed, phase=phase).at(step)
    dense_top = c.values[::-1][:k]
    rel = max(float(np.max(np.abs(c.lanczos_top - dense_top))), abs(c.lanczos_bottom - float(c.values[0])))
    return {"setup": setup.describe(), "seed": seed, "checkpoint": step, "loss": c.loss, "accuracy": c.accuracy,
            "lanczos_top": c.lanczos_top.tolist(), "lanczos_top_residuals": c.lanczos_top_residuals.tolist(),
            "lanczos_bottom": c.lanczos_bottom, "lanczos_bottom_residual": c.lanczos_bottom_residual,
            "dense_top": dense_top.tolist(), "dense_bottom": float(c.values[0]),
            "max_relative_difference": rel / abs(c.top)}


#: parameters from which ``spectrum`` uses more than one thread: the dense Hessian's eigendecomposition (cubic
#: in the parameters) is the part that threads speed up; the training of a network this small they slow down
SPECTRUM_PARALLEL_FROM = 3000


def cmd_spectrum(args) -> int:
    from .. import threads as _threads
    from ..progress import Signs

    params = _number("--params", args.params, "656", int)
    numbers = (params, None if args.checkpoint is None else _number("--checkpoint", args.checkpoint, "800", int),
               _number("--k", args.k, "5", int), _number("--seed", args.seed, "0", int))
    n, _ = _threads.choose(_threads.parse(args.threads), work=params, parallel_from=SPECTRUM_PARALLEL_FROM,
                           say=lambda line: print(line, file=sys.stderr))
    with _threads.limit(n), Signs("spectrum", quiet=args.quiet) as signs:
        out = spectrum_summary(*numbers, signs=signs)
    if args.json:
        print(json.dumps(jsonable(out), indent=2))
        return 0
    print(f"  {out['setup']['network']}, {out['setup']['parameters']} parameters, step {out['checkpoint']}, "
          f"loss {out['loss']:.6g}, accuracy {out['accuracy']:.4f}")
    for j, (a, r, d) in enumerate(zip(out["lanczos_top"], out["lanczos_top_residuals"], out["dense_top"])):
        print(f"  top {j + 1:<3} lanczos {a:.12g}  residual {r:.2e}  dense {d:.12g}")
    print(f"  bottom  lanczos {out['lanczos_bottom']:.12g}  residual {out['lanczos_bottom_residual']:.2e}  "
          f"dense {out['dense_bottom']:.12g}")
    print(f"  largest relative difference {out['max_relative_difference']:.3e}")
    return 0


def add_tools(sub) -> None:
    """Add ``derive`` and ``stationary`` to the subparsers ``sub``."""
    add_derive_parser(sub, derivations, "of the noisy-quadratic model")

    p = sub.add_parser("stationary", help="stationary loss of GD / heavy ball on the noisy quadratic: derived, "
                                          "approximation, simulated")
    p.add_argument("--config", metavar="FILE", default=None,
                   help=f"a TOML file whose [stationary] table gives any of the settings below (options given "
                        f"here override it); example: {STATIONARY_EXAMPLE}")
    p.add_argument("--lr", default=None, help="the step alpha (> 0; required, here or in --config)")
    p.add_argument("--curvature", default=None,
                   help="lambda in f = lambda (x + eps)^2 (> 0; required, here or in --config)")
    p.add_argument("--noise", default=None,
                   help="sigma, the standard deviation of eps (>= 0; required, here or in --config)")
    p.add_argument("--momentum", default=None, help="gamma in [0, 1) (heavy ball as in PyTorch); omit for GD")
    p.add_argument("--chains", default=None, help="independent chains simulated (default 2048)")
    p.add_argument("--steps", default=None, help="steps averaged after the burn-in (default 4000)")
    p.add_argument("--seed", default=None, help="noise seed (default 0)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines on standard error (an estimate where "
                   "the simulation is estimated to take over 5 s, then a line every few seconds)")
    p.set_defaults(func=_cmd_stationary_parsed)

    p = sub.add_parser("spectrum", help="train Q3's small GELU network on digits; Lanczos against the dense "
                                        "Hessian spectrum")
    p.add_argument("--params", default="656", help="parameters of the 64-w-w-10 network (656, 2352, 3392, ...)")
    p.add_argument("--checkpoint", default=None, help="the training step measured (default: the last)")
    p.add_argument("--k", default="5", help="top eigenvalues found by Lanczos (default 5)")
    p.add_argument("--seed", default="0", help="seed of initialisation, batches and start vector (default 0)")
    p.add_argument("--threads", default=None, metavar="N",
                   help=f"PyTorch and BLAS threads (default: one below {SPECTRUM_PARALLEL_FROM} parameters, else "
                        "the idle cores)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines on standard error (an estimate, then "
                   "one per phase: training, the dense Hessian, eigh, Lanczos)")
    p.set_defaults(func=cmd_spectrum)
