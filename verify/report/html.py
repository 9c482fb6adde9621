"""The HTML renderer: the section model (:func:`.sections.build_sections`, full claim sections) as one
self-contained page: the style sheet inline (``report.css``, package data), every PNG embedded as a base64 data
URI, derived results as MathML serialised afresh from a checked tree (no JavaScript, no network)."""
from __future__ import annotations

import base64
import html
import re
import stat
from functools import cache
from importlib.resources import files
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from .blocks import (Bullets, Clipped, Code, Details, Em, Fields, Figure, Formula, Heading, Image, Link, Math, Para,
                     Pre, Section, StatusTag, Strong, Table, Text, Value)
from .schema import validate_report
from .sections import build_sections, report_title
from .values import _INLINE, _blocks, _compact, _pretty

__all__ = ["render_html", "FIGURE_MAX_BYTES"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@cache
def _css() -> str:
    """The page's style sheet (``verify/report/report.css``), read once."""
    return files(__package__).joinpath("report.css").read_text(encoding="utf-8").strip()


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _status_html(status: str, extra: str = "") -> str:
    return f'<span class="status status-{_e(status)}">{_e(status)}</span>{extra}'


def _html_value(v) -> str:
    if isinstance(v, str) and "\n" not in v and len(v) <= _INLINE:
        return _e(v)
    if isinstance(v, str):
        return f"<pre>{_e(v)}</pre>"
    flat = _compact(v)
    if len(flat) <= _INLINE:
        return f"<code>{_e(flat)}</code>"
    return f"<pre><code>{_e(_pretty(v))}</code></pre>"


def _html_text(text: str) -> str:
    out = []
    for kind, body in _blocks(text):
        out.append(f"<p>{_e(body)}</p>" if kind == "para" else f'<pre class="formula">{_e(body)}</pre>')
    return "\n".join(out)


_MATHML_TAGS = frozenset("math mrow mi mn mo ms mtext mspace msub msup msubsup mfrac msqrt mroot mfenced mtable mtr "
                         "mtd munder mover munderover mstyle mpadded mphantom menclose semantics annotation".split())
_MATHML_ATTRS = frozenset("xmlns display mathvariant open close separators columnalign linethickness stretchy "
                          "fence separator form lspace rspace accent accentunder notation encoding".split())


def _safe_mathml(text: str) -> str | None:
    """MathML serialised afresh from ``text``'s parsed tree when that tree is made only of presentation elements
    and harmless attributes, else None (the LaTeX is shown instead).

    The page never receives ``text`` itself: processing instructions, comments, a DOCTYPE or CDATA (which an XML
    parser drops or resolves but an HTML parser reads differently) reject it outright, and the output is built
    from the checked elements with every text and attribute value escaped, so a report.json cannot put markup
    or scripts into the page."""
    from xml.etree import ElementTree

    if not isinstance(text, str) or "<?" in text or "<!" in text:
        return None
    try:
        root = ElementTree.fromstring(text)
    except (ElementTree.ParseError, ValueError, RecursionError):
        return None
    if root.tag.rsplit("}", 1)[-1] != "math":
        return None
    for el in root.iter():
        if not isinstance(el.tag, str):
            return None
        tag = el.tag.rsplit("}", 1)[-1]
        if tag not in _MATHML_TAGS or any(a.rsplit("}", 1)[-1] not in _MATHML_ATTRS for a in el.attrib):
            return None

    def emit(el, out: list) -> None:
        tag = el.tag.rsplit("}", 1)[-1]
        attrs = {a.rsplit("}", 1)[-1]: v for a, v in el.attrib.items() if a.rsplit("}", 1)[-1] != "xmlns"}
        if el is root:
            attrs = {"xmlns": "http://www.w3.org/1998/Math/MathML", **attrs}
        out.append(f"<{tag}" + "".join(f' {a}="{_e(v)}"' for a, v in attrs.items()) + ">")
        if el.text:
            out.append(_e(el.text))
        for child in el:
            emit(child, out)
            if child.tail:
                out.append(_e(child.tail))
        out.append(f"</{tag}>")

    out: list = []
    try:
        emit(root, out)
    except RecursionError:
        return None
    return "".join(out)


#: the largest figure a report embeds (the project's are below 1 MiB)
FIGURE_MAX_BYTES = 32 * 2**20


def _png_data_uri(base_dir: Path, rel: str) -> tuple[str | None, str | None]:
    """(data URI, None) or (None, why the figure cannot be shown)."""
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or "\\" in rel:
        return None, "is outside the report folder"
    path = base_dir.joinpath(*p.parts)
    try:
        info = path.lstat()              # a link, a FIFO or a device is never opened (it could hang or never end)
        if not stat.S_ISREG(info.st_mode):
            return None, "is not a regular file"
        if info.st_size > FIGURE_MAX_BYTES:
            return None, f"is larger than {FIGURE_MAX_BYTES // 2**20} MiB"
        with path.open("rb") as fh:
            data = fh.read(FIGURE_MAX_BYTES + 1)
    except FileNotFoundError:
        return None, "is missing"
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or type(exc).__name__})"
    if not data.startswith(_PNG_MAGIC):
        return None, "is not a PNG file"
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii"), None


def _html_figure(base_dir: Path, rel: str, title: str) -> str:
    uri, why = _png_data_uri(base_dir, rel)
    if uri is None:
        return f'<p class="missing">Figure <code>{_e(rel)}</code> {_e(why)}; it cannot be shown.</p>'
    return f'<img src="{uri}" alt="{_e(title)}">'


def _html_inline(parts) -> str:
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(_e(p))
        elif isinstance(p, Code):
            out.append(f"<code>{_e(p.text)}</code>")
        elif isinstance(p, Strong):
            out.append(f"<strong>{_html_inline(p.parts)}</strong>")
        elif isinstance(p, Em):
            out.append(f"<em>{_html_inline(p.parts)}</em>")
        elif isinstance(p, Link):
            href = p.href if p.href.startswith("#") else quote(p.href, safe="/-_.~")
            out.append(f'<a href="{_e(href)}">{_html_inline(p.parts)}</a>')
        elif isinstance(p, StatusTag):
            extra = f' <span class="muted">{_e(p.extra.strip())}</span>' if p.extra else ""
            out.append(_status_html(p.status, extra))
        elif isinstance(p, Clipped):
            out.append(f'<span class="clip" title="{_e(p.text)}">{_e(p.text)}</span>')
        else:
            raise TypeError(f"no HTML for inline {p!r}")
    return "".join(out)


def _html_block(b, base_dir: Path) -> list[str]:
    if isinstance(b, Heading):
        anchor = f' id="{b.anchor}"' if b.anchor else ""
        return [f"<h{b.level}{anchor}>{_html_inline(b.parts)}</h{b.level}>"]
    if isinstance(b, Para):
        cls = f' class="{b.cls}"' if b.cls else ""
        return [f"<p{cls}>{_html_inline(b.parts)}</p>"]
    if isinstance(b, Text):
        return [_html_text(b.text)]
    if isinstance(b, Pre):
        return [f"<pre><code>{_e(b.text)}</code></pre>"]
    if isinstance(b, Math):
        return [f'<pre class="latex"><code>{_e(b.tex.strip())}</code></pre>']
    if isinstance(b, Formula):
        label = f'<p class="formula-label">{_e(b.label)}</p>' if b.label.strip() else ""
        mathml = _safe_mathml(b.mathml) if b.mathml else None
        shown = mathml if mathml else f'<pre class="latex"><code>{_e(b.tex.strip())}</code></pre>'
        return [f'<div class="formula">{label}{shown}</div>']
    if isinstance(b, Table) and b.cls == "summary":
        # laid out to the page's width: fixed column widths, long words broken, the status right after the id
        cols = [re.sub(r"[^a-z0-9]+", "-", h.lower()) for h in b.head]
        out = ['<table class="summary">', "<colgroup>" + "".join(f'<col class="c-{c}">' for c in cols) + "</colgroup>",
               "<thead><tr>" + "".join(f'<th class="c-{c}">{_e(h)}</th>' for c, h in zip(cols, b.head))
               + "</tr></thead>", "<tbody>"]
        out += ["<tr>" + "".join(f'<td class="c-{c}">{_html_inline(cell)}</td>' for c, cell in zip(cols, row))
                + "</tr>" for row in b.rows]
        return out + ["</tbody>", "</table>"]
    if isinstance(b, Table):
        out = ["<table>"]
        if b.head is not None:
            out.append("<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in b.head) + "</tr></thead>")
            body = ["<tr>" + "".join(f"<td>{_html_inline(c)}</td>" for c in row) + "</tr>" for row in b.rows]
        else:
            body = [f"<tr><th>{_html_inline(row[0])}</th>" + "".join(f"<td>{_html_inline(c)}</td>" for c in row[1:])
                    + "</tr>" for row in b.rows]
        return out + ["<tbody>"] + body + ["</tbody>", "</table>"]
    if isinstance(b, Fields):
        items = [f"<dt>{_e(label)}</dt><dd>"
                 + (_html_value(value.value) if isinstance(value, Value) else _html_inline(value)) + "</dd>"
                 for label, value in b.items]
        return ['<dl class="kv">'] + items + ["</dl>"]
    if isinstance(b, Bullets):
        items = [f"<li>{_html_figure(base_dir, item.path, item.title)}</li>" if isinstance(item, Image)
                 else f"<li>{_html_inline(item)}</li>" for item in b.items]
        return ["<ul>"] + items + ["</ul>"]
    if isinstance(b, Details):
        return [f"<details><summary>{_e(b.summary)}</summary>"] + [ln for x in b.body
                                                                   for ln in _html_block(x, base_dir)] + ["</details>"]
    if isinstance(b, Figure):
        caption = _e(b.caption)
        if b.svg:
            caption += (f' <span class="muted">(vector version: <a href="{_e(quote(b.svg, safe="/-_.~"))}">'
                        f'{_e(b.svg)}</a>, next to this file)</span>')
        return [f'<figure id="{b.anchor}">', f"<h{b.level}>{_e(b.title)}</h{b.level}>", _html_figure(base_dir, b.png, b.title),
                f"<figcaption>{caption}</figcaption>", "</figure>"]
    if isinstance(b, Section):
        return [f'<section class="claim {_e(b.status)}" id="{b.anchor}">'] + [
            ln for x in b.body for ln in _html_block(x, base_dir)] + ["</section>"]
    raise TypeError(f"no HTML for block {b!r}")


def render_html(report: dict, base_dir, run: dict | None = None) -> str:
    """The report as one self-contained HTML page (validates ``report`` first).

    PNG figures are read from ``base_dir / path`` and embedded as base64 data
    URIs; a missing or unreadable figure is shown as a visible note.
    """
    validate_report(report)
    base_dir = Path(base_dir)
    head = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(report_title(report, run))}</title>", f"<style>\n{_css()}\n</style>", "</head>", "<body>",
            "<main>"]
    body = [ln for block in build_sections(report, run) for ln in _html_block(block, base_dir)]
    return "\n".join(head + body + ["</main>", "</body>", "</html>"]) + "\n"
