"""Configuration files: TOML in, frozen self-validating objects out.

Every check names the field, shows the value and says the fix, through
:class:`theory.errors.InputError`; the command line turns that into one line
on standard error and exit status 2.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path

from theory.activation import Activation, activation_from_spec
from theory.multistage.data import DataSet, input_symbols, make_data
from theory.errors import InputError
from theory.expressions import parse_expression

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["Config", "ModelConfig", "DataConfig", "TargetConfig", "TrainConfig", "AnalysisConfig",
           "load_config", "config_from_dict", "METHODS"]

METHODS = ("flow", "gd")


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
        if self.seed < 0:
            raise InputError("[data] seed", self.seed, "must be non-negative", "use e.g. seed = 0")

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
        if self.seed < 0:
            raise InputError("[train] seed", self.seed, "must be non-negative", "use e.g. seed = 1")


@dataclass(frozen=True)
class AnalysisConfig:
    delta: float = 0.01
    alpha_1: float | None = None

    def __post_init__(self):
        _check_type("analysis", "delta", self.delta, (int, float))
        if not 0 < self.delta < 1:
            raise InputError("[analysis] delta", self.delta, "must lie in (0, 1)", "set delta = 0.01")
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
        _ = self.target_expr  # parse now so errors surface at load time

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
        return make_data(self.data.dim, self.target_expr, whiten=self.data.whiten, seed=self.data.seed,
                         **self.data.rule)

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
    p = Path(path)
    if not p.is_file():
        raise InputError("--config", str(path), "no such file", "give the path of a TOML configuration file")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError("--config", str(path), f"not valid TOML ({exc})", "fix the TOML syntax there") from None
    return config_from_dict(raw, source=str(p))
