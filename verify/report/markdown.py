"""The Markdown renderer: the section model (:func:`.sections.build_sections`, compact claim sections) as
GitHub Markdown, every plain text escaped, derived results as fenced ``math`` blocks."""
from __future__ import annotations

import html
import re
from urllib.parse import quote

from .blocks import (Bullets, Clipped, Code, Details, Em, Fields, Figure, Formula, Heading, Image, Link, Math, Para,
                     Pre, Section, StatusTag, Strong, Table, Text, Value)
from .schema import validate_report
from .sections import build_sections
from .values import _INLINE, _blocks, _compact, _pretty

__all__ = ["render_markdown"]


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|$~&])")
_MD_LINE_START = re.compile(r"^(\s*)(#|[-+=]|\d{1,9}(?=[.)](\s|$)))")


def _md(text: str) -> str:
    """Escape plain text for Markdown (GitHub), keeping it on its lines."""
    out = []
    for line in str(text).split("\n"):
        line = _MD_SPECIAL.sub(r"\\\1", line)
        m = _MD_LINE_START.match(line)
        if m:
            if m.group(2)[0].isdigit():
                end = m.end()
                line = line[:end] + "\\" + line[end:]
            else:
                line = line[: m.start(2)] + "\\" + line[m.start(2):]
        out.append(line)
    return "\n".join(out)


def _md_cell(text: str) -> str:
    return _md(" ".join(str(text).split()))


def _md_code(text: str, *, table: bool = False) -> str:
    text = " ".join(text.split("\n"))
    run = max((len(r) for r in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ") and text.strip()):
        text = f" {text} "
    if table:
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"


def _md_fence(text: str, lang: str = "") -> str:
    run = max((len(r) for r in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (run + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def _md_value(v) -> str:
    """A value as inline code when short, as a fenced block otherwise."""
    if isinstance(v, str) and "\n" not in v and len(v) <= _INLINE:
        return _md(v)
    if isinstance(v, str):
        return _md_fence(v, "text")
    flat = _compact(v)
    if len(flat) <= _INLINE:
        return _md_code(flat)
    return _md_fence(_pretty(v), "text")


def _md_link_target(path: str) -> str:
    return quote(path, safe="/-_.~")


def _md_text_blocks(text: str) -> list[str]:
    out = []
    for kind, body in _blocks(text):
        out.append(_md(body) if kind == "para" else _md_fence(body, "text"))
    return out


def _md_inline(parts, table: bool = False) -> str:
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(_md_cell(p) if table else _md(p))
        elif isinstance(p, Code):
            out.append(_md_code(p.text, table=table))
        elif isinstance(p, Strong):
            out.append(f"**{_md_inline(p.parts, table)}**")
        elif isinstance(p, Em):
            out.append(f"*{_md_inline(p.parts, table)}*")
        elif isinstance(p, Link):
            href = p.href if p.href.startswith("#") else _md_link_target(p.href)
            out.append(f"[{_md_inline(p.parts, table)}]({href})")
        elif isinstance(p, StatusTag):
            out.append(p.status + p.extra)
        elif isinstance(p, Clipped):
            out.append(_md_cell(p.text) if table else _md(p.text))
        else:
            raise TypeError(f"no Markdown for inline {p!r}")
    return "".join(out)


def _md_row(cells) -> str:
    return "| " + " | ".join(_md_inline(c, table=True) for c in cells) + " |"


def _md_block(b) -> list[str]:
    """The Markdown paragraphs of one block (joined by blank lines)."""
    if isinstance(b, Heading):
        head = f"{'#' * b.level} {_md_inline(b.parts)}"
        return ([f'<a id="{b.anchor}"></a>'] if b.anchor else []) + [head]
    if isinstance(b, Para):
        text = _md_inline(b.parts)
        return [f"> {text}" if b.cls == "note" else text]
    if isinstance(b, Text):
        return _md_text_blocks(b.text)
    if isinstance(b, Pre):
        return [_md_fence(b.text, "text")]
    if isinstance(b, Math):
        # a fenced math block: GitHub typesets it, plain CommonMark shows the LaTeX as code (never as a list,
        # emphasis or a heading, as a $$ paragraph can be read)
        return [_md_fence("\n".join(ln for ln in b.tex.strip().splitlines() if ln.strip()), "math")]
    if isinstance(b, Formula):
        return ([f"*{_md(b.label)}*"] if b.label.strip() else []) + _md_block(Math(b.tex))
    if isinstance(b, Table):
        head = b.head if b.head is not None else ("item", "value")
        lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
        return ["\n".join(lines + [_md_row(r) for r in b.rows])]
    if isinstance(b, Fields):
        out = []
        for label, value in b.items:
            text = _md_value(value.value) if isinstance(value, Value) else _md_inline(value)
            if text.startswith("`" * 3):            # a fenced block never starts mid-line
                out += [f"**{_md(label)}:**", text]
            else:
                out.append(f"**{_md(label)}:** {text}")
        return out
    if isinstance(b, Bullets):
        items = []
        for item in b.items:
            if isinstance(item, Image):
                items.append(f"- ![{_md_cell(item.title)}]({_md_link_target(item.path)})")
            else:
                items.append("- " + _md_inline(item))
        return ["\n".join(items)]
    if isinstance(b, Details):
        summary = html.escape(str(b.summary), quote=True)     # an HTML element inside the Markdown
        return [f"<details><summary>{summary}</summary>"] + [p for x in b.body for p in _md_block(x)] + ["</details>"]
    if isinstance(b, Figure):
        out = [f'<a id="{b.anchor}"></a>', f"{'#' * b.level} {_md_cell(b.title)}",
               f"![{_md_cell(b.title)}]({_md_link_target(b.png)})"]
        out += _md_text_blocks(b.caption) if b.caption else []
        return out + ([f"[SVG]({_md_link_target(b.svg)})"] if b.svg else [])   # the image links the PNG
    if isinstance(b, Section):
        return [f'<a id="{b.anchor}"></a>'] + [p for x in b.body for p in _md_block(x)]
    raise TypeError(f"no Markdown for block {b!r}")


def render_markdown(report: dict, run: dict | None = None) -> str:
    """The report as GitHub Markdown (validates ``report`` first; ``run``: the run record of timing.json)."""
    validate_report(report)
    paragraphs = [p for block in build_sections(report, run, brief=True) for p in _md_block(block)]
    return "\n\n".join(paragraphs).rstrip("\n") + "\n"
