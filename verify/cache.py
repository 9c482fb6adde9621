"""The content-addressed cache shared by every paper: results keyed by everything that determines them.

An entry is addressed by the SHA-256 of a canonical JSON of its key: the
namespace (what kind of result), the inputs (a configuration, a derivation's
key, options) and the version of the code that computes it (a hash of the
source files of the packages involved, see :func:`code_version`), plus the
versions of the numeric libraries.  Change any of them and the address
changes, so an entry is never stale; old entries are simply not read again
(``python -m verify cache clear`` removes them).

Entries are JSON files under ``<root>/<namespace>/<aa>/<address>.json``,
written atomically (a killed run leaves no half-written entry; two runs
writing the same entry write the same bytes).  The root is ``--cache DIR`` /
``$VERIFY_CACHE_DIR``, else ``$XDG_CACHE_HOME/dynamics-verifier`` (default
``~/.cache/dynamics-verifier``); ``--no-cache`` / ``VERIFY_NO_CACHE=1`` turns
the cache off.  A corrupt or unreadable entry counts as absent.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from functools import lru_cache
from pathlib import Path

from ._io import atomic_write, dumps

__all__ = ["root", "enabled", "code_version", "address", "get", "put", "clear", "info"]

_PACKAGES_ROOT = Path(__file__).resolve().parent.parent


def root() -> Path:
    """The cache folder (``$VERIFY_CACHE_DIR``, else ``$XDG_CACHE_HOME/dynamics-verifier``)."""
    explicit = os.environ.get("VERIFY_CACHE_DIR", "").strip()
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dynamics-verifier"


def enabled() -> bool:
    return os.environ.get("VERIFY_NO_CACHE", "").strip().lower() not in ("1", "true", "yes")


@lru_cache(maxsize=None)
def code_version(*packages: str) -> str:
    """A hash of the Python sources of ``packages`` (folders beside ``verify``, e.g. ``"theory"``) and of the
    versions of NumPy, SciPy and SymPy: any edit to that code gives new cache addresses."""
    import numpy
    import scipy
    import sympy

    h = hashlib.sha256(f"numpy {numpy.__version__} scipy {scipy.__version__} sympy {sympy.__version__}".encode())
    for package in packages:
        for path in sorted((_PACKAGES_ROOT / package).rglob("*.py")):
            h.update(path.relative_to(_PACKAGES_ROOT).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:20]


def address(namespace: str, key: dict) -> str:
    text = json.dumps({"namespace": namespace, "key": key}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _path(namespace: str, key: dict) -> Path:
    a = address(namespace, key)
    return root() / namespace / a[:2] / f"{a}.json"


def get(namespace: str, key: dict):
    """The cached value for ``key`` (JSON-ready), or None when absent, corrupt or the cache is off."""
    if not enabled():
        return None
    try:
        entry = json.loads(_path(namespace, key).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != json.loads(json.dumps(key, default=str)):
        return None           # an address collision or a foreign file: not ours
    return entry.get("value")


def put(namespace: str, key: dict, value) -> None:
    """Store ``value`` (JSON-ready) under ``key``; a cache that cannot be written is skipped silently."""
    if not enabled():
        return
    try:
        atomic_write(_path(namespace, key), dumps({"key": key, "value": value}))
    except OSError:
        pass


def info() -> dict:
    """Entries and bytes per namespace."""
    out = {}
    base = root()
    if base.is_dir():
        for entry in sorted(base.iterdir()):
            files = list(entry.rglob("*.json")) if entry.is_dir() else [entry] if entry.suffix == ".json" else []
            if files:
                out[entry.name] = {"entries": len(files), "bytes": sum(f.stat().st_size for f in files)}
    return out


def clear() -> int:
    """Remove every entry (the whole cache folder's namespaces); returns the number of entries removed."""
    removed = 0
    base = root()
    if base.is_dir():
        for entry in list(base.iterdir()):
            if entry.is_dir():
                removed += sum(1 for _ in entry.rglob("*.json"))
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.suffix == ".json":        # e.g. the certified suprema of the theory layer
                removed += 1
                entry.unlink(missing_ok=True)
    return removed
