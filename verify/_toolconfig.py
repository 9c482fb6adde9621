"""Settings of a paper's tool read from a TOML file (``python -m verify <paper> <tool> --config FILE``).

A file holds one table per tool (``[stationary]``, ``[uv]``, ``[critical-lr]``); a tool reads its own table,
checks that every key is one of its settings with the right TOML type, and leaves the checks of the values to
the tool (which names the field as ``[table] key``).  Options given on the command line override the file.
Every problem is a :class:`theory.errors.InputError` naming the field, its value and the fix (one line, exit 2).
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

from theory.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["read_toml", "read_table", "merge", "MAX_FILE_BYTES"]

#: largest settings file read (an example is a few hundred bytes)
MAX_FILE_BYTES = 1 << 20
_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def read_toml(path: str | Path, kind: str = "settings file") -> dict:
    """The TOML file ``path`` as a dict, or a one-line :class:`InputError` for ``--config`` (missing, larger than
    :data:`MAX_FILE_BYTES`, unreadable, not TOML, nested too deeply); ``kind`` names the file in the messages."""
    p = Path(path)
    if not p.is_file():
        raise InputError("--config", str(path), "no such file", f"give the path of a TOML {kind}")
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError("--config", str(path), f"{size} bytes, more than {MAX_FILE_BYTES} for a {kind}",
                             f"give the path of a TOML {kind}")
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError("--config", str(path), f"not valid TOML ({exc})", "fix the TOML syntax there") from None
    except RecursionError:
        raise InputError("--config", str(path), "nested too deeply (arrays or tables within each other)",
                         f"write a flat {kind}") from None
    except OSError as exc:
        raise InputError("--config", str(path), f"cannot be read ({exc.strerror or exc})",
                         "give a readable TOML file") from None


def _type_ok(value, kind) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def read_table(path: str | Path, table: str, settings: dict, tables: tuple[str, ...], example: str) -> dict:
    """The table ``[table]`` of the TOML file ``path``, checked against ``settings`` (``{key: type}``, the types
    ``int``, ``float``, ``bool`` or ``str``; an ``int`` is accepted for a ``float`` and converted).

    ``tables`` are the tables a file of this paper may hold (the other tools'); ``example`` is the example
    file named in the fixes.  Keys absent from the table are absent from the result (the tool's default or
    command-line option applies).

    Raises
    ------
    InputError
        for a missing or unreadable file, invalid TOML, a table that is absent or not a table, an unknown
        table or key, or a value of the wrong type or not finite.
    """
    raw = read_toml(path)
    unknown = [name for name in raw if name not in tables]
    if unknown:
        raise InputError(f"[{unknown[0]}]", raw[unknown[0]] if not isinstance(raw[unknown[0]], dict) else "table",
                         f"is not a table of this paper's tools ({', '.join(f'[{t}]' for t in tables)})",
                         f"rename or remove it; see {example}")
    if table not in raw:
        raise InputError("--config", str(path), f"has no [{table}] table",
                         f"add a [{table}] table with the tool's settings; see {example}")
    values = raw[table]
    if not isinstance(values, dict):
        raise InputError(f"[{table}]", values, "is not a table", f"write it as a [{table}] table; see {example}")
    out = {}
    for key, value in values.items():
        field = f"[{table}] {key}"
        if key not in settings:
            raise InputError(field, value, "is not a setting of this tool",
                             f"use one of {', '.join(settings)}; see {example}")
        kind = settings[key]
        if not _type_ok(value, kind):
            raise InputError(field, value, f"expected a TOML {_TYPE_NAMES[kind]}",
                             f"write {key} as {'an' if kind is int else 'a'} {_TYPE_NAMES[kind]}, e.g. as in {example}")
        if kind is float:
            value = float(value)
            if not math.isfinite(value):
                raise InputError(field, value, "must be finite", f"give a finite number for {key}")
        out[key] = value
    return out


def merge(options: dict, file_values: dict, defaults: dict) -> dict:
    """Settings from the command line (``options``, None where not given) over the file over ``defaults``."""
    out = dict(defaults)
    out.update(file_values)
    out.update({k: v for k, v in options.items() if v is not None})
    return out
