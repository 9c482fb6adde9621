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

__all__ = ["__version__", "Config", "load_config", "predict", "simulate", "measure", "run_claims", "detect_stages",
           "read_curve", "uv_summary", "stationary_summary"]

#: the Python entry points (documented in the README's "Python API"), imported on first use
_LAZY = {"Config": "verify.multistage._config", "load_config": "verify.multistage._config",
         "predict": "verify.multistage._predict", "simulate": "verify.multistage._simulate",
         "measure": "verify.multistage._simulate", "run_claims": "verify.runner",
         "detect_stages": "verify.stages", "read_curve": "verify.stages",
         "uv_summary": "verify.early_training._cli", "stationary_summary": "verify.noisy_quadratic._cli"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'verify' has no attribute {name!r}")
