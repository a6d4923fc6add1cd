"""``run_campaign``: one nursery tree that dials, tracks and stops cleanly.

::

    open_exotel               (engine/exotel_session.py: the rate limiter, which every
    │                          request of the run passes, and the Exotel client; both
    │                          outlive the services, so none sends on a closed client)
    └── run nursery
        ├── callback receiver     (hypercorn on callbacks.listen, unless in-process;
        │                          status callbacks and ExoPhone heartbeats)
        ├── extra services        (the in-process simulator in sandbox mode and tests)
        ├── signal watcher        (Ctrl-C once: stop dialing, grace; twice: stop now)
        ├── poller, reconciler    (the safety net)
        ├── screener              (DND lookups a little ahead of the dialer)
        ├── health monitor        (caller ID health: heartbeats, v2 details, failover)
        ├── progress              (terminal display or log lines)
        ├── outage watcher        (stops the run when Exotel stays out of reach)
        └── dialer                (places calls; each POST in its own child task)

Services start in that order, with ``nursery.start`` (each reports ``started`` once it
is ready: the receiver once bound, the health monitor once the caller IDs to dial with
are known; progress and the outage watcher need no such moment and use ``start_soon``),
so the dialer starts last, with everything it relies on running.

Exception groups stay inside: the caller sees one ``CampaignerError`` (or a
``RunResult``). Every state change is journaled before it is acted upon, so any
stop, clean or not, leaves a journal that ``campaigner run`` resumes from. A run
pauses itself (``EXIT_PAUSED``, resumable) when the circuit breaker trips, and stops
(``EXIT_API``, resumable) when Exotel stays out of reach for ``unreachable_timeout``.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import trio

from campaigner import __version__
from campaigner.campaign.model import CircuitBreaker as BreakerConfig
from campaigner.campaign.resolved import LoadedCampaign
from campaigner.clock import TrioWallClock
from campaigner.compile import callback_url
from campaigner.engine.breaker import CircuitBreaker
from campaigner.engine.context import RunContext, RunStats, ScreeningGate
from campaigner.engine.dialer import Dialer
from campaigner.engine.exotel_session import open_exotel
from campaigner.engine.health_monitor import HealthMonitor
from campaigner.engine.limiter import AccountBudget, FileBudget
from campaigner.engine.open_calls import AgentPool, CallerIds, CallRegistry, OpenCall, Slots
from campaigner.engine.outage import GIVE_UP_AFTER, Outage
from campaigner.engine.poller import Poller, PollerDeps
from campaigner.engine.preflight import listen_error
from campaigner.engine.prepare import Preparation, prepare_journal
from campaigner.engine.receiver import CallbackReceiver, serve_receiver
from campaigner.engine.reconciler import Reconciler, ReconcilerDeps
from campaigner.engine.screener import Screener, ScreenerDeps
from campaigner.engine.tracker import Tracker, TrackerDeps
from campaigner.engine.verify import CallbackTokens, guarded_receiver
from campaigner.errors import (
    EXIT_API,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PAUSED,
    unwrap,
)
from campaigner.schedule import CallingSchedule
from campaigner.settings import CampaignerSettings, ExotelSettings, load_campaigner_settings
from campaigner.store.journal import Journal
from campaigner.store.locks import RunnerKey
from campaigner.store.shared import SANDBOX_SHARED_FILE, SHARED_FILE, SharedState

log = logging.getLogger("campaigner.run")

ExtraServices = Callable[[trio.Nursery, CallbackReceiver], Awaitable[None]]
Reporter = Callable[[str], None]


@dataclass
class RunOptions:
    """How to run, beyond what the campaign file says."""

    settings: ExotelSettings
    # campaigner's own settings (heartbeat secret and interval); None: read them from
    # the environment / .env when the run starts
    campaigner: CampaignerSettings | None = None
    transport: httpx.AsyncBaseTransport | None = None  # the simulator's, in-process
    serve_callbacks: bool = True  # False: no socket (in-process callbacks)
    public_url: str | None = None  # overrides callbacks.public_url (sandbox, tests)
    extra_services: ExtraServices | None = None
    handle_signals: bool = True
    grace: float = 60.0  # after the first Ctrl-C, keep tracking calls this long
    record_wait: float = 300.0  # at the end, wait this long for late-finished records
    # Exotel client timeout, in trio seconds: a run under a scaled clock (the scale bench,
    # the chaos tests) gives the other process as many real seconds as usual
    client_timeout: float = 15.0
    sandbox: bool = False
    progress: Callable[[RunContext], Awaitable[None]] | None = None
    on_ready: Callable[[RunContext], None] | None = None  # tests: inspect the wiring
    # seconds Exotel may stay out of reach before the run stops (resumable, EXIT_API)
    unreachable_timeout: float = GIVE_UP_AFTER
    # the command that resumes this run, as the operator typed it (pasteable)
    resume_hint: str = "campaigner run FILE"
    # the account's shared request budget (campaigner serve passes one for all its
    # campaigns); None: a real run shares the per-user file budget of its account
    account_budget: AccountBudget | None = None


@dataclass
class RunResult:
    """How a run ended."""

    reason: str  # complete | deadline | interrupted | paused | unreachable
    exit_code: int
    counts: dict[str, int]
    stats: RunStats
    preparation: Preparation
    messages: list[str] = field(default_factory=list)


async def run_campaign(
    loaded: LoadedCampaign,
    options: RunOptions,
    *,
    clock: TrioWallClock | None = None,
    report: Reporter = print,
) -> RunResult:
    """Run (or resume) ``loaded`` until every contact is final, the deadline, or a stop."""
    clock = clock or TrioWallClock()
    own = options.campaigner or load_campaigner_settings()
    # One runner per (account, campaign name), whatever the file's `state` (sandbox runs
    # dial nobody and take none): campaigner.store.locks.
    runner = (
        None
        if options.sandbox
        else RunnerKey(options.settings.account_sid or "", loaded.campaign.name)
    )
    journal = Journal.open(loaded.journal_path, runner=runner)
    try:
        # Sandbox runs keep their own shared state: simulated DND answers and calls must
        # never decide who a real run may call.
        shared_file = SANDBOX_SHARED_FILE if options.sandbox else SHARED_FILE
        with SharedState.open(
            loaded.state_dir, now=clock.now().timestamp(), file=shared_file
        ) as shared:
            return await _run(loaded, options, own, clock, journal, shared, report)
    finally:
        journal.close()


async def _run(
    loaded: LoadedCampaign,
    options: RunOptions,
    own: CampaignerSettings,
    clock: TrioWallClock,
    journal: Journal,
    shared: SharedState,
    report: Reporter,
) -> RunResult:
    campaign = loaded.campaign
    prep = prepare_journal(journal, loaded, clock.now().timestamp(), sandbox=options.sandbox)
    for line in prep.summary():
        report(line)
    run_id = journal.begin_run(clock.now().timestamp(), loaded.sha256, __version__, options.sandbox)
    journal.set_meta("account_sid", options.settings.account_sid or "")
    stats = RunStats(contacts=loaded.contact_count)
    stats.outcomes.update(
        {k: v for k, v in journal.counts().items() if k not in ("ready", "active")}
    )
    public = options.public_url or campaign.callbacks.public_url
    # a new callback token for every run (older ones stay valid for their own open calls)
    token = CallbackTokens.rotate(journal, clock.now().timestamp()).current
    status_url = callback_url(public, token, campaign.api) if public else None
    # Said once: the loader's warning about it is shown when the file is read.
    warned = any("public_url" in w.message for w in loaded.warnings)
    if status_url is None and not warned:
        report("no callbacks.public_url: calls are tracked by polling only")
    reason = "failed"
    paused: str | None = None
    interrupted = trio.Event()
    outage = Outage(give_up_after=options.unreachable_timeout)

    def answered(purpose: str, status: int, code: str | None) -> None:
        at = clock.now().timestamp()
        journal.log_request(at, purpose, status, code)
        since = outage.reached()  # any answer at all: Exotel is reachable
        if since is not None:
            message = f"Exotel answers again after {trio.current_time() - since:.0f} s"
            journal.log(at, "reachable", message)
            log.info(message)

    try:
        budget = options.account_budget
        if budget is None and not options.sandbox:
            budget = FileBudget.for_account(options.settings, lambda: clock.now().timestamp())
        # The client outlives the run's services: none can send on a closed client.
        async with (
            open_exotel(
                options.settings,
                campaign.pacing.requests_per_minute,
                account=budget,
                on_request=answered,
                transport=options.transport,
                client_timeout=options.client_timeout,
            ) as exotel,
            trio.open_nursery() as nursery,
        ):
            ctx = RunContext(
                loaded=loaded,
                journal=journal,
                client=exotel.client,
                gate=exotel.gate,
                limiter=exotel.limiter,
                clock=clock,
                schedule=CallingSchedule(campaign.schedule),
                registry=CallRegistry(),
                slots=Slots(campaign.pacing.max_concurrent_calls),
                agents=AgentPool(loaded.agents) if loaded.agents else None,
                caller_ids=CallerIds(loaded.caller_ids),
                stats=stats,
                shared=shared,
                screening=ScreeningGate(required=campaign.screening.dnd != "call"),
                breaker=_breaker(campaign.health.circuit_breaker),
                outage=outage,
            )
            reason = await _serve(ctx, nursery, options, own, prep, status_url, report, interrupted)
            paused = ctx.paused
            nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise unwrap(group) from None
    finally:
        if interrupted.is_set():
            reason = "interrupted"
        journal.end_run(run_id, clock.now().timestamp(), reason)
    counts = journal.counts()
    codes = {"interrupted": EXIT_INTERRUPTED, "paused": EXIT_PAUSED, "unreachable": EXIT_API}
    messages = [paused] if paused is not None and reason in ("paused", "unreachable") else []
    return RunResult(reason, codes.get(reason, EXIT_OK), counts, stats, prep, messages)


def _breaker(config: BreakerConfig | None) -> CircuitBreaker | None:
    return CircuitBreaker(config) if config is not None else None


async def _serve(
    ctx: RunContext,
    nursery: trio.Nursery,
    options: RunOptions,
    own: CampaignerSettings,
    prep: Preparation,
    status_url: str | None,
    report: Reporter,
    interrupted: trio.Event,
) -> str:
    tracker = Tracker(_tracker_deps(ctx))
    recovered = _recover(ctx, tracker)
    if recovered:
        report(f"{recovered} calls from the last run are still being followed")
    health = HealthMonitor(
        ctx,
        account=options.settings.account_sid or "",
        heartbeat_interval=own.heartbeat_interval * 60.0,
    )
    secret = own.heartbeat_token.get_secret_value() if own.heartbeat_token else None
    _say_heartbeats(secret, status_url, report)
    app = guarded_receiver(
        ctx,
        tracker,
        nursery,
        heartbeat_token=secret,
        on_heartbeat=health.on_heartbeat if secret else None,
    )
    shutdown = trio.Event()
    if options.serve_callbacks and status_url is not None:
        try:
            bound = await nursery.start(
                lambda task_status: serve_receiver(
                    app,
                    ctx.loaded.campaign.callbacks.listen,
                    shutdown=shutdown,
                    task_status=task_status,
                )
            )
        except OSError as exc:  # taken since the preflight looked
            raise listen_error(ctx.loaded, exc) from None
        report(f"listening for callbacks on {bound}")
    if options.extra_services is not None:
        await options.extra_services(nursery, app)
    if options.handle_signals:
        await nursery.start(
            _watch_signals, ctx, interrupted, options.grace, nursery, report, options.resume_hint
        )
    await nursery.start(Poller(_poller_deps(ctx), tracker).run)
    await nursery.start(Reconciler(_reconciler_deps(ctx), tracker).run)
    if ctx.screening.required:
        await nursery.start(Screener(_screener_deps(ctx)).run)
    await nursery.start(health.run)  # returns once the caller IDs to dial with are checked
    ctx.journal.log(ctx.now(), "run_started", "run started", resumed=prep.resumed)
    if options.progress is not None:
        nursery.start_soon(options.progress, ctx)
    if options.on_ready is not None:
        options.on_ready(ctx)
    nursery.start_soon(_watch_outage, ctx, tracker)
    await nursery.start(Dialer(ctx, tracker, status_url).run)
    await _until_finished(ctx, tracker, 0.0 if interrupted.is_set() else options.record_wait)
    shutdown.set()
    if interrupted.is_set():
        return "interrupted"
    if ctx.outage.gave_up:
        return "unreachable"
    if ctx.paused is not None:
        report(
            f"paused: {ctx.paused}. Fix the cause, then `{options.resume_hint}` resumes "
            "(the breaker's window starts empty)"
        )
        return "paused"
    if ctx.schedule.next_open(ctx.clock.now()) is None:
        expired = ctx.journal.expire_ready(ctx.now(), "deadline reached")
        ctx.stats.outcomes["expired"] += expired
        return "deadline"
    return "complete"


def _tracker_deps(ctx: RunContext) -> TrackerDeps:
    return TrackerDeps(
        campaign=ctx.loaded.campaign,
        journal=ctx.journal,
        clock=ctx.clock,
        registry=ctx.registry,
        slots=ctx.slots,
        agents=ctx.agents,
        durations=ctx.durations,
        stats=ctx.stats,
        wake_dialer=ctx.wake_dialer,
        call_finished=ctx.call_finished,
        note=ctx.note,
        now=ctx.now,
    )


def _poller_deps(ctx: RunContext) -> PollerDeps:
    campaign = ctx.loaded.campaign
    return PollerDeps(
        tracking=campaign.tracking,
        api=campaign.api,
        client=ctx.client,
        journal=ctx.journal,
        registry=ctx.registry,
        slots=ctx.slots,
        agents=ctx.agents,
        durations=ctx.durations,
        stats=ctx.stats,
        outage=ctx.outage,
        dialing_done=ctx.dialing_done,
        now=ctx.now,
    )


def _reconciler_deps(ctx: RunContext) -> ReconcilerDeps:
    return ReconcilerDeps(
        campaign=ctx.loaded.campaign,
        client=ctx.client,
        journal=ctx.journal,
        registry=ctx.registry,
        slots=ctx.slots,
        agents=ctx.agents,
        shared=ctx.shared,
        history_key=ctx.history_key,
        stats=ctx.stats,
        wake_dialer=ctx.wake_dialer,
        note=ctx.note,
        now=ctx.now,
    )


def _screener_deps(ctx: RunContext) -> ScreenerDeps:
    return ScreenerDeps(
        campaign=ctx.loaded.campaign,
        client=ctx.client,
        journal=ctx.journal,
        shared=ctx.shared,
        screening=ctx.screening,
        stop_dialing=ctx.stop_dialing,
        outage=ctx.outage,
        stats=ctx.stats,
        note=ctx.note,
        now=ctx.now,
    )


def _say_heartbeats(secret: str | None, status_url: str | None, report: Reporter) -> None:
    if secret is None:
        report(
            "heartbeats disabled (CAMPAIGNER_HEARTBEAT_TOKEN is not set): caller ID health "
            "comes from v2 ExoPhone details (docs/health.md)"
        )
    elif status_url is None:
        report("no callbacks.public_url: Exotel cannot deliver heartbeats to this run")


def _recover(ctx: RunContext, tracker: Tracker) -> int:
    """Rebuild open calls from the journal; an intent without a SID may have been sent."""
    for row in ctx.journal.open_calls():
        contact = ctx.journal.contact(row.contact_id)
        state = "placed" if row.sid else "ambiguous"
        if row.state == "intent":
            ctx.journal.call_ambiguous(row.id, 0, "the run stopped before the answer", ctx.now())
        call = OpenCall(
            call_id=row.id,
            contact_id=row.contact_id,
            phone=contact.phone,
            attempt=row.attempt,
            first_leg=row.agent or contact.phone,
            caller_id=row.caller_id,
            agent=row.agent,
            state=state,
            intent_at=row.intent_at,
            intent_trio=ctx.clock.trio_at_epoch(row.intent_at),
            sid=row.sid,
            placed_trio=(
                ctx.clock.trio_at_epoch(row.placed_at) if row.placed_at is not None else None
            ),
            answered=row.answered,
        )
        ctx.registry.add(call)
        ctx.slots.occupy()
        if row.agent and ctx.agents is not None:
            ctx.agents.occupy(row.agent)
    for row in ctx.journal.incomplete_records():
        if row.sid:
            tracker.track_record(row.id, row.sid)
    tracker.recover_prices()  # v1 calls an earlier run closed without their price
    return len(ctx.registry)


async def _watch_outage(ctx: RunContext, tracker: Tracker) -> None:
    """Stop the run once Exotel has been out of reach too long, even while nothing dials.

    The dialer checks this itself when it dials; this covers a dialer that is idle
    (waiting for an agent, a retry, calls in flight) while only polls find Exotel gone.
    """
    outage = ctx.outage
    while not outage.gave_up:
        now = trio.current_time()
        if outage.give_up_now(now):
            ctx.pause("unreachable_stop", outage.message())
            tracker.changed.set()  # the run stops waiting for calls in flight
            return
        wake = now + 30.0
        if outage.since is not None:
            wake = min(wake, outage.since + outage.give_up_after)
        await trio.sleep_until(wake)


async def _until_finished(ctx: RunContext, tracker: Tracker, record_wait: float) -> None:
    """Until every call in flight has an outcome and late records arrived (bounded).

    After giving up on an unreachable Exotel, calls in flight cannot be observed: the
    run ends without them, and the next run follows them from the journal.
    """
    await ctx.dialing_done.wait()
    while len(ctx.registry) and not ctx.outage.gave_up:
        await tracker.changed.wait_until(trio.current_time() + 60)
    if ctx.outage.gave_up:
        return
    deadline = trio.current_time() + record_wait
    # late records and v1 prices (the poller's last price sweep), for record_wait at most
    while (tracker.incomplete or tracker.unpriced) and trio.current_time() < deadline:
        await tracker.changed.wait_until(min(deadline, trio.current_time() + 60))


async def _watch_signals(
    ctx: RunContext,
    interrupted: trio.Event,
    grace: float,
    nursery: trio.Nursery,
    report: Reporter,
    resume_hint: str,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Ctrl-C (or SIGTERM) once: stop dialing, follow calls in flight for ``grace``; twice: stop.

    Either way the run ends "interrupted" and is resumable: nothing is lost, since
    every change was journaled before it was acted upon.
    """
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for _ in signals:
            if interrupted.is_set():
                report(f"stopping now; `{resume_hint}` resumes where this left off")
                nursery.cancel_scope.cancel()
                return
            interrupted.set()
            ctx.stop_dialing.set()
            ctx.wake_dialer.set()
            report(
                f"stopping: no new calls; following {len(ctx.registry)} calls in flight for up "
                f"to {grace:.0f}s (Ctrl-C again to stop now; `{resume_hint}` resumes)"
            )
            ctx.note("interrupted", "operator asked to stop")
            nursery.start_soon(_cancel_after, nursery.cancel_scope, grace)


async def _cancel_after(scope: trio.CancelScope, seconds: float) -> None:
    await trio.sleep(seconds)
    scope.cancel()
