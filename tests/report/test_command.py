"""``campaigner report FILE``: default path, -o, --format json, --no-mask, errors."""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import pytest

from campaigner.commands import report
from campaigner.errors import StateError, UsageError
from tests.report.builders import ACCOUNT
from tests.report.conftest import standard

CAMPAIGN = """\
name: november-reminders
caller_ids: ["+918047091234"]
dial: {mode: agent_first, agents: ["+919900000001"]}
contacts: {inline: ["+919812300001"]}
"""


def invoke(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    return report.run(parser.parse_args(argv))


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    path = tmp_path / "ops" / "november.yaml"
    path.parent.mkdir()
    path.write_text(CAMPAIGN)
    standard(path.parent / ".campaigner" / "november-reminders.sqlite3")
    return path


def test_writes_the_default_report_and_prints_its_path(
    campaign: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert invoke(str(campaign)) == 0
    expected = campaign.parent / "reports" / "november-reminders.html"
    assert capsys.readouterr().out == f"{expected}\n"
    html = expected.read_text(encoding="utf-8")
    assert "<title>november-reminders · campaign report</title>" in html
    assert ACCOUNT not in html


def test_the_report_path_from_the_campaign(
    campaign: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = campaign.parent / ".campaigner" / "november-reminders.sqlite3"
    with sqlite3.connect(journal) as conn:
        (text,) = conn.execute("SELECT value FROM meta WHERE key = 'settings'").fetchone()
        settings = {**json.loads(text), "report": "../out/nov.html"}
        conn.execute("UPDATE meta SET value = ? WHERE key = 'settings'", (json.dumps(settings),))
    assert invoke(str(campaign), "--format", "json") == 0
    expected = tmp_path / "out" / "nov.json"
    assert capsys.readouterr().out == f"{expected}\n"
    assert json.loads(expected.read_text())["header"]["campaign"] == "november-reminders"


def test_output_format_and_no_mask(
    campaign: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x" / "summary.json"
    assert invoke(str(campaign), "-o", str(out), "--format", "json", "--no-mask") == 0
    assert capsys.readouterr().out == f"{out}\n"
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["masked"] is False
    assert data["header"]["account_sid"] == ACCOUNT
    assert data["contacts"][0]["phone"] == "+919812300001"


def test_a_custom_template(campaign: Path, tmp_path: Path) -> None:
    template = tmp_path / "t.txt.j2"
    template.write_text("{{ summary.funnel.connected }}/{{ summary.funnel.total }}")
    out = tmp_path / "t.txt"
    assert invoke(str(campaign), "--template", str(template), "-o", str(out)) == 0
    assert out.read_text() == "2/8"


def test_a_campaign_never_run_has_no_report(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CAMPAIGN)
    with pytest.raises(StateError, match="no journal yet"):
        invoke(str(path))


def test_an_unwritable_output_is_a_usage_error(campaign: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(UsageError, match=r"file/r.html: cannot write the report \(File exists\)"):
        invoke(str(campaign), "-o", str(blocker / "r.html"))
