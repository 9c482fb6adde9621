"""Split a loss curve into plateaus and descents (``python -m verify stages``); the specification: docs/stages.md."""
from __future__ import annotations

from .._lazy import lazy_exports

# The names below are imported from their modules on first use (PEP 562): building the command line's parser
# (``add_parser``) imports neither NumPy nor the detector (about 0.04 s of every command's start-up).

#: each public name -> the module of this package that defines it
_HOMES = {"add_parser": "cli", "cmd_stages": "cli", "MAX_COLUMNS": "curve", "MAX_FILE_BYTES": "curve",
          "MAX_ROWS": "curve", "read_curve": "curve", "Stage": "detect", "detect_stages": "detect",
          "MIN_POINTS": "params"}

__all__ = list(_HOMES)
__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
