"""The report's contact table and ``campaigner export`` agree, on a real sandbox run."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaigner.report.summary import build_summary
from campaigner.store.journal import Journal
from campaigner.store.queries import export_records
from tests.report.sandbox import run_sandbox


@pytest.fixture(scope="module")
def journal_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_sandbox(tmp_path_factory.mktemp("sandbox"))


def test_contacts_match_the_export(journal_path: Path) -> None:
    with Journal.read(journal_path) as journal:
        lines = build_summary(journal, mask=False).contacts
        records = list(export_records(journal, "Asia/Kolkata"))
    assert len(lines) == len(records) == 48
    for line, record in zip(lines, records, strict=True):
        assert (line.phone, line.outcome, line.reason, line.attempts, line.source) == (
            record["phone"],
            record["outcome"],
            record["reason"],
            record["attempts"],
            record["source"],
        )
        assert dict(line.variables) == record["variables"]
        exported = [
            (c["sid"], c["outcome"], c["attempt"], c["started_at"], c["ended_at"], c["talk_time"],
             c["recording_url"], c["caller_id"], c["agent"], c["resolved_by"], c["adopted"])
            for c in record["calls"]
        ]  # fmt: skip
        mine = [
            (k.sid, k.outcome, k.attempt, _iso(k.started_at), _iso(k.ended_at), k.talk_time,
             k.recording_url, k.caller_id, k.agent, k.resolved_by, k.adopted)
            for k in line.calls
        ]  # fmt: skip
        assert mine == exported


def test_the_sandbox_run_has_something_in_every_section(journal_path: Path) -> None:
    with Journal.read(journal_path) as journal:
        summary = build_summary(journal)
    assert summary.funnel.connected > 30
    assert summary.retries.done > 0
    assert len(summary.timeline.buckets) >= 6
    assert summary.tracking.recovered_by_poll > 0
    assert summary.errors.ambiguous.adopted >= 1
    assert 30 < summary.talk_time.calls <= summary.funnel.connected  # some records never final
    assert {a.label for a in summary.agents} == {"Priya", "Arjun", "Neha"}


def _iso(value: object) -> object:
    return None if value is None else value.isoformat(timespec="seconds")  # type: ignore[attr-defined]
