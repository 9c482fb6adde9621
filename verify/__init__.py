"""Numeric side of the verifier: claims, runs, reports and the command line, one package per paper.

``python -m verify --help`` lists the commands.  The multistage paper's
entry points are importable from here for convenience
(``from verify import load_config, predict``); they live in
:mod:`verify.multistage`.
"""
from importlib import import_module

__all__ = ["Config", "load_config", "predict"]

_LAZY = {"Config": "verify.multistage._config", "load_config": "verify.multistage._config",
         "predict": "verify.multistage._predict"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'verify' has no attribute {name!r}")
