"""Reports: the schema and its validation, the Markdown and HTML renderers, figure helpers, the index page."""
from .render import SCHEMA, render_html, render_markdown, rerender, validate_report, write_report

__all__ = ["SCHEMA", "validate_report", "render_markdown", "render_html", "write_report", "rerender"]
