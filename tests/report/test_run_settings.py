"""The run's settings snapshot is read through one type (campaigner.store.run_settings),
whose defaults are the campaign model's; journals written before a key existed still read."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from campaigner.campaign.model import Campaign, Pacing, Schedule
from campaigner.commands import export
from campaigner.commands.report import default_output
from campaigner.report.summary import build_summary
from campaigner.store.journal import Journal
from campaigner.store.queries import campaign_status
from campaigner.store.run_settings import AgentName, RunSettings, snapshot, write_settings
from tests.report.builders import T0, Book

PHONE = "+919812300001"
PRIYA = "+919900000002"

CAMPAIGN: dict[str, Any] = {
    "name": "dubai-reminders",
    "description": "Renewals, Dubai office",
    "caller_ids": ["+912241499101"],
    "dial": {
        "mode": "agent_first",
        "agents": ["+919900000001", {"contact_uri": PRIYA, "name": "Priya"}],
    },
    "contacts": {"inline": [PHONE]},
    "schedule": {"timezone": "Asia/Dubai"},
    "pacing": {"requests_per_minute": 60},
    "report": "out/renewals.html",
}


def test_a_snapshot_reads_back_as_the_campaign_said(tmp_path: Path) -> None:
    campaign = Campaign.model_validate(CAMPAIGN)
    with Journal.open(tmp_path / "j.sqlite3") as journal:
        write_settings(journal, snapshot(campaign))
    with Journal.read(tmp_path / "j.sqlite3") as journal:
        got = RunSettings.read(journal)
    assert got.timezone == "Asia/Dubai"
    assert got.requests_per_minute == 60
    assert got.description == "Renewals, Dubai office"
    assert got.report == "out/renewals.html"
    assert got.agents == (AgentName(PRIYA, "Priya"),)  # a bare number names nobody
    assert "name" not in got.raw
    assert got.raw["retry"]["max_attempts"] == 1


def test_missing_keys_take_the_campaign_models_defaults() -> None:
    defaults = Campaign.model_validate({**CAMPAIGN, "schedule": {}, "pacing": {}})
    for text in (
        None,
        "{}",
        '{"schedule": {}, "pacing": {}}',
        "not json",
        "[1]",
        '{"schedule": 3}',
    ):
        got = RunSettings.parse(text)
        assert got.timezone == defaults.schedule.timezone == Schedule().timezone, text
        assert got.requests_per_minute == defaults.pacing.requests_per_minute, text
        assert got.requests_per_minute == Pacing().requests_per_minute, text
        assert (got.description, got.report, got.agents) == (None, None, ()), text


def old_journal(tmp_path: Path, settings: dict[str, Any] | None) -> Path:
    """A journal as an earlier version wrote it: a settings snapshot without schedule and
    pacing (or none at all), with one call placed at T0 (09:00 IST, 03:30 UTC)."""
    book = Book(tmp_path / "old.sqlite3").contacts((PHONE, {"name": "Asha"})).run()
    book.call(PHONE, at=T0, outcome="connected", talk=30)
    if settings is None:
        book.journal.conn.execute("DELETE FROM meta WHERE key = 'settings'")
    else:
        book.journal.set_meta("settings", json.dumps(settings))
    return book.close()


@pytest.mark.parametrize(
    "settings",
    [None, {"description": "Old", "dial": {"mode": "agent_first", "agents": [PRIYA]}}],
    ids=["no snapshot", "snapshot without schedule and pacing"],
)
def test_a_journal_written_the_old_way_still_reads(
    tmp_path: Path,
    settings: dict[str, Any] | None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = old_journal(tmp_path, settings)
    with Journal.read(path) as journal:
        summary = build_summary(journal)
        status = campaign_status(journal)
    assert summary.header.timezone == Schedule().timezone == status["timezone"]
    assert summary.api.budget_per_minute == Pacing().requests_per_minute
    assert summary.header.description == (settings or {}).get("description")
    campaign_file = tmp_path / "old.yaml"
    assert (
        default_output(campaign_file, path, "html") == tmp_path / "reports/november-reminders.html"
    )

    # export shows the call's time in the default timezone (IST: +05:30)
    args = argparse.Namespace(file=str(campaign_file), format="json", output=None, mask=False)
    monkeypatch.setattr(export, "journal_path", lambda _: path)
    assert export.run(args) == 0
    records = json.loads(capsys.readouterr().out)
    assert records[0]["calls"][0]["started_at"].endswith("+05:30")
