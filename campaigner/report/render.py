"""Render a summary as one self-contained HTML file (or as JSON), and ``write_report``.

The built-in templates run in a normal Jinja environment; a user's template runs
in a sandboxed one. Both have autoescape on and ``StrictUndefined``, so a contact
called ``<script>`` is shown as text and a typo in a template is an error, not a
blank. Templates are found inside the installed package (``campaigner/templates``,
put there by the wheel build) or, in an editable install, in the repository's
``templates/``.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from campaigner.errors import UsageError
from campaigner.report.charts import build_charts, css_class, palette_css
from campaigner.report.format import FILTERS
from campaigner.report.gitinfo import GitInfo, file_commit
from campaigner.report.model import ReportSummary
from campaigner.report.rows import contact_rows
from campaigner.report.summary import build_summary, gc_paused
from campaigner.store.journal import Journal

DEFAULT_TEMPLATE = "report.html.j2"
Format = Literal["html", "json"]


def templates_dir() -> Path:
    """The built-in templates: inside the package when installed, else the repo's."""
    packaged = resources.files("campaigner") / "templates"
    if packaged.is_dir() and isinstance(packaged, Path):
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


def environment(user_dir: Path | None = None) -> jinja2.Environment:
    """Autoescaping, strict Jinja; sandboxed when it will run a user's template.

    A user's directory comes first on the search path, so a custom template can
    ``{% extends "report.html.j2" %}`` and override only some blocks.
    """
    builtin = jinja2.FileSystemLoader(templates_dir())
    options: dict[str, Any] = {
        "autoescape": True,
        "undefined": jinja2.StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
    }
    if user_dir is None:
        env = jinja2.Environment(loader=builtin, **options)
    else:
        loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(user_dir), builtin])
        env = SandboxedEnvironment(loader=loader, **options)
    env.filters.update(FILTERS)
    env.filters["outcome_class"] = css_class
    env.globals["outcome_palette"] = Markup(palette_css())  # no user text in it
    env.globals["contact_rows"] = contact_rows
    return env


def render_html(summary: ReportSummary, template: Path | None = None) -> str:
    """The report page for ``summary``, with the built-in or a user's template."""
    if template is None:
        env, name = environment(), DEFAULT_TEMPLATE
    else:
        if not template.is_file():
            raise UsageError(f"{template}: no such template")
        env, name = environment(template.resolve().parent), template.name
    try:
        return env.get_template(name).render(summary=summary, charts=build_charts(summary))
    except jinja2.TemplateError as exc:
        where = (
            f"{exc.filename}:{exc.lineno}" if isinstance(exc, jinja2.TemplateSyntaxError) else name
        )
        raise UsageError(f"{where}: template error: {exc}") from exc


def _jsonable(value: Any) -> Any:
    """``json.dumps`` default: dataclasses become objects, datetimes ISO 8601 text."""
    if isinstance(value, datetime):
        return value.isoformat()
    names = _field_names(type(value))
    if names is None:
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")
    return {name: getattr(value, name) for name in names}


_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    """A dataclass's field names (None for anything else), looked up once per class."""
    if cls not in _FIELDS:
        _FIELDS[cls] = tuple(f.name for f in fields(cls)) if is_dataclass(cls) else None
    return _FIELDS[cls]


def render_json(summary: ReportSummary) -> str:
    """The summary as one JSON object, field for field (docs/reports.md)."""
    return json.dumps(summary, default=_jsonable, ensure_ascii=False) + "\n"


def write_report(
    journal_path: Path,
    out_path: Path,
    *,
    template: Path | None = None,
    mask: bool = True,
    fmt: Format = "html",
    campaign_file: Path | None = None,
    now: datetime | None = None,
) -> Path:
    """Summarise a journal (finished or mid-run) and write the report; returns its path.

    The file is written beside its final name and renamed into place, so a reader
    never sees half a report, and a report written mid-run is simply "what is
    known so far". ``campaign_file`` (default: the file the journal records) is
    used only to find its git commit.
    """
    with Journal.read(journal_path) as journal:
        file = campaign_file or _recorded_file(journal)
        git = file_commit(file) if file is not None and file.exists() else GitInfo()
        summary = build_summary(journal, mask=mask, now=now or datetime.now(UTC), git=git)
    with gc_paused():
        text = render_json(summary) if fmt == "json" else render_html(summary, template)
    return _write_atomically(out_path, text)


def _recorded_file(journal: Journal) -> Path | None:
    recorded = journal.get_meta("file")
    return Path(recorded) if recorded else None


def _write_atomically(path: Path, text: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the report ({exc.strerror})") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
