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

A cache folder is input the run does not trust.  Every entry carries the
SHA-256 of its canonical content (its key and value as sorted, compact JSON)
and is read only when that digest matches, so an entry changed after it was
written (one digit, a status) is absent, recomputed and noted on standard
error.  The folder is created private (``0700``) and, in this default private
mode, an entry whose file another user owns is refused.  A team that shares
one folder sets a secret (``$VERIFY_CACHE_KEY``, or a file named by
``$VERIFY_CACHE_KEY_FILE``): every entry is then signed with HMAC-SHA256
under it, and an entry without a valid signature is refused, whoever owns it.
Values are data only: the callers check their shape (:mod:`verify.runner`
refuses figure names that are not one plain file name).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import sys
from functools import lru_cache
from pathlib import Path

from theory.files import cache_enabled, cache_root

from .output import atomic_write, dumps

__all__ = ["root", "enabled", "code_version", "address", "get", "put", "clear", "info", "secret", "seal", "unseal",
           "refused"]

_PACKAGES_ROOT = Path(__file__).resolve().parent.parent
#: the environment variables of the shared-cache mode: the secret itself, or a file holding it
KEY_ENV, KEY_FILE_ENV = "VERIFY_CACHE_KEY", "VERIFY_CACHE_KEY_FILE"
_KEY_FILE_MAX = 4096
#: entries refused in this process (address -> why), each noted once on standard error
_REFUSED: dict = {}


def root() -> Path:
    """The cache folder (``$VERIFY_CACHE_DIR``, else ``$XDG_CACHE_HOME/dynamics-verifier``; :func:`theory.files.cache_root`)."""
    return cache_root()


def enabled() -> bool:
    return cache_enabled()


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


def secret() -> bytes | None:
    """The shared-cache secret (``$VERIFY_CACHE_KEY``, else the first 4096 bytes of the regular file named by
    ``$VERIFY_CACHE_KEY_FILE``, surrounding white space stripped), or None in the private mode.  A key file that
    cannot be read turns the cache off for this process (noted once) rather than falling back to unsigned
    entries."""
    text = os.environ.get(KEY_ENV, "")
    if text.strip():
        return text.strip().encode("utf-8")
    name = os.environ.get(KEY_FILE_ENV, "").strip()
    if not name:
        return None
    try:
        path = Path(name)
        if not path.is_file():
            raise OSError("not a regular file")
        with path.open("rb") as fh:
            data = fh.read(_KEY_FILE_MAX).strip()
        if not data:
            raise OSError("empty")
        return data
    except OSError as exc:
        _note(f"key-file:{name}", f"cache off: {KEY_FILE_ENV}={name} cannot be read ({exc}); set it to a "
                                  "readable file holding the team's secret, or unset it")
        return b""


def _canonical(entry: dict) -> bytes:
    return json.dumps({"key": entry.get("key"), "value": entry.get("value")}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def seal(key, value, key_secret: bytes | None = None) -> dict:
    """The entry stored for ``key`` and ``value``: both as JSON reads them back, the SHA-256 of their canonical
    text, and its HMAC-SHA256 under ``key_secret`` when one is given."""
    entry = json.loads(dumps({"key": key, "value": value}))
    body = _canonical(entry)
    entry["sha256"] = hashlib.sha256(body).hexdigest()
    if key_secret:
        entry["hmac"] = hmac.new(key_secret, body, hashlib.sha256).hexdigest()
    return entry


def unseal(entry, key_secret: bytes | None = None) -> tuple[bool, str]:
    """(True, "") when ``entry`` is intact (its digest matches its content) and, with ``key_secret``, signed by it;
    else (False, why)."""
    if not isinstance(entry, dict) or not {"key", "value", "sha256"} <= entry.keys():
        return False, "not an entry of this cache (no digest)"
    try:
        body = _canonical(entry)
    except (TypeError, ValueError):
        return False, "content that is not strict JSON"
    if not hmac.compare_digest(str(entry["sha256"]), hashlib.sha256(body).hexdigest()):
        return False, "its SHA-256 does not match its content (corrupted or edited)"
    if key_secret:
        signature = entry.get("hmac")
        if not isinstance(signature, str):
            return False, f"unsigned (the shared cache requires a signature under {KEY_ENV})"
        if not hmac.compare_digest(signature, hmac.new(key_secret, body, hashlib.sha256).hexdigest()):
            return False, "its signature does not verify under this team's key"
    return True, ""


def _note(address: str, why: str) -> None:
    if address not in _REFUSED:
        _REFUSED[address] = why
        try:
            print(f"cache: {why}", file=sys.stderr)
        except (OSError, ValueError):
            pass


def refused() -> dict:
    """The entries refused in this process so far (address -> why)."""
    return dict(_REFUSED)


def _owned(path: Path) -> bool:
    getuid = getattr(os, "getuid", None)
    return getuid is None or path.stat().st_uid == getuid()


def address(namespace: str, key: dict) -> str:
    text = json.dumps({"namespace": namespace, "key": key}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _path(namespace: str, key: dict) -> Path:
    a = address(namespace, key)
    return root() / namespace / a[:2] / f"{a}.json"


def get(namespace: str, key: dict):
    """The cached value for ``key`` (JSON-ready), or None when absent, corrupt, refused or the cache is off.

    Refused (and noted once on standard error): an entry whose digest does not match its content, one owned by
    another user (private mode), or one without a valid signature (shared mode, see :func:`secret`)."""
    if not enabled():
        return None
    key_secret = secret()
    if key_secret == b"":
        return None
    path = _path(namespace, key)
    try:
        if not path.is_file():
            return None
        if key_secret is None and not _owned(path):
            _note(path.name, f"entry {namespace}/{path.stem[:12]} refused: owned by another user (a private "
                             f"cache is read only from its owner's files; a team cache sets {KEY_ENV}); recomputing")
            return None
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != json.loads(json.dumps(key, default=str)):
        return None           # an address collision or a foreign file: not ours
    ok, why = unseal(entry, key_secret)
    if not ok:
        _note(path.name, f"entry {namespace}/{path.stem[:12]} refused: {why}; recomputing")
        return None
    return entry.get("value")


def _private_root() -> Path:
    """The cache folder, created ``0700`` when it does not exist (in the shared mode, with the umask's mode)."""
    base = root()
    if not base.exists():
        base.mkdir(parents=True, exist_ok=True, mode=0o700 if secret() is None else 0o777)
        if secret() is None:
            os.chmod(base, 0o700)
    return base


def put(namespace: str, key: dict, value) -> None:
    """Store ``value`` (JSON-ready) under ``key``, sealed (:func:`seal`); a cache that cannot be written is skipped
    silently."""
    if not enabled():
        return
    key_secret = secret()
    if key_secret == b"":
        return
    try:
        _private_root()
        atomic_write(_path(namespace, key), dumps(seal(key, value, key_secret)))
    except (OSError, ValueError):
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
