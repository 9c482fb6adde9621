"""The one atomic file writer and the one JSON normaliser of the package.

Every file the verifier writes (reports, trajectories, summaries, figures'
companions) goes through :func:`atomic_write`: the bytes land in a temporary
file beside the target and are moved into place, so a reader never sees half a
file and an interrupted write leaves the old file (or none).  Every JSON it
writes goes through :func:`jsonable` (one NaN policy: non-finite numbers
become ``null``) and :func:`dumps`.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

from theory.errors import InputError

__all__ = ["atomic_write", "jsonable", "dumps"]

#: permissions of a new file (an existing file keeps its own)
FILE_MODE = 0o644


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (UTF-8 when text) to ``path`` atomically; create the parent folders.

    The file gets the permissions of the file it replaces, or ``0o644``.
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = FILE_MODE
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def jsonable(value, path: str = ""):
    """A plain-JSON copy of ``value``: tuples to lists, NumPy values to Python, NaN and infinities to null.

    Raises :class:`~theory.errors.InputError` naming the path of a value JSON cannot hold.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise InputError(f"{path}.{k!s}" if path else str(k), k, "is a key JSON cannot hold",
                                 "use string keys")
            out[str(k)] = jsonable(v, f"{path}.{k}" if path else str(k))
        return out
    if isinstance(value, (list, tuple)):
        return [jsonable(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if hasattr(value, "tolist") and callable(value.tolist):  # NumPy arrays and scalars
        return jsonable(value.tolist(), path)
    raise InputError(path or "value", value, f"has type {type(value).__name__}, which JSON cannot hold",
                     "convert it to a number, string, list or dict first")


def dumps(value, indent: int | None = 2) -> str:
    """Strict JSON text of :func:`jsonable` ``(value)`` (never ``NaN`` or ``Infinity``), newline-terminated."""
    return json.dumps(jsonable(value), indent=indent, ensure_ascii=False, allow_nan=False) + "\n"
