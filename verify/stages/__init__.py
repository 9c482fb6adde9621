"""Split a loss curve into plateaus and descents (``python -m verify stages``); the specification: docs/stages.md."""
from __future__ import annotations

from .cli import add_parser, cmd_stages
from .curve import MAX_COLUMNS, MAX_FILE_BYTES, MAX_ROWS, read_curve
from .detect import Stage, detect_stages
from .params import MIN_POINTS

__all__ = ["Stage", "detect_stages", "read_curve", "add_parser", "cmd_stages", "MIN_POINTS", "MAX_ROWS",
           "MAX_COLUMNS", "MAX_FILE_BYTES"]
