"""Rendering: hostile values stay text, no secrets, nothing fetched, JSON, custom templates."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campaigner.errors import UsageError
from campaigner.report.charts import css_class, donut, nice_step
from campaigner.report.model import Count
from campaigner.report.render import templates_dir, write_report
from campaigner.store.journal import Journal
from tests.report.builders import ACCOUNT, T0, TOKEN, Book

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
HOSTILE_NAME = '<script>alert("pwned")</script>'
HOSTILE_VARS = {
    "name": HOSTILE_NAME,
    "note": "{{ 7 * 7 }} {% raw %}",
    "quote": '" onmouseover="alert(1)',
    "row": "</td></tr><tr><td>injected",
}


def hostile_journal(tmp_path: Path) -> Path:
    book = Book(
        tmp_path / "hostile.sqlite3",
        description='<img src=x onerror=alert(1)> & "quotes" {{ 6 * 7 }}',
        dial={"agents": [{"contact_uri": "+919900000001", "name": "<svg onload=alert(2)>"}]},
    )
    book.journal.set_meta("campaign", "<b>bold</b>")
    book.contacts(("+919812300001", HOSTILE_VARS), ("+919812300002", {"name": "O'Brien"}))
    book.call(
        "+919812300001",
        "connected",
        T0,
        talk=61,
        recording="javascript:alert(document.cookie)",
        reason="<i>odd</i> reason",
    )
    book.call("+919812300002", "busy", T0 + 30, recording="https://rec.example.test/2.mp3?a=1&b=2")
    book.journal.log(T0 + 40, "<script>kind</script>", "<script>message</script>", x="<y>")
    return book.close()


def render(path: Path, tmp_path: Path, **kw: object) -> str:
    out = write_report(path, tmp_path / "out.html", now=NOW, **kw)  # type: ignore[arg-type]
    return out.read_text(encoding="utf-8")


def test_hostile_values_are_shown_as_text(tmp_path: Path) -> None:
    html = render(hostile_journal(tmp_path), tmp_path)
    assert html.count("<script>") == 2  # the page's own two: the "js" class and the table
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in html  # the table
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &#34;quotes&#34; {{ 6 * 7 }}" in html
    assert "{{ 7 * 7 }} {% raw %}" in html
    assert not re.search(r"(?<![\d.])49(?![\d.])", html)  # 7 * 7 never computed
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;tr&gt;&lt;td&gt;injected" in html
    assert "&quot; onmouseover=&quot;alert(1)" in html
    assert "O&#x27;Brien" in html
    assert "&lt;b&gt;bold&lt;/b&gt; · campaign report" in html
    assert "<code>&lt;script&gt;kind&lt;/script&gt;</code>" in html
    assert "&lt;script&gt;message&lt;/script&gt;" in html
    assert "<b>&lt;svg onload=alert(2)&gt;</b>" in html  # the agent's name
    assert "<svg onload" not in html
    assert "javascript:" not in html  # the hostile recording link was dropped
    assert 'href="https://rec.example.test/2.mp3?a=1&amp;b=2"' in html


def test_no_credentials_or_callback_token_anywhere(standard_journal: Path, tmp_path: Path) -> None:
    for mask in (True, False):
        for fmt in ("html", "json"):
            out = write_report(standard_journal, tmp_path / f"r.{fmt}", mask=mask, fmt=fmt, now=NOW)
            text = out.read_text(encoding="utf-8")
            assert TOKEN not in text
            assert (ACCOUNT in text) is (not mask)
            assert "+919812300001" not in text if mask else "+919812300001" in text


def test_nothing_is_fetched_from_the_network(standard_journal: Path, tmp_path: Path) -> None:
    html = render(standard_journal, tmp_path)
    links = re.findall(r"""(?:src|href|action|srcset)\s*=\s*["']?([^"'\s>]+)""", html, re.I)
    external = [link for link in links if not link.startswith("#")]
    assert external == ["https://recordings.example.test/a.mp3"]  # the one recording
    for tag in ("<link", "<img", "<iframe", "<object", "<embed", "@import", "url("):
        assert tag not in html
    assert "default-src 'none'" in html


def test_a_report_without_recordings_links_nowhere(tmp_path: Path) -> None:
    book = Book(tmp_path / "j.sqlite3")
    book.contacts(("+919812300001", {}))
    book.call("+919812300001", "busy", T0)
    html = render(book.close(), tmp_path)
    assert not re.search(r"https?://", html.replace("http://www.w3.org/2000/svg", ""))


def test_json_is_the_same_summary(standard_journal: Path, tmp_path: Path) -> None:
    out = write_report(standard_journal, tmp_path / "r.json", fmt="json", now=NOW)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert list(data) == [
        "version", "masked", "header", "funnel", "outcomes", "retries", "timeline", "api",
        "caller_ids", "agents", "talk_time", "errors", "tracking", "run_events", "contacts",
        "spend", "by_hour", "not_connected", "agent_use",
    ]  # fmt: skip
    assert data["funnel"]["steps"][2] == {
        "key": "dialed",
        "label": "Dialed",
        "count": 4,
        "share": 0.5,
    }
    assert data["header"]["first_activity"] == "2026-11-23T09:00:00+05:30"
    assert data["contacts"][0]["calls"][1]["started_at"] == "2026-11-23T09:15:01+05:30"
    assert data["contacts"][0]["phone"] == "+91\u2022\u2022\u2022\u2022\u2022\u20220001"
    assert data["run_events"]["events"][3]["data"] == {"level": 3}


def test_the_html_shows_every_section(standard_journal: Path, tmp_path: Path) -> None:
    html = render(standard_journal, tmp_path)
    for anchor in (
        "overview", "outcomes", "timeline", "api", "people", "talk", "errors", "events",
        "contacts",
    ):  # fmt: skip
        assert f'id="{anchor}"' in html
    assert html.count('<tr class="o-') == 8  # one row per contact and skipped file row
    assert "not finished" in html  # two contacts are still waiting
    assert "quantum_flux" in html  # an unknown run-log kind, shown generically
    assert "#1 09:00 busy; #2 09:15 connected 2m 00s" in html


def test_a_custom_template_sees_the_summary_in_a_sandbox(
    standard_journal: Path, tmp_path: Path
) -> None:
    template = tmp_path / "mine.html.j2"
    template.write_text(
        "{{ summary.header.campaign }}: {{ summary.funnel.connected }} of "
        "{{ summary.funnel.total }} connected ({{ (summary.funnel.connected / summary.funnel.total)"
        "|pct }}); {{ summary.contacts[0].name }} {{ '<x>' }}\n"
    )
    html = render(standard_journal, tmp_path, template=template)
    assert html == "november-reminders: 2 of 8 connected (25%); Asha &lt;x&gt;"


def test_a_custom_template_can_extend_the_built_in_one(
    standard_journal: Path, tmp_path: Path
) -> None:
    template = tmp_path / "branded.html.j2"
    template.write_text(
        '{% extends "report.html.j2" %}{% block events %}<p>No events here.</p>{% endblock %}'
    )
    html = render(standard_journal, tmp_path, template=template)
    assert "<p>No events here.</p>" in html
    assert 'id="events"' not in html
    assert 'id="contacts"' in html


def test_a_custom_template_cannot_reach_python_internals(
    standard_journal: Path, tmp_path: Path
) -> None:
    template = tmp_path / "evil.html.j2"
    template.write_text("{{ summary.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(UsageError, match="evil.html.j2: template error: access to attribute"):
        render(standard_journal, tmp_path, template=template)


def test_template_mistakes_are_usage_errors(standard_journal: Path, tmp_path: Path) -> None:
    typo = tmp_path / "typo.html.j2"
    typo.write_text("{{ summary.funel.total }}")
    with pytest.raises(UsageError, match="typo.html.j2: template error: .*'funel'"):
        render(standard_journal, tmp_path, template=typo)
    broken = tmp_path / "broken.html.j2"
    broken.write_text("{% if %}")
    with pytest.raises(UsageError, match=r"broken.html.j2:1: template error"):
        render(standard_journal, tmp_path, template=broken)
    with pytest.raises(UsageError, match="nowhere.j2: no such template"):
        render(standard_journal, tmp_path, template=tmp_path / "nowhere.j2")


def test_the_built_in_templates_are_found() -> None:
    assert (templates_dir() / "report.html.j2").is_file()


def test_chart_helpers() -> None:
    assert css_class("no_answer") == "o-no_answer"
    assert css_class('x" onload="y') == "o-xonloady"
    assert css_class("poll", "r-") == "r-poll"
    assert [nice_step(p) for p in (0, 3, 10, 45, 180, 999, 12345)] == [
        1.0, 1.0, 5.0, 20.0, 50.0, 500.0, 5000.0,
    ]  # fmt: skip
    arcs = donut((Count("connected", 3, 0.75), Count("busy", 1, 0.25)))
    assert [(a.cls, a.length, a.offset) for a in arcs] == [
        ("o-connected", 75.0, -0.0),
        ("o-busy", 25.0, -75.0),
    ]


def test_a_journal_with_nothing_in_it_yet_renders(tmp_path: Path) -> None:
    Journal.open(tmp_path / "new.sqlite3").close()
    html = render(tmp_path / "new.sqlite3", tmp_path)
    assert "<title>new · campaign report</title>" in html
    assert "This campaign is not finished" in html
    assert html.count('<p class="muted">No calls yet.</p>') == 3  # by attempt, by hour, timeline
    assert '<p class="muted">No requests yet.</p>' in html


def test_the_built_in_template_runs_unchanged_in_the_sandbox(
    standard_journal: Path, tmp_path: Path
) -> None:
    template = tmp_path / "same.html.j2"
    template.write_text('{% extends "report.html.j2" %}')
    assert render(standard_journal, tmp_path, template=template) == render(
        standard_journal, tmp_path
    )
