"""Reports: the schema and its validation (``schema``), the section model (``blocks``, ``sections``), the Markdown
and HTML renderers (``markdown``, ``html`` with ``report.css``), writing and re-rendering a report's files
(``files``), figure helpers (``figures``), the index page (``index``).

The names below are imported from their modules on first use (PEP 562), so that a command that only needs the
section model (every command's parser, for the papers' one-line titles) does not import the renderers and
``jsonschema`` (about 0.06 s of each start-up)."""
from __future__ import annotations

from .._lazy import lazy_exports

#: each public name -> the module of this package that defines it
_HOMES = {"SCHEMA": "schema", "validate_report": "schema", "render_markdown": "markdown", "render_html": "html",
          "write_report": "files", "rerender": "files"}

__all__ = list(_HOMES)
__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
