"""Numeric side of the verifier: claims, runs, reports and the command line, one package per paper.

``python -m verify --help`` lists the commands.  The shared entry points
(``run_claims``, ``detect_stages``, ``read_curve``) are importable from here;
each paper's own are in its package (``from verify.multistage import
load_config, predict``).
"""
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version as _version

try:
    #: the installed distribution's version (``python -m verify --version``)
    __version__ = _version("dynamics-verifier")
except PackageNotFoundError:       # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "run_claims", "detect_stages", "read_curve"]

#: the shared Python entry points (documented in the README's "Python API"), imported on first use
_LAZY = {"run_claims": "verify.runner", "detect_stages": "verify.stages", "read_curve": "verify.stages"}
#: the papers' entry points, once importable from here: they live in their paper's package now (kept here, with a
#: DeprecationWarning, for one release)
_MOVED = {"Config": "verify.multistage", "load_config": "verify.multistage", "predict": "verify.multistage",
          "simulate": "verify.multistage", "measure": "verify.multistage", "uv_summary": "verify.early_training",
          "stationary_summary": "verify.noisy_quadratic"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    if name in _MOVED:
        import warnings

        warnings.warn(f"verify.{name} moved to {_MOVED[name]}.{name} (from {_MOVED[name]} import {name}); the old "
                      "name goes in the next release", DeprecationWarning, stacklevel=2)
        return getattr(import_module(_MOVED[name]), name)
    raise AttributeError(f"module 'verify' has no attribute {name!r}")
