"""A report's files: :func:`write_report` writes ``report.json``, ``report.md`` and ``report.html`` (each
atomically, nothing when the report is invalid); :func:`rerender` reads ``report.json`` back as untrusted input
(size, nesting and number limits) and rewrites the Markdown and the HTML (``python -m verify report DIR``).

Rendering is deterministic: the same JSON gives the same bytes.
"""
from __future__ import annotations

import json
import stat
from pathlib import Path

from theory.errors import InputError

from ..output import atomic_write, dumps, jsonable
from .html import render_html
from .markdown import render_markdown
from .schema import validate_report

__all__ = ["write_report", "rerender", "REPORT_MAX_BYTES", "REPORT_MAX_DEPTH"]


def _render_all(report: dict, out_dir: Path, run: dict | None = None) -> tuple[bytes, bytes]:
    return (render_markdown(report, run).encode("utf-8"), render_html(report, out_dir, run).encode("utf-8"))


def _run_record(out_dir: Path) -> dict | None:
    """The run record (``timing.json``) beside a report, if any and readable."""
    try:
        record = json.loads((Path(out_dir) / "timing.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def write_report(report: dict, out_dir, run: dict | None = None) -> dict:
    """Validate ``report`` and write ``report.json``, ``report.md`` and ``report.html`` into ``out_dir``.

    The JSON is normalised first (tuples to lists, NumPy values to Python,
    non-finite floats to null) and the Markdown and HTML are rendered from that
    normalised JSON, so :func:`rerender` reproduces them byte for byte.  Each
    file is written to a temporary file in ``out_dir`` and moved into place;
    nothing is written when the report is invalid.  Returns
    ``{"json": path, "md": path, "html": path}`` (strings).
    """
    out_dir = Path(out_dir)
    data = jsonable(report)
    validate_report(data)
    text = dumps(data)
    data = json.loads(text)  # render exactly what is written
    md, page = _render_all(data, out_dir, run)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "report.json", "md": out_dir / "report.md", "html": out_dir / "report.html"}
    atomic_write(paths["json"], text.encode("utf-8"))
    atomic_write(paths["md"], md)
    atomic_write(paths["html"], page)
    return {k: str(v) for k, v in paths.items()}


#: the largest report.json ``report`` reads (the committed ones are below 2 MB)
REPORT_MAX_BYTES = 64 * 2**20
#: the deepest nesting of arrays and objects in a report.json (the schema needs about 12)
REPORT_MAX_DEPTH = 64


def _nesting_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in JSON ``text`` (outside strings), found without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _read_report_json(path: Path) -> dict:
    """``path`` parsed, as untrusted input: a regular file below :data:`REPORT_MAX_BYTES`, nested at most
    :data:`REPORT_MAX_DEPTH` deep, numbers of at most 4300 digits; each failure one :class:`InputError`."""
    fix = "restore report.json from the run, or rerun 'python -m verify all'"
    try:
        info = path.lstat()
    except OSError as exc:
        raise InputError(str(path), str(path), f"cannot be read ({exc.strerror or exc})",
                         "check the file's permissions") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(str(path), str(path), "is not a regular file (a link, a FIFO or a device)",
                         "give the folder of a run whose report.json is a plain file")
    if info.st_size > REPORT_MAX_BYTES:
        raise InputError(str(path), f"{info.st_size} bytes", f"is larger than {REPORT_MAX_BYTES // 2**20} MiB",
                         fix)
    try:
        with path.open("rb") as fh:
            text = fh.read(REPORT_MAX_BYTES + 1).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), str(path), f"cannot be read ({exc})",
                         "check the file's permissions and that it is UTF-8 JSON") from None
    if _nesting_depth(text) > REPORT_MAX_DEPTH:
        raise InputError(str(path), f"nesting deeper than {REPORT_MAX_DEPTH}", "is not a report (too deeply nested)",
                         fix)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"line {exc.lineno} column {exc.colno}", f"is not valid JSON ({exc.msg})",
                         fix) from None
    except (ValueError, RecursionError) as exc:      # e.g. an integer of more than 4300 digits
        raise InputError(str(path), str(exc)[:80], "is not a report (a value JSON cannot hold here)", fix) from None


def rerender(out_dir) -> dict:
    """Read ``out_dir/report.json`` (or ``out_dir`` itself when it names a ``report.json``), validate it and rewrite
    ``report.md`` and ``report.html`` beside it.

    Backs ``python -m verify report DIR``.  An absent, unreadable, oversized, malformed or invalid
    ``report.json`` raises :class:`InputError` naming its path (and the key, for an invalid one).  Returns
    ``{"md": path, "html": path}``.
    """
    out_dir = Path(out_dir)
    if out_dir.name == "report.json" and not out_dir.is_dir():
        out_dir = out_dir.parent
    path = out_dir / "report.json"
    if not path.is_file():
        where = "the folder does not exist" if not out_dir.exists() else (
            "it is not a folder" if not out_dir.is_dir() else "the folder holds no report.json")
        raise InputError(str(path), str(out_dir), f"is absent ({where})",
                         "give the folder of a run, e.g. reports/<paper>/<run-id>, written by 'python -m verify all'")
    data = _read_report_json(path)
    try:
        validate_report(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc.field}", exc.value, exc.problem, exc.fix) from None
    md, page = _render_all(data, out_dir, _run_record(out_dir))
    paths = {"md": out_dir / "report.md", "html": out_dir / "report.html"}
    atomic_write(paths["md"], md)
    atomic_write(paths["html"], page)
    return {k: str(v) for k, v in paths.items()}
