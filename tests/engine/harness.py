"""Run a campaign against the in-process simulator in virtual time."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from campaigner.campaign.loader import load_campaign
from campaigner.clock import TrioWallClock
from campaigner.engine.run import RunOptions, RunResult, run_campaign
from campaigner.sandbox import SANDBOX_CALLBACKS, Sandbox
from campaigner.simulator import Scenario, Simulator
from campaigner.store.journal import Journal

IST = ZoneInfo("Asia/Kolkata")
MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=IST)


@dataclass
class Outcome:
    result: RunResult
    sim: Simulator
    journal_path: Path
    messages: list[str]

    def journal(self) -> Journal:
        return Journal.read(self.journal_path)


def write_campaign(directory: Path, text: str, name: str = "campaign.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


async def run_against_sim(
    path: Path,
    scenario: Scenario,
    *,
    anchor: datetime = MONDAY_10AM,
    callbacks: bool = True,
    **options: object,
) -> Outcome:
    loaded = load_campaign(path)
    clock = TrioWallClock(anchor)
    sandbox = Sandbox(scenario, clock)
    messages: list[str] = []
    run_options = RunOptions(
        settings=sandbox.settings,
        transport=sandbox.transport,
        serve_callbacks=False,
        public_url=SANDBOX_CALLBACKS if callbacks else None,
        extra_services=sandbox.start,
        handle_signals=False,
        **options,  # type: ignore[arg-type]
    )
    result = await run_campaign(loaded, run_options, clock=clock, report=messages.append)
    assert sandbox.simulator is not None
    return Outcome(result, sandbox.simulator, loaded.journal_path, messages)
