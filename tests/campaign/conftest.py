"""Helpers for campaign tests: write a campaign (and its CSVs) into the test's cwd, check it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campaigner.campaign.loader import check_campaign
from campaigner.campaign.resolved import LoadedCampaign

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # 12:00 in Asia/Kolkata, a Monday

# A valid v1 campaign; tests append or replace sections.
BASE = """\
name: t
api: v1
caller_ids: ["+912241499102"]
dial:
  mode: agent_first
  agents: ["+919900000001"]
contacts:
  inline: ["+919812300001"]
schedule:
  deadline: 2026-11-30T20:00:00+05:30
callbacks:
  public_url: https://hooks.example.com/x
"""


class FixedClock:
    """A wall clock stopped at ``NOW``."""

    def __init__(self, now: datetime = NOW) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


Check = Callable[..., tuple[LoadedCampaign | None, list[str]]]


def write(name: str, text: str) -> Path:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def check() -> Check:
    """``check(yaml_text, {"x.csv": text})`` -> (loaded or None, ["FILE:LINE:COL: ..."])."""

    def run(
        text: str, files: dict[str, str] | None = None
    ) -> tuple[LoadedCampaign | None, list[str]]:
        for name, content in (files or {}).items():
            write(name, content)
        write("c.yaml", text)
        loaded, problems = check_campaign("c.yaml", FixedClock())
        return loaded, [str(p) for p in problems]

    return run
