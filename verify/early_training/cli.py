"""The early-training paper's tools: ``derive`` and ``uv``, under ``python -m verify early-training <tool>``.

``critical-lr`` measures the 10-step ``c_loss``, ``c_sharp`` and ``c_max`` of
one deep ReLU network (:mod:`verify.early_training.critical`) and prints
the per-step loss and sharpness of the run at each.  ``uv`` draws one uv-model initialisation, measures its critical constants
over the first ``--steps`` gradient-descent steps by scan and bisection on
``c`` (:mod:`verify.early_training.uv`) and prints them next to the
derived first-order ``c_loss``.
"""
from __future__ import annotations

import json
import math
import sys

import theory.early_training as derivations
from theory.bridge import numeric
from theory.early_training import uv_model
from theory.errors import InputError

from .._derive_tool import add_parser as add_derive_parser
from ..output import jsonable
from .._toolconfig import merge, read_table
from .uv import BRACKET, critical_constants, initialise
from ..devices import DEVICES

__all__ = ["add_tools", "uv_summary", "cmd_critical", "read_tool_config", "SETTINGS", "EXAMPLE"]

#: the example settings file, one table per tool (``python -m verify early-training <tool> --config FILE``)
EXAMPLE = "verify/early_training/configs/early-training.toml"
#: each tool's settings: the command-line options without dashes (``zero_last_layer`` for ``--zero-last-layer``),
#: the keys of its table in a settings file
SETTINGS = {"uv": {"width": int, "target": float, "seed": int, "steps": int},
            "critical-lr": {"depth": int, "width": int, "seed": int, "zero_last_layer": bool, "data": str,
                            "device": str, "steps": int}}
DEFAULTS = {"uv": {"target": 0.0, "seed": 0, "steps": 10},
            "critical-lr": {"seed": 0, "zero_last_layer": False, "data": "digits", "device": "cpu", "steps": 10}}
REQUIRED = {"uv": ("width",), "critical-lr": ("depth", "width")}
#: the smallest value of each integer setting, and an example of each setting
_LOW = {"width": 1, "depth": 1, "seed": 0, "steps": 1}
_EXAMPLES = {"uv": {"width": "1024", "target": "0", "seed": "0", "steps": "10"},
             "critical-lr": {"depth": "4", "width": "256", "seed": "0", "zero_last_layer": "true", "data": "digits",
                             "device": "cpu", "steps": "10"}}


def _option(key: str) -> str:
    return "--" + key.replace("_", "-")


def _check_settings(tool: str, values: dict, field=_option) -> None:
    """Check the settings of ``tool`` present in ``values``; ``field(key)`` names one in an error (``--width``,
    or ``[uv] width`` for a settings file)."""
    def bad(key, problem, fix=None):
        name = field(key)
        example = _EXAMPLES[tool][key]
        raise InputError(name, values[key], problem, fix or (f"use e.g. {_option(key)} {example}"
                                                             if name.startswith("--") else f"set {key} = {example}"))

    for key, low in _LOW.items():
        if key in values and values[key] < low:
            bad(key, "must be a positive integer" if low else "must be a non-negative integer")
    if "target" in values and not math.isfinite(values["target"]):
        bad("target", "must be finite")
    if "device" in values and values["device"] not in DEVICES:
        bad("device", "unknown device", f"use one of {', '.join(DEVICES)}")
    if "data" in values:
        from .critical import DATASETS

        if values["data"] not in DATASETS:
            bad("data", "unknown data set", f"use one of {', '.join(DATASETS)}")


def read_tool_config(path, tool: str) -> dict:
    """The table ``[tool]`` (``uv`` or ``critical-lr``) of a TOML settings file, checked (errors name
    ``[tool] key``); keys it leaves out are absent (the command line or the defaults give them)."""
    if tool not in SETTINGS:
        raise InputError("tool", tool, "has no settings file", f"use one of {', '.join(SETTINGS)}")
    values = read_table(path, tool, SETTINGS[tool], tuple(SETTINGS), EXAMPLE)
    _check_settings(tool, values, lambda key: f"[{tool}] {key}")
    return values


def _settings(tool: str, args, options: dict) -> None:
    """Fill ``args`` from the command line's ``options`` (None where not given), over the [tool] table of
    ``--config``, over the defaults; a required setting given nowhere is an error."""
    from_file = read_tool_config(args.config, tool) if args.config else {}
    settings = merge(options, from_file, DEFAULTS[tool])
    for key in REQUIRED[tool]:
        if settings.get(key) is None:
            example = _EXAMPLES[tool][key]
            raise InputError(_option(key), None, "is required",
                             f"give {_option(key)} {example}, or {key} = {example} in the [{tool}] table of "
                             f"--config (see {EXAMPLE})")
    _check_settings(tool, settings)
    for key, value in settings.items():
        setattr(args, key, value)


def uv_summary(width: int, target: float, seed: int, steps: int = 10, *, signs=None) -> dict:
    """The measured ``c_loss``, ``c_sharp``, ``c_max`` of one initialisation and the derived ``c_loss``.

    For ``y = 0`` the prediction is the derived 10-step ``c_loss`` to first order in ``1/w``; for ``y != 0``
    it is the derived first-order step-1 threshold ``2 + 4 e_0 f_0 / (w lambda_0^2)`` (the loss can then
    first rise at a later step, so the measured value may lie below it).  ``signs``
    (:class:`verify.progress.Signs`, the command line's) hears the estimate and a line per constant.
    """
    if not (isinstance(target, (int, float)) and math.isfinite(target)):
        raise InputError("target", target, "must be a finite number", "use e.g. --target 0")
    if not abs(target) <= 1e100:          # the loss (f - y)^2 / 2 and its round-off bands must stay in float64
        raise InputError("--target", target, "is so large that the loss (f - y)^2 / 2 overflows float64",
                         "use a target of modest size, e.g. --target 0.5 (|y| <= 1e100)")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise InputError("steps", steps, "must be a positive integer", "use e.g. --steps 10")
    if not isinstance(width, int) or isinstance(width, bool) or width < 1:
        raise InputError("width", width, "must be a positive integer", "use e.g. --width 1024")
    from .cost import check_uv

    seconds = check_uv(width, steps)    # memory and time estimated before anything is allocated
    progress = None
    if signs is not None:
        signs.estimate(seconds, f"width {width}, target {target:g}, {steps} steps",
                       "a line per constant follows")

        def progress(name, runs):
            signs.phase(f"searching {name}", detail=lambda: f"{runs()} runs so far",
                        line=f"  {name}: scan of c = 2^x over [{BRACKET[0]:g}, {BRACKET[1]:g}], then bisection "
                             f"({runs()} runs so far)")
    init = initialise(width, seed)
    consts = critical_constants(init, target, steps, progress=progress)
    s = uv_model
    if target == 0:
        predicted = float(numeric(s.C_LOSS_FIRST_ORDER, (s.f0, s.lam0, s.w))(init.f0, init.lam0, width))
        rule = "10-step c_loss to first order in 1/w (y = 0)"
    else:
        predicted = float(numeric(s.C_LOSS_STEP1_FIRST_ORDER, (s.f0, s.lam0, s.w, s.e0))(
            init.f0, init.lam0, width, init.f0 - target))
        rule = "step-1 threshold to first order in 1/w (y != 0: the loss may first rise later)"
    return {"width": width, "target": target, "seed": seed, "steps": steps, "f0": init.f0, "lambda0": init.lam0,
            "c_loss": consts["c_loss"].value, "c_sharp": consts["c_sharp"].value, "c_max": consts["c_max"].value,
            "c_loss_predicted": predicted, "prediction": rule, "bracket": list(BRACKET),
            "scan": {k: v.as_dict() for k, v in consts.items()},
            "initialisation": f"u, v ~ N(0, 1) from SeedSequence({seed}, spawn_key=({width},))"}


#: parameters from which critical-lr's network uses more than one thread: below it PyTorch's threads cost more
#: than they gain (20 forward-backward passes on the 1797 digits, depth 4, two threads against one on a loaded
#: 2-core machine: 0.07x at width 64, 0.34x at 512, 0.84x at 1024; benchmarks/README.md)
CRITICAL_PARALLEL_FROM = 5e5


def _show(value) -> str:
    return "none in the bracket" if value is None else f"{value:.12g}"


def cmd_uv(args) -> int:
    from ..progress import Signs

    with Signs("uv", quiet=getattr(args, "quiet", False)) as signs:
        out = uv_summary(args.width, args.target, args.seed, args.steps, signs=signs)
    if args.json:
        print(json.dumps(jsonable(out), indent=2))
        return 0
    for key in ("width", "target", "seed", "steps", "f0", "lambda0"):
        print(f"  {key:<18} {out[key]}")
    for key in ("c_loss", "c_sharp", "c_max"):
        scan = out["scan"][key]
        flags = ("" if scan["monotone"] else "  (event not monotone in c over the scan)") + \
                ("  (at or below the bracket's lower end)" if scan["below_bracket"] else "")
        print(f"  {key:<18} {_show(out[key])}{flags}")
    print(f"  {'c_loss_predicted':<18} {out['c_loss_predicted']:.12g}  ({out['prediction']})")
    return 0


def cmd_critical(args) -> int:
    from .critical import DATASETS, Setup, measure
    from .search import Search

    if args.data not in DATASETS:
        raise InputError("--data", args.data, "unknown data set", f"use one of {', '.join(DATASETS)}")
    if args.device not in DEVICES:
        raise InputError("--device", args.device, "unknown device", f"use one of {', '.join(DEVICES)}")
    from ..resources import describe_seconds
    from .cost import check_critical

    seconds = check_critical(args.depth, args.width, args.steps)   # before a network is built
    quiet = getattr(args, "quiet", False)
    if not quiet:
        print(f"critical-lr: depth {args.depth}, width {args.width}: estimated {describe_seconds(seconds)} on one core; a line "
              "per search pass follows (--quiet: none)", file=sys.stderr)
    setup = Setup(args.depth, args.width, args.seed, data=args.data, zero_last_layer=args.zero_last_layer,
                  device=args.device, steps=args.steps)
    notify = (lambda text: print(text, file=sys.stderr, flush=True))   # the device notice, always
    # PyTorch's and the BLAS's threads from the work and the idle cores (verify.threads): with PyTorch's defaults
    # on a loaded 2-core machine a depth-4, width-64 search took 6 min 20 s wall against 22 s with one thread
    from .. import threads as _threads
    from ..progress import Signs
    from . import cost

    n, why = _threads.choose(getattr(args, "threads", None), work=cost._parameters(args.depth, args.width),
                             parallel_from=CRITICAL_PARALLEL_FROM, say=notify)
    if not quiet:
        print(f"critical-lr: {n} thread{'s' if n != 1 else ''} ({why}; --threads N to set)", file=sys.stderr)
    # the heartbeat speaks where one pass of the search runs long (a wide network's runs and its Lanczos)
    with _threads.limit(n), Signs("critical-lr", quiet=quiet) as signs:
        signs.phase("searching", line="  building the network and measuring lambda0, then the search")
        out = measure(setup, Search(coarse_step=0.5, resolution=0.02, per_pass=1), trajectories=True,
                      notify=notify, progress=None if quiet else signs.say)
    if args.json:
        print(json.dumps(jsonable(out), indent=2))
        return 0
    s = out["setup"]
    print(f"  depth {s['depth']}, width {s['width']}, seed {s['seed']}, data {s['data']} ({s['data_description']}), "
          f"last layer {'zero' if s['zero_last_layer'] else 'N(0, 1/fan_in)'}, {s['steps']} steps, batch "
          f"{s['batch_size']}")
    print(f"  lambda0            {s['lambda0']:.8g}  (Lanczos on {s['lambda0_on']}, residual "
          f"{s['lambda0_residual']:.2e})")
    for key in ("c_loss", "c_sharp", "c_max"):
        scan = out["scan"][key]
        flags = ("" if scan["monotone"] else "  (event not monotone in c)") + \
                ("  (authors' grid 2^(0.1 k) used)" if scan["fallback"] else "") + \
                ("  (at or below the bracket's lower end)" if scan["below_bracket"] else "") + \
                ("  (beyond the bracket)" if scan["above_bracket"] else "") + \
                ("  (below c_loss's cell: the search extended below its start)" if scan.get("extended_below")
                 else "")
        print(f"  {key:<18} {_show(out[key])}  [{scan['runs']} runs]{flags}")
    print(f"  training runs      {out['training_runs']}")
    for key, run in out.get("trajectories", {}).items():
        print(f"  run at {key} = {run['c']:.6g}:")
        print("    step  loss          sharpness/initial")
        for t, loss in enumerate(run["loss"]):
            ratio = run["sharpness_ratio"][t] if t < len(run["sharpness_ratio"]) else float("nan")
            print(f"    {t:>4}  {loss:<12.6g}  {ratio:.6g}")
    return 0


def _cmd_critical_parsed(args) -> int:
    """Parse the options here, so that a bad value is one InputError line (exit 2) naming its option; the
    [critical-lr] table of ``--config FILE`` fills the options not given."""
    options = {key: None if getattr(args, key) is None else _parse_int(f"--{key}", getattr(args, key),
                                                                      _EXAMPLES["critical-lr"][key])
               for key in ("depth", "width", "seed", "steps")}
    options.update({"data": args.data, "device": args.device, "zero_last_layer": True if args.zero_last_layer
                    else None})
    _settings("critical-lr", args, options)
    from ..threads import parse

    args.threads = parse(args.threads)
    return cmd_critical(args)


def add_tools(sub) -> None:
    """Add ``derive``, ``uv`` and ``critical-lr`` to the subparsers ``sub``."""
    add_derive_parser(sub, derivations, "of the early-training paper")

    config_help = ("a TOML file whose [{}] table gives any of the settings below (options given here override "
                   f"it); example: {EXAMPLE}")
    p = sub.add_parser("uv", help="critical constants c_loss, c_sharp, c_max of one uv-model initialisation")
    p.add_argument("--config", metavar="FILE", default=None, help=config_help.format("uv"))
    p.add_argument("--width", type=str, default=None,
                   help="w, the length of u and v (a positive integer; required, here or in --config)")
    p.add_argument("--target", type=str, default=None, help="the target y (default 0)")
    p.add_argument("--seed", type=str, default=None, help="initialisation seed (default 0)")
    p.add_argument("--steps", type=str, default=None, help="steps of the event rules (default 10, the authors')")
    p.add_argument("--json", action="store_true", help="machine-readable JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines on standard error (an estimate, then "
                   "one per constant)")
    p.set_defaults(func=_cmd_uv_parsed)

    p = sub.add_parser("critical-lr", help="10-step c_loss, c_sharp, c_max of one deep ReLU net (E2)")
    p.add_argument("--config", metavar="FILE", default=None, help=config_help.format("critical-lr"))
    p.add_argument("--depth", type=str, default=None,
                   help="weight layers (a positive integer; required, here or in --config)")
    p.add_argument("--width", type=str, default=None,
                   help="hidden width (a positive integer; required, here or in --config)")
    p.add_argument("--seed", type=str, default=None, help="initialisation and batch-order seed (default 0)")
    p.add_argument("--zero-last-layer", action="store_true",
                   help="initialise the last layer to zero (or zero_last_layer = true in --config)")
    p.add_argument("--data", type=str, default=None, help="digits (default) or synthetic")
    p.add_argument("--device", type=str, default=None, help="cpu (default) or cuda (falls back to cpu)")
    p.add_argument("--steps", type=str, default=None, help="steps of the event rules (default 10)")
    p.add_argument("--threads", type=str, default=None, metavar="N",
                   help="PyTorch and BLAS threads (default: one below half a million parameters, else the idle "
                        "cores: threads that wait for a busy neighbour slow the search many times over)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines on standard error (the search prints "
                   "one per pass, with an estimate of its time first)")
    p.set_defaults(func=_cmd_critical_parsed)


def _parse_int(name: str, text: str, example: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputError(name, text, "is not an integer", f"use e.g. {name} {example}") from None


def _cmd_uv_parsed(args) -> int:
    """Parse the options here, so that a bad value is one InputError line (exit 2) naming its option; the [uv]
    table of ``--config FILE`` fills the options not given."""
    options = {key: None if getattr(args, key) is None else _parse_int(f"--{key}", getattr(args, key),
                                                                      _EXAMPLES["uv"][key])
               for key in ("width", "seed", "steps")}
    try:
        options["target"] = None if args.target is None else float(args.target)
    except ValueError:
        raise InputError("--target", args.target, "is not a number", "use e.g. --target 0.5") from None
    _settings("uv", args, options)
    return cmd_uv(args)
