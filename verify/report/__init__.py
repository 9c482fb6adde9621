"""Reports: the schema and its validation (``schema``), the section model (``blocks``, ``sections``), the Markdown
and HTML renderers (``markdown``, ``html`` with ``report.css``), writing and re-rendering a report's files
(``files``), figure helpers (``figures``), the index page (``index``)."""
from .files import rerender, write_report
from .html import render_html
from .markdown import render_markdown
from .schema import SCHEMA, validate_report

__all__ = ["SCHEMA", "validate_report", "render_markdown", "render_html", "write_report", "rerender"]
