"""Campaign reports: summarise a run's journal, render it as HTML (or JSON).

``build_summary`` turns a journal into the typed :class:`ReportSummary` (the
stable template context, docs/reports.md); ``write_report`` renders and writes it.
"""

from campaigner.report.model import ReportSummary
from campaigner.report.render import render_html, render_json, write_report
from campaigner.report.summary import build_summary

__all__ = ["ReportSummary", "build_summary", "render_html", "render_json", "write_report"]
