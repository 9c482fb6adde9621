"""Value formatting shared by the section model and both renderers: numbers to 6 significant digits, JSON
values on one line or pretty-printed to the page width, plain text split into paragraphs and formula blocks."""
from __future__ import annotations

import json
import math
import re
import textwrap

_INLINE = 100        # longer values are shown as a block
_WIDTH = 88          # line width of pretty-printed values



def _num(x) -> str:
    """6 significant digits for floats; integers in full."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    s = format(x, ".6g")
    return s if any(c in s for c in ".en") else s + ".0"  # keep a float recognisable as one


_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False)


def _compact(v) -> str:
    """One-line JSON-like form: numbers to 6 significant digits, simple keys unquoted."""
    if v is None:
        return "null"
    if isinstance(v, (bool, int, float)):
        return _num(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_compact(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(str(k))}: {_compact(x)}" for k, x in v.items()) + "}"
    return json.dumps(str(v), ensure_ascii=False)


def _pretty(v, indent: int = 0, lead: int = 0) -> str:
    """Multi-line form of ``v`` that keeps short parts on one line.

    ``indent`` is the indentation of the lines of ``v``; ``lead`` the number of
    characters before ``v`` on its first line (a dict key).
    """
    flat = _compact(v)
    if indent + lead + len(flat) <= _WIDTH or not isinstance(v, (list, dict)) or not v:
        return flat
    pad = " " * (indent + 2)
    if isinstance(v, list):
        if all(not isinstance(x, (list, dict)) for x in v):  # scalars: fill lines
            lines, line = [], ""
            for x in v:
                item = _compact(x) + ","
                if line and len(pad) + len(line) + 1 + len(item) > _WIDTH:
                    lines.append(pad + line)
                    line = item
                else:
                    line = f"{line} {item}" if line else item
            lines.append(pad + line)
            body = "\n".join(lines).rstrip(",")
        else:
            body = ",\n".join(pad + _pretty(x, indent + 2) for x in v)
        return "[\n" + body + "\n" + " " * indent + "]"
    parts = []
    for k, x in v.items():
        head = f"{_key(str(k))}: "
        parts.append(pad + head + _pretty(x, indent + 2, len(head)))
    return "{\n" + ",\n".join(parts) + "\n" + " " * indent + "}"


def _blocks(text: str) -> list[tuple[str, str]]:
    """Split plain text into ("para", text) and ("formula", text) blocks.

    Indented lines form formula blocks (dedented); other lines are joined into
    paragraphs; blank lines separate blocks.
    """
    blocks: list[tuple[str, list[str]]] = []
    for line in text.expandtabs(4).splitlines():
        line = line.rstrip()
        if not line:
            blocks.append(("", []))
            continue
        kind = "formula" if line[0] == " " else "para"
        if not blocks or blocks[-1][0] != kind:
            blocks.append((kind, []))
        blocks[-1][1].append(line)
    out = []
    for kind, lines in blocks:
        if kind == "para":
            out.append((kind, " ".join(ln.strip() for ln in lines)))
        elif kind == "formula":
            out.append((kind, textwrap.dedent("\n".join(lines))))
    return out
