"""One campaign's run inside a serve: the engine's ``run_campaign``, wired to what is shared.

Why it is this thin: ``serve`` must give each campaign exactly what ``run`` gives it
(journal first, exactly-once, resume, reports), so it calls the same
``campaigner.engine.run.run_campaign`` and changes only the wiring: no socket of its own
(the serve's :class:`~campaigner.serve.dispatch.Dispatch` routes its token to it), the
account's shared budget instead of a private one, no signal handling (the serve has
one), and a handle (:class:`Live`) through which the supervisor stops it at a safe point.

A safe point: dialing stopped and no connect request waiting for its answer. Calls in
flight need not end first: they are journaled with their SID, and the next run (the
same file or its new version) follows them from the journal, as a resumed ``run`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import trio

from campaigner.campaign.resolved import LoadedCampaign
from campaigner.clock import TrioWallClock
from campaigner.engine.context import RunContext
from campaigner.engine.limiter import AccountBudget
from campaigner.engine.receiver import CallbackReceiver
from campaigner.engine.run import RunOptions, RunResult, run_campaign
from campaigner.engine.verify import CallbackTokens
from campaigner.serve.dispatch import Dispatch
from campaigner.settings import ExotelSettings
from campaigner.store.journal import Journal


@dataclass
class Host:
    """What every campaign of one serve shares."""

    settings: ExotelSettings
    dispatch: Dispatch
    budget: AccountBudget
    clock: TrioWallClock
    public_url: str | None
    transport: httpx.AsyncBaseTransport | None = None  # the simulator's, in tests and benches
    sandbox: bool = False
    client_timeout: float = 15.0
    record_wait: float = 300.0
    unreachable_timeout: float = 300.0


@dataclass
class Live:
    """A campaign's current run, as the supervisor and the status page see it."""

    key: str
    ctx: RunContext | None = None
    stopping: bool = False
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)

    async def stop(self, grace: float, *, follow: bool = False) -> None:
        """Stop at a safe point: no new calls, then wait (at most ``grace``) until no POST
        awaits its answer; with ``follow`` (the serve shutting down), until no call is in
        flight. What is still open then is in the journal, and the next run follows it."""
        self.stopping = True
        ctx = self.ctx
        if ctx is not None:
            ctx.stop_dialing.set()
            ctx.wake_dialer.set()
            with trio.move_on_after(grace):
                # the registry has no change event; a short poll bounded by the grace
                while _busy(ctx, follow):  # noqa: ASYNC110
                    await trio.sleep(0.5)
        self.scope.cancel()


def _busy(ctx: RunContext, follow: bool) -> bool:
    if follow:
        return len(ctx.registry) > 0
    return any(call.state == "intent" for call in ctx.registry)


async def run_once(
    host: Host,
    loaded: LoadedCampaign,
    live: Live,
    report: Callable[[str], None],
) -> RunResult | None:
    """Run (or resume) ``loaded`` until it ends or ``live.stop`` is called (then None)."""

    async def attach(nursery: trio.Nursery, app: CallbackReceiver) -> None:
        with Journal.read(loaded.journal_path) as journal:
            tokens = CallbackTokens.load(journal)
        host.dispatch.attach(live.key, app, (tokens.current, *tokens.tokens()))

    def ready(ctx: RunContext) -> None:
        live.ctx = ctx

    options = RunOptions(
        settings=host.settings,
        transport=host.transport,
        serve_callbacks=False,
        public_url=host.public_url,
        extra_services=attach,
        handle_signals=False,
        record_wait=host.record_wait,
        client_timeout=host.client_timeout,
        sandbox=host.sandbox,
        on_ready=ready,
        unreachable_timeout=host.unreachable_timeout,
        account_budget=host.budget,
        resume_hint="campaigner serve DIR",
    )
    try:
        with live.scope:
            return await run_campaign(loaded, options, clock=host.clock, report=report)
        return None
    finally:
        host.dispatch.detach(live.key)
        live.ctx = None
