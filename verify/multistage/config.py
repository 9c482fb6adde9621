"""Configuration files: TOML in, frozen self-validating objects out.

Every check names the field, shows the value and says the fix, through
:class:`theory.errors.InputError`; the command line turns that into one line
on standard error and exit status 2.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path

import numpy as np

from theory.multistage.activation import Activation, activation_from_spec
from theory.multistage.symbols import input_symbols
from theory.errors import InputError
from theory.expressions import parse_expression

from .. import resources
from .._toolconfig import read_toml
from .data import MAX_QUADRATURE_NODES, DataSet, make_data

__all__ = ["Config", "ModelConfig", "DataConfig", "TargetConfig", "TrainConfig", "AnalysisConfig",
           "load_config", "config_from_dict", "METHODS"]

METHODS = ("flow", "gd")
#: largest input dimension (one SymPy symbol per coordinate is built for the target)
MAX_DIM = 10_000
#: smallest m^(-2 alpha) accepted: the fourth powers of the initial parameters (D10's rho) must stay normal
#: doubles (above about 2.2e-308)
_SMALLEST_SCALE_SQUARED = 1e-145


def _check_type(table: str, key: str, value, kind):
    kinds = kind if isinstance(kind, tuple) else (kind,)
    ok = any(isinstance(value, k) for k in kinds) and not (isinstance(value, bool) and bool not in kinds)
    if not ok:
        names = " or ".join(k.__name__.replace("str", "string").replace("int", "integer") for k in kinds)
        raise InputError(f"[{table}] {key}", value, f"expected {names}", f"write {key} as a TOML {names}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"[{table}] {key}", value, "must be finite", f"give a finite number for {key}")
    return value


@dataclass(frozen=True)
class ModelConfig:
    activation: str = "tanh"
    width: int = 1000
    alpha: float = 1.0

    def __post_init__(self):
        _check_type("model", "activation", self.activation, str)
        _check_type("model", "width", self.width, int)
        _check_type("model", "alpha", self.alpha, (int, float))
        if self.width < 1:
            raise InputError("[model] width", self.width, "the width m must be at least 1", "set width = 1000")
        if self.alpha <= 0.5:
            raise InputError("[model] alpha", self.alpha,
                             "alpha <= 1/2 is outside the condensed regime the theory covers",
                             "set alpha > 0.5 (e.g. 1.0)")
        if not math.isfinite(float(self.alpha)):
            raise InputError("[model] alpha", self.alpha, "must be a finite number", "set alpha > 0.5 (e.g. 1.0)")
        # at width 1 the variance m^(-2 alpha) is 1 for every alpha
        log10_scale2 = -2 * float(self.alpha) * math.log10(self.width) if self.width > 1 else 0.0
        if not log10_scale2 >= math.log10(_SMALLEST_SCALE_SQUARED):
            largest = -math.log10(_SMALLEST_SCALE_SQUARED) / (2 * math.log10(self.width))
            raise InputError("[model] alpha", self.alpha,
                             f"the initial variance m^(-2 alpha) = 10^{log10_scale2:.4g} is so small that its "
                             f"square underflows double precision at width {self.width}",
                             f"set alpha below {largest:.4g}")
        self.activation_object.require_tanh_like("[model] activation")

    @cached_property
    def activation_object(self) -> Activation:
        return activation_from_spec(self.activation, "[model] activation")


@dataclass(frozen=True)
class DataConfig:
    dim: int = 3
    quadrature: int | None = None
    samples: int | None = None
    whiten: bool = True
    seed: int = 0

    def __post_init__(self):
        _check_type("data", "dim", self.dim, int)
        _check_type("data", "whiten", self.whiten, bool)
        _check_type("data", "seed", self.seed, int)
        if self.dim < 1:
            raise InputError("[data] dim", self.dim, "must be at least 1", "set dim = 1 or more")
        if self.dim > MAX_DIM:
            raise InputError("[data] dim", self.dim, f"more than {MAX_DIM} input dimensions",
                             f"set dim = {MAX_DIM} or less")
        for key in ("quadrature", "samples"):
            value = getattr(self, key)
            if value is not None:
                _check_type("data", key, value, int)
                if value < 1:
                    raise InputError(f"[data] {key}", value, "must be at least 1",
                                     "use e.g. quadrature = 12 or samples = 300")
        if self.quadrature is not None and self.samples is not None:
            raise InputError("[data] samples", self.samples, "quadrature and samples are both set",
                             "keep only one of them")
        if not 0 <= self.seed < 2**63:
            raise InputError("[data] seed", self.seed, "must lie in [0, 2^63) (a TOML integer is 64-bit)",
                             "use e.g. seed = 0")
        if self.quadrature is not None and self.quadrature < 2:
            raise InputError("[data] quadrature", self.quadrature,
                             "one node per dimension puts every input at 0 (the input covariance is singular)",
                             "use e.g. quadrature = 12")
        q = self.rule.get("quadrature")
        if q is not None and self.dim * math.log(q) > math.log(MAX_QUADRATURE_NODES):
            raise InputError("[data] quadrature", q, f"{q}^{self.dim} nodes exceed {MAX_QUADRATURE_NODES}",
                             "lower quadrature or use samples = N for high dimensions")
        if self.samples is not None and self.samples <= self.dim:
            raise InputError("[data] samples", self.samples,
                             f"{self.samples} points in {self.dim} dimensions give a singular input covariance",
                             f"use more than dim = {self.dim} samples (e.g. samples = {max(300, 10 * self.dim)})")

    @property
    def rule(self) -> dict:
        if self.quadrature is None and self.samples is None:
            return {"quadrature": 12}
        return {"quadrature": self.quadrature} if self.quadrature is not None else {"samples": self.samples}


@dataclass(frozen=True)
class TargetConfig:
    expr: str = "tanh(2*x0) + 0.5*x1**2 + 0.4*x2 - 0.3"


@dataclass(frozen=True)
class TrainConfig:
    method: str = "flow"
    lr: float = 0.01
    t_max: float = 60.0
    seed: int = 1

    def __post_init__(self):
        _check_type("train", "method", self.method, str)
        _check_type("train", "lr", self.lr, (int, float))
        _check_type("train", "t_max", self.t_max, (int, float))
        _check_type("train", "seed", self.seed, int)
        if self.method not in METHODS:
            raise InputError("[train] method", self.method, "unknown method", f"use one of {', '.join(METHODS)}")
        if self.lr <= 0:
            raise InputError("[train] lr", self.lr, "the step must be positive", "set lr = 0.01")
        if self.t_max <= 0:
            raise InputError("[train] t_max", self.t_max, "must be positive", "set t_max = 60.0")
        if not 0 <= self.seed < 2**63:
            raise InputError("[train] seed", self.seed, "must lie in [0, 2^63) (a TOML integer is 64-bit)",
                             "use e.g. seed = 1")
        if self.method == "gd" and self.lr > self.t_max:
            raise InputError("[train] lr", self.lr, f"a step larger than t_max = {self.t_max} takes no step",
                             f"set lr below t_max (e.g. lr = {min(0.01, self.t_max / 100):g}) or raise t_max")


@dataclass(frozen=True)
class AnalysisConfig:
    delta: float = 0.01
    alpha_1: float | None = None

    def __post_init__(self):
        _check_type("analysis", "delta", self.delta, (int, float))
        if not 0 < self.delta < 1:
            raise InputError("[analysis] delta", self.delta, "must lie in (0, 1)", "set delta = 0.01")
        if not 1 - self.delta < 1 or self.delta < 1e-12:
            raise InputError("[analysis] delta", self.delta, "below 1e-12 the level 1 - delta is lost to rounding",
                             "set delta = 0.01 (at least 1e-12)")
        if self.alpha_1 is not None:
            _check_type("analysis", "alpha_1", self.alpha_1, (int, float))


@dataclass(frozen=True)
class Config:
    """A whole configuration; derived objects (activation, data set) are computed, not passed."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    target: TargetConfig = field(default_factory=TargetConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    source: str | None = None

    def __post_init__(self):
        a1 = self.alpha_1
        if not 0.5 < a1 < self.model.alpha:
            raise InputError("[analysis] alpha_1", a1, f"must lie in (1/2, alpha) = (0.5, {self.model.alpha})",
                             "remove alpha_1 to use (alpha + 1/2)/2")
        self.check_resources()
        _ = self.target_expr  # parse now so errors surface at load time

    @property
    def points(self) -> int:
        """Number of input points: quadrature nodes or samples."""
        rule = self.data.rule
        return rule["quadrature"] ** self.data.dim if "quadrature" in rule else rule["samples"]

    def check_resources(self, *, simulate: bool = False, grid: int = 0, batch: int | None = None) -> float:
        """Refuse (one-line :class:`InputError`) what would not fit in memory or time; return the seconds.

        ``predict`` holds the ``n x m`` matrices of pre-activations and activations (three, with a temporary);
        ``simulate`` adds ``grid`` recordings of the ``m (d + 1)`` parameters and two ``grid x m`` observables,
        one loss evaluation per recording, and under gradient descent ``t_max / lr`` steps over ``batch`` (or
        all ``n``) points.  Times assume :data:`verify.resources.FLOPS`.
        """
        n, m, d = self.points, self.model.width, self.data.dim
        matrix = 3 * 8.0 * n * m
        data = 8.0 * n * (d + 4)
        resources.check_memory(matrix + data, "[model] width" if m > n else "[data] " + next(iter(self.data.rule)),
                               m if m > n else next(iter(self.data.rule.values())),
                               f"the {n} x {m} activation matrices (n points x width)",
                               "lower the width or the number of points")
        per_eval = 2.0 * n * m * (2 * d + 10)
        seconds = resources.check_time(per_eval, "[model] width", m, "one evaluation of the loss and its gradient",
                                       "lower the width or the number of points")
        if not simulate:
            return seconds
        record = 8.0 * grid * m * (d + 3)
        resources.check_memory(matrix + data + record, "grid", grid,
                               f"{grid} recordings of {m} neurons in {d} dimensions", "lower grid")
        work = (grid + 1) * per_eval
        if self.train.method == "gd" or batch is not None:
            steps = math.floor(self.train.t_max / self.train.lr)
            rows = n if batch is None else batch
            work += (steps + 1) * 2.0 * rows * m * (2 * d + 10)
            field, value, fix = (("[train] lr", self.train.lr, "raise lr or lower t_max") if batch is None else
                                 ("batch", batch, "lower batch, raise lr or lower t_max"))
            resources.check_memory(matrix + data + record + 4 * 8.0 * rows * m, field, value,
                                   f"a step over {rows} points", fix)
            return resources.check_time(work, field, value, f"{steps:.3g} steps over {rows} points of width {m}",
                                        fix)
        return resources.check_time(work, "grid", grid, f"{grid} recordings", "lower grid")

    @property
    def alpha_1(self) -> float:
        a1 = self.analysis.alpha_1
        return (self.model.alpha + 0.5) / 2 if a1 is None else float(a1)

    @property
    def activation(self) -> Activation:
        return self.model.activation_object

    @cached_property
    def target_expr(self):
        return parse_expression(self.target.expr, input_symbols(self.data.dim), "[target] expr")

    @cached_property
    def dataset(self) -> DataSet:
        try:
            return make_data(self.data.dim, self.target_expr, whiten=self.data.whiten, seed=self.data.seed,
                             **self.data.rule)
        except np.linalg.LinAlgError as exc:
            raise InputError("[data]", self.data.rule, f"the input covariance is singular ({exc})",
                             "use more samples or quadrature nodes") from None
        except (ArithmeticError, TypeError) as exc:
            raise InputError("[target] expr", self.target.expr, f"cannot be evaluated in double precision "
                             f"({type(exc).__name__}: {exc})", "use smaller constants") from None

    def as_dict(self) -> dict:
        out = {}
        for f in fields(self):
            if f.name == "source":
                continue
            sub = getattr(self, f.name)
            out[f.name] = {g.name: getattr(sub, g.name) for g in fields(sub)}
        return out


_TABLES = {"model": ModelConfig, "data": DataConfig, "target": TargetConfig, "train": TrainConfig,
           "analysis": AnalysisConfig}


def config_from_dict(raw: dict, source: str | None = None) -> Config:
    """Build a :class:`Config` from parsed TOML, refusing unknown tables and keys."""
    parts = {}
    for table, value in raw.items():
        if table not in _TABLES:
            raise InputError(f"[{table}]", "(table)", "unknown table", f"use the tables {', '.join(_TABLES)}")
        if not isinstance(value, dict):
            raise InputError(table, value, "expected a table", f"write [{table}] on its own line, keys below it")
        cls = _TABLES[table]
        known = {f.name for f in fields(cls)}
        for key in value:
            if key not in known:
                import difflib
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise InputError(f"[{table}] {key}", value[key], "unknown key",
                                 f"{hint}valid keys: {', '.join(sorted(known))}")
        try:
            parts[table] = cls(**value)
        except TypeError as exc:  # pragma: no cover - guarded by the key check above
            raise InputError(f"[{table}]", value, str(exc), "check the key names") from None
    return Config(**parts, source=source)


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML configuration file."""
    raw = read_toml(path, "configuration")
    return config_from_dict(raw, source=str(Path(path)))


def read_config(path: str | Path) -> dict:
    """A researcher's configuration file read and validated, as a JSON-ready dict (the paper's ``read_config``)."""
    return load_config(path).as_dict()
