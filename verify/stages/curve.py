"""Reading a loss curve ``(t, loss)`` from a CSV file, as untrusted input: size limits, the file line of a bad
cell, a hint for a file separated by something other than commas, a diverged tail cut off with a note."""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Callable

import numpy as np

from theory.errors import InputError

__all__ = ["read_curve", "MAX_ROWS", "MAX_COLUMNS", "MAX_FILE_BYTES"]

#: largest curve file read, in rows and bytes (a recorded curve has hundreds to tens of thousands of rows)
MAX_ROWS = 1_000_000
#: columns a loss curve may have (each row is held as strings: 100,000 columns of 1e6 rows would not fit)
MAX_COLUMNS = 1000
MAX_FILE_BYTES = 256 * 2**20


def read_curve(path, column: str = "loss", time: str = "t", notify: Callable[[str], None] | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Read ``(t, loss)`` from a CSV file with a header row (as ``python -m verify simulate`` writes).

    ``column`` names the loss column. ``time`` names the time column; ``"step"``, when the file has no column of
    that name, means the row index ``0, 1, ..., N-1``. Blank lines are skipped. A loss that is not a finite number
    from some row to the end (a run that diverged; ``simulate`` writes nan as an empty cell) ends the curve at the
    last finite row, and ``notify`` is told so; any other cell of the two columns that is not a finite number is
    an :class:`InputError` naming its line, as is a missing column (the message lists the available ones).
    """
    t, loss, _ = _read(Path(path), column, time, notify)
    return t, loss


def _read(path: Path, column: str, time: str, notify: Callable[[str], None] | None = None
          ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """:func:`read_curve`, also returning the file line of each point."""
    try:
        info = path.stat()
        if path.exists() and not path.is_dir() and not path.is_file():
            raise InputError("FILE", str(path), "not a regular file (a device, pipe or socket)", "pass a CSV file")
        if info.st_size > MAX_FILE_BYTES:
            raise InputError("FILE", str(path), f"{info.st_size / 2**20:.0f} MiB, more than the "
                             f"{MAX_FILE_BYTES // 2**20} MiB a loss curve is read up to",
                             f"thin the curve (e.g. every 10th row) to under {MAX_ROWS} rows")
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = []
            for i, row in enumerate(csv.reader(fh), start=1):
                if len(row) > MAX_COLUMNS:
                    raise InputError("FILE", str(path), f"line {i} has {len(row)} columns, more than {MAX_COLUMNS}",
                                     "keep the time and loss columns (e.g. cut -d, -f1,2)")
                if any(c.strip() for c in row):
                    rows.append((i, row))
                    if len(rows) > MAX_ROWS + 1:
                        raise InputError("FILE", str(path), f"more than {MAX_ROWS} rows",
                                         f"thin the curve (e.g. every 10th row) to under {MAX_ROWS} rows")
    except FileNotFoundError:
        raise InputError("FILE", str(path), "no such file", "pass the path of a CSV file") from None
    except IsADirectoryError:
        raise InputError("FILE", str(path), "a directory, not a file", "pass the path of a CSV file") from None
    except UnicodeDecodeError:
        raise InputError("FILE", str(path), "not a text (UTF-8) file", "pass a CSV file") from None
    except (OSError, csv.Error) as exc:
        raise InputError("FILE", str(path), f"cannot be read ({exc})", "pass a readable CSV file") from None
    if not rows:
        raise InputError("FILE", str(path), "empty", "pass a CSV file with a header row and one row per time")
    header = [c.strip() for c in rows[0][1]]
    data = rows[1:]
    listed = ", ".join(header)
    hint = ""
    if all(_is_number(c) for c in header):
        hint = " (the first row is numbers: the file needs a header row naming the columns)"
    elif len(header) == 1 and ("\t" in header[0] or ";" in header[0]):
        sep, char = ("tabs", "\\t") if "\t" in header[0] else ("semicolons", ";")
        hint = (f" (the header is one cell holding {sep}: the columns must be separated by commas; convert the "
                f"file, e.g. with tr '{char}' ',' < {path.name} > {path.stem}.comma.csv)")
    if column not in header:
        raise InputError("column", column, f"no such column in {path}{hint}", f"choose one of: {listed}")
    if time not in header and time != "step":
        raise InputError("time", time, f"no such column in {path}{hint}",
                         f"choose one of: {listed}; or 'step' for the row index")
    if not data:
        raise InputError("FILE", str(path), "has a header but no data rows", "pass the whole loss curve")

    def cells(name: str) -> tuple[np.ndarray, list[str]]:
        j = header.index(name)
        out, raw = np.empty(len(data)), []
        for k, (line, row) in enumerate(data):
            cell = row[j].strip() if j < len(row) else None      # None: the row has no such cell at all
            raw.append(cell)
            cell = cell or ""
            try:
                out[k] = float(cell)
            except ValueError:
                out[k] = math.nan
        return out, raw

    def refuse(values: np.ndarray, raw: list[str], name: str) -> None:
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            k = int(bad[0])
            raise InputError(f"{path} line {data[k][0]}, column {name!r}", raw[k] if raw[k] is not None else "",
                             "not a finite number",
                             "fill in or delete that row (an empty cell is a nan written by simulate)")

    loss, raw_loss = cells(column)
    finite = np.isfinite(loss)
    # a missing value (an empty cell, nan, inf) from some row to the end, with at least two points before it: a
    # run that stopped there (text that is not a number, or a row without the cell, stays an error)
    missing = ~finite & np.array([c is not None and (c == "" or _is_number(c)) for c in raw_loss])
    keep = len(data)
    if not finite.all():
        first = int(np.argmin(finite))
        if first >= 2 and missing[first:].all():
            keep = first
            if notify is not None:
                notify(f"note: the curve ends at line {data[first - 1][0]}: from line {data[first][0]} on, "
                       f"column {column!r} is not a finite number ({len(data) - first} rows, a diverged run?)")
    data, loss, raw_loss = data[:keep], loss[:keep], raw_loss[:keep]
    refuse(loss, raw_loss, column)
    if time in header:
        t, raw_t = cells(time)
        refuse(t, raw_t, time)
    else:
        t = np.arange(len(data), dtype=float)
    return t, loss, [line for line, _ in data]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
