"""The names ``verify.report.render`` has always offered, kept importable: the module that held the schema, the
section model and both renderers is now split along those jobs (issue 22):

- :mod:`.schema`: the schema ``verify-report/4`` and its validator (:func:`validate_report`, :func:`validate_claim`);
- :mod:`.values`: value formatting shared by the model and both renderers;
- :mod:`.blocks` and :mod:`.sections`: the section model, built once from ``report.json`` and rendered twice, and
  the readings of a report the index and the command line share (:func:`expectation_of`, :func:`paper_line`, ...);
- :mod:`.markdown` and :mod:`.html` (with its style sheet ``report.css``): the two renderers;
- :mod:`.files`: writing a report's files and rendering them again from ``report.json``.
"""
from __future__ import annotations

from .files import REPORT_MAX_BYTES, REPORT_MAX_DEPTH, rerender, write_report
from .html import FIGURE_MAX_BYTES, render_html
from .markdown import render_markdown
from .schema import PROFILES, SCHEMA, SCHEMAS, STATUSES, VERSION_KEYS, validate_claim, validate_report
from .sections import (FIT_COLUMNS, SUMMARY_COLUMNS, build_sections, counts_text, expectation_of, format_margin,
                       paper_line, range_text, report_title, unexpected)

__all__ = ["SCHEMA", "STATUSES", "PROFILES", "validate_report", "validate_claim", "render_markdown", "render_html",
           "write_report", "rerender", "format_margin", "counts_text", "range_text", "expectation_of", "unexpected",
           "paper_line", "SUMMARY_COLUMNS", "SCHEMAS", "VERSION_KEYS", "FIT_COLUMNS", "FIGURE_MAX_BYTES",
           "REPORT_MAX_BYTES", "REPORT_MAX_DEPTH", "build_sections", "report_title"]
