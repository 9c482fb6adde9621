"""Numeric side of the verifier: claims, runs, reports and the command line, one package per paper.

``python -m verify --help`` lists the commands.  The multistage paper's
entry points are importable from here for convenience
(``from verify import load_config, predict``); they live in
:mod:`verify.multistage`.
"""
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version as _version

try:
    #: the installed distribution's version (``python -m verify --version``)
    __version__ = _version("dynamics-verifier")
except PackageNotFoundError:       # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "Config", "load_config", "predict"]

_LAZY = {"Config": "verify.multistage._config", "load_config": "verify.multistage._config",
         "predict": "verify.multistage._predict"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'verify' has no attribute {name!r}")
