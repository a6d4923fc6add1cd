"""A real journal: a campaign run by the engine against the in-process simulator.

Used by the browser test (and the screenshot in docs/) and by the test that keeps
the report's contacts in agreement with ``campaigner export``. Runs in virtual
time (trio's MockClock, autojump): an hour and a half of calling takes about a second.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import trio
import trio.testing

from campaigner.simulator import Scenario
from tests.engine.harness import run_against_sim

NAMES = (
    "Asha Rao", "Ravi Kumar", "Meena Iyer", "Kiran Shah", "Deepa Nair", "Suresh Pillai",
    "Lakshmi Menon", "Vikram Singh", "Anita Das", "Rahul Gupta", "Farah Khan", "Gopal Reddy",
)  # fmt: skip

CAMPAIGN = """\
name: collections-november
description: Payment reminders for November's overdue invoices (EMI and card dues).
api: v1
caller_ids: ["+912241499102", "+918047091234"]
dial:
  mode: agent_first
  agents:
    - {{contact_uri: "+919900000001", name: Priya}}
    - {{contact_uri: "+919900000002", name: Arjun}}
    - {{contact_uri: "+919900000003", name: Neha}}
contacts:
  inline:
{contacts}
call: {{call_type: trans, time_limit: 600, ring_timeout: 30, recording: {{record: true}}}}
schedule: {{timezone: Asia/Kolkata, windows: [{{start: "09:00", end: "21:00"}}]}}
pacing: {{requests_per_minute: 60, max_concurrent_calls: 2}}
retry: {{max_attempts: 3, on: [busy, no_answer], backoff: {{first: 10m, factor: 2, max: 30m}}}}
tracking: {{poll_after: 2m, poll_interval: 1m, give_up_after: 30m}}
"""

SCENARIO = Scenario.model_validate(
    {
        "seed": 5,
        "numbers": {"+919812300007": {"dnd": True}},
        "faults": {"callback_drop": 0.1, "callback_duplicate": 0.05, "connect_ambiguous": 0.03},
    }
)


def campaign_file(directory: Path, contacts: int = 48) -> Path:
    """A campaign of ``contacts`` contacts with names, order ids and amounts."""
    rows = "\n".join(
        f'    - {{phone: "+9198123{i:05d}", name: "{NAMES[i % len(NAMES)]}", '
        f'order_id: "INV-{24000 + i}", amount: "{(i * 379) % 9000 + 500}"}}'
        for i in range(1, contacts + 1)
    )
    path = directory / "collections.yaml"
    path.write_text(CAMPAIGN.format(contacts=textwrap.indent(rows, "")))
    return path


def run_sandbox(directory: Path, contacts: int = 48) -> Path:
    """Run the campaign to its end; returns the journal's path."""
    path = campaign_file(directory, contacts)

    async def main() -> Path:
        outcome = await run_against_sim(path, SCENARIO)
        return outcome.journal_path

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
