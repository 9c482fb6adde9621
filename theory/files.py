"""The project's one atomic file writer and its one cache folder, shared by ``theory`` and ``verify``.

``theory`` never imports ``verify``, so the helpers both layers need live here: :func:`atomic_write` (every file
the verifier writes, and the certified suprema's disk cache, land in a temporary file beside the target and are
moved into place: a reader never sees half a file) and :func:`cache_root`/:func:`cache_enabled` (the folder
``$VERIFY_CACHE_DIR``, else ``$XDG_CACHE_HOME/dynamics-verifier``, which ``--cache DIR``, ``--no-cache`` and
``python -m verify cache clear`` reach).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "cache_root", "cache_enabled", "FILE_MODE"]

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


def cache_root() -> Path:
    """The cache folder (``$VERIFY_CACHE_DIR``, else ``$XDG_CACHE_HOME/dynamics-verifier``, ``~/.cache`` when
    ``XDG_CACHE_HOME`` is unset)."""
    explicit = os.environ.get("VERIFY_CACHE_DIR", "").strip()
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dynamics-verifier"


def cache_enabled() -> bool:
    """False when ``$VERIFY_NO_CACHE`` is 1, true or yes (``--no-cache``)."""
    return os.environ.get("VERIFY_NO_CACHE", "").strip().lower() not in ("1", "true", "yes")
