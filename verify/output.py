"""The one atomic file writer and the one JSON normaliser of the package.

Every file the verifier writes (reports, trajectories, summaries, figures'
companions) goes through :func:`atomic_write`: the bytes land in a temporary
file beside the target and are moved into place, so a reader never sees half a
file and an interrupted write leaves the old file (or none).  Every JSON it
writes goes through :func:`jsonable` (one NaN policy: non-finite numbers
become ``null``) and :func:`dumps`.

A result that can hold ``null`` says why beside it: a ``reasons`` object maps
the dotted path of each ``null`` (``t_half``, ``T_d.value``, ``files.png``)
to a sentence.  :func:`finite_or_none` replaces non-finite numbers by ``None``
and records a reason for each; :func:`null_paths` lists the ``null`` paths, so
that a test can check that none is left unexplained.
"""
from __future__ import annotations

import json
import math

from theory.errors import InputError
from theory.files import atomic_write

__all__ = ["atomic_write", "jsonable", "dumps", "finite_or_none", "null_paths"]

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


def finite_or_none(value, reasons: dict, why: str = "not a finite number ({value!r})", path: str = ""):
    """A copy of ``value`` with every non-finite float replaced by ``None`` and ``reasons[path]`` set (unless a
    reason is there already) to ``why`` formatted with the replaced ``value``."""
    if isinstance(value, dict):
        return {k: finite_or_none(v, reasons, why, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v, reasons, why, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value, "ndim", None) == 0
                                    and value.dtype.kind == "f"):
        if not math.isfinite(float(value)):
            reasons.setdefault(path, why.format(value=float(value)))
            return None
    return value


def null_paths(value, path: str = "", skip=()) -> list[str]:
    """The dotted paths of the ``None`` values in ``value`` (list items as ``[i]``), leaving out the top-level
    keys ``skip`` (e.g. an echo of the input, where ``null`` means "not given")."""
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() if not (not path and k in skip)
                for p in null_paths(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in null_paths(v, f"{path}[{i}]")]
    return []
