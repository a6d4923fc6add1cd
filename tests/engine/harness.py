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
    sid_nonce: str | None = None,
    **options: object,
) -> Outcome:
    loaded = load_campaign(path)
    clock = TrioWallClock(anchor)
    sandbox = Sandbox(scenario, clock, sid_nonce)
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


class Switchboard:
    """An ASGI app forwarding the simulator's callbacks to whichever run is live.

    Between runs it answers 503, as a stopped campaigner would look to Exotel, and the
    simulator retries and eventually gives up, exactly as it would in production.
    """

    def __init__(self) -> None:
        self.target: object | None = None

    async def __call__(self, scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] == "http" and self.target is not None:
            await self.target(scope, receive, send)  # type: ignore[operator]
            return
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 503, "headers": []})  # type: ignore[operator]
            await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]


@dataclass
class SimHost:
    """A simulator that outlives several runs of the engine (resume tests)."""

    sim: Simulator
    switchboard: Switchboard
    clock: TrioWallClock
    settings: object

    async def run(
        self, path: Path, *, stop_after: float | None = None, **options: object
    ) -> RunResult | None:
        """Run (or resume) ``path``; with ``stop_after``, cancel it abruptly at that time."""
        import trio

        from campaigner.settings import ExotelSettings

        assert isinstance(self.settings, ExotelSettings)
        loaded = load_campaign(path)

        async def connect(nursery: object, app: object) -> None:
            self.switchboard.target = app

        run_options = RunOptions(
            settings=self.settings,
            transport=self.sim.transport(),
            serve_callbacks=False,
            public_url=SANDBOX_CALLBACKS,
            extra_services=connect,  # type: ignore[arg-type]
            handle_signals=False,
            **options,  # type: ignore[arg-type]
        )
        try:
            with trio.move_on_after(stop_after if stop_after is not None else float("inf")):
                return await run_campaign(
                    loaded, run_options, clock=self.clock, report=lambda m: None
                )
            return None
        finally:
            self.switchboard.target = None


async def sim_host(nursery: object, scenario: Scenario, anchor: datetime = MONDAY_10AM) -> SimHost:
    import httpx

    from campaigner.settings import ExotelSettings

    clock = TrioWallClock(anchor)
    board = Switchboard()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=board))  # type: ignore[arg-type]
    sim = Simulator(scenario, clock=clock, callback_client=client)
    await nursery.start(sim.run)  # type: ignore[attr-defined]
    account = scenario.account
    settings = ExotelSettings(
        api_key=account.api_key,
        api_token=account.api_token,
        account_sid=account.sid,
        base_url="http://sim.invalid",
        ccm_base_url="http://sim.invalid",
    )
    return SimHost(sim, board, clock, settings)
