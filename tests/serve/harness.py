"""Serve a folder of campaigns against the in-process simulator, in virtual time."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import trio

from campaigner.clock import TrioWallClock
from campaigner.engine.limiter import SharedBudget
from campaigner.sandbox import SANDBOX_CALLBACKS
from campaigner.serve.dispatch import Dispatch
from campaigner.serve.service import Host
from campaigner.serve.supervisor import Supervisor
from campaigner.settings import ExotelSettings
from campaigner.simulator import Scenario, Simulator
from campaigner.simulator.inspect import truths
from campaigner.store.journal import Journal
from tests.engine.harness import MONDAY_10AM
from tests.engine.truth import contact_number, from_journal, judge

CAMPAIGN = """\
name: {name}
api: {api}
caller_ids: ["+912241499102", "+918047091234"]
dial:
  mode: agent_first
  agents: {agents}
contacts: {{file: {name}.csv}}
pacing: {{requests_per_minute: {rpm}, max_concurrent_calls: 10}}
retry: {{max_attempts: 2, on: [busy, no_answer], backoff: {{first: 2m}}}}
schedule:
  timezone: Asia/Kolkata
  windows: [{{start: "{start}", end: "{end}"}}]
screening: {{dnd: call, dedupe: false}}
{extra}"""


def write(
    folder: Path,
    name: str,
    phones: list[str],
    *,
    api: str = "v1",
    rpm: int = 180,
    start: str = "10:00",
    end: str = "23:00",
    extra: str = "",
    agents: int = 10,
) -> Path:
    """A campaign file and its contacts CSV (agents unique to the campaign)."""
    index = abs(hash(name)) % 90 + 10
    numbers = [f'"+9198{index:02d}{i:06d}"' for i in range(1, agents + 1)]
    (folder / f"{name}.csv").write_text("phone\n" + "".join(f"{p}\n" for p in phones))
    path = folder / f"{name}.yaml"
    path.write_text(
        CAMPAIGN.format(
            name=name, api=api, rpm=rpm, start=start, end=end,
            agents="[" + ", ".join(numbers) + "]", extra=textwrap.dedent(extra),
        )
    )  # fmt: skip
    return path


def phones(prefix: int, count: int, first: int = 1) -> list[str]:
    return [f"+9197{prefix:02d}{i:06d}" for i in range(first, first + count)]


@dataclass
class Served:
    supervisor: Supervisor
    sim: Simulator
    dispatch: Dispatch

    def throttled(self) -> int:
        return sum(n for (_, _, s), n in self.sim.stats().counters.items() if s == 429)

    async def until(self, done: Callable[[], bool], limit: float = 6 * 3600.0) -> None:
        end = trio.current_time() + limit
        while not done():
            assert trio.current_time() < end, "the serve did not get there in time"
            await trio.sleep(5.0)

    def states(self) -> dict[str, str]:
        return {p.stem: c.state for p, c in self.supervisor.campaigns.items()}

    def check_truth(self, name: str, folder: Path, mode: str = "agent_first") -> int:
        """The oracle for one campaign: its journal against the calls to its contacts."""
        with Journal.read(folder / ".campaigner" / f"{name}.sqlite3") as journal:
            run = from_journal(journal)
            mine = {str(r[0]) for r in journal.conn.execute("SELECT phone FROM contacts")}
        facts = [t for t in truths(self.sim) if contact_number(t, mode) in mine]
        verdict = judge(run, facts, mode=mode)
        verdict.fail_if_wrong()
        return verdict.checked


@asynccontextmanager
async def serve_sim(
    folder: Path,
    scenario: Scenario | None = None,
    *,
    anchor: datetime = MONDAY_10AM,
    account_rpm: int = 200,
    poll: float = 10.0,
) -> AsyncIterator[Served]:
    scenario = scenario or Scenario.model_validate({"seed": 7})
    clock = TrioWallClock(anchor)
    dispatch = Dispatch()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=dispatch))  # type: ignore[arg-type]
    sim = Simulator(scenario, clock=clock, callback_client=client)
    account = scenario.account
    settings = ExotelSettings(
        api_key=account.api_key,
        api_token=account.api_token,
        account_sid=account.sid,
        base_url="http://sim.invalid",
        ccm_base_url="http://sim.invalid",
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sim.run)
        host = Host(
            settings=settings,
            dispatch=dispatch,
            budget=SharedBudget(account_rpm),
            clock=clock,
            public_url=SANDBOX_CALLBACKS,
            transport=sim.transport(),
            record_wait=60.0,
        )
        supervisor = Supervisor(folder, host, poll=poll, grace=30.0, retry_after=60.0)
        await nursery.start(supervisor.run)
        yield Served(supervisor, sim, dispatch)
        nursery.cancel_scope.cancel()
