"""The blocks of the section model: the report is built once as a list of these (:mod:`.sections`) and
walked by each renderer (:mod:`.markdown`, :mod:`.html`).  Inline parts are strings and :class:`Code`,
:class:`Strong`, :class:`Em`, :class:`Link`, :class:`StatusTag`, :class:`Clipped`; the others are blocks."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    """Inline code."""
    text: str


@dataclass(frozen=True)
class Strong:
    parts: tuple


@dataclass(frozen=True)
class Em:
    parts: tuple


@dataclass(frozen=True)
class Link:
    parts: tuple
    href: str                 # "#anchor" or a path relative to the report


@dataclass(frozen=True)
class StatusTag:
    status: str
    extra: str = ""           # plain text after the status


@dataclass(frozen=True)
class Heading:
    level: int
    parts: tuple
    anchor: str | None = None  # an explicit anchor the renderers must emit


@dataclass(frozen=True)
class Para:
    parts: tuple
    cls: str = ""             # "meta", "paper", "note"


@dataclass(frozen=True)
class Text:
    """Plain text in paragraphs and indented formula blocks (docstring sections, captions)."""
    text: str


@dataclass(frozen=True)
class Pre:
    text: str


@dataclass(frozen=True)
class Math:
    tex: str


@dataclass(frozen=True)
class Formula:
    """A derived result: its label (plain text), LaTeX (Markdown) and MathML (HTML; None: show the LaTeX)."""
    label: str
    tex: str
    mathml: str | None


@dataclass(frozen=True)
class Clipped:
    """Text the HTML shows on one line, cut with an ellipsis, the whole of it on hover (Markdown: the text)."""
    text: str


@dataclass(frozen=True)
class Table:
    head: tuple | None        # column titles, or None for a key-value table
    rows: tuple               # rows of cells; each cell a tuple of inline parts
    cls: str = ""             # "summary": the claims' summary, laid out to fit the page


@dataclass(frozen=True)
class Fields:
    """Labelled values: ``(label, inline parts or a Value)`` pairs."""
    items: tuple


@dataclass(frozen=True)
class Value:
    """A JSON value, inline when short, as a block otherwise."""
    value: object


@dataclass(frozen=True)
class Bullets:
    items: tuple              # each item a tuple of inline parts, or an Image


@dataclass(frozen=True)
class Image:
    path: str
    title: str


@dataclass(frozen=True)
class Details:
    summary: str
    body: tuple


@dataclass(frozen=True)
class Figure:
    anchor: str
    title: str
    png: str
    svg: str | None
    caption: str
    name: str
    level: int = 3            # of its title: 3 in the Figures section, 4 inside a claim's section


@dataclass(frozen=True)
class Section:
    """A claim's section: an anchor and a status class around its blocks."""
    anchor: str
    status: str
    body: tuple
