"""The safety net: poll calls whose terminal callback has not come, and give up in time.

When: a call is first polled ``tracking.poll_after`` after it was placed (a v3 call may
be left longer while dialing needs the request budget more, below), then every
``tracking.poll_interval`` until its outcome is known; at ``tracking.give_up_after`` it
gets one last poll, and only if that cannot tell either is it ``unknown``. So no call is
given up unpolled.

How, v1: calls that may still be running are polled in rounds, one per
``poll_interval``, in bulk call details requests of up to 100 SIDs (docs/exotel/: one
bulk GET resolves up to 100 calls for the cost of one request; it never lists an
ongoing call, so a SID it omits is still running). A listed call is over, but the bulk
record has neither leg statuses nor conversation time, and Exotel finishes it late
(``Status: completed`` with an epoch-zero ``EndTime`` whatever really happened, for
about two minutes). So the call's agent and slot are given back at once, and the call's
own details (``details=true``: ``Leg1Status``, ``Leg2Status``, ``ConversationDuration``)
are read once the record is finished: one request per call that polling must decide.

How, v3: there is no bulk listing, and ``call_details`` stays ``active`` until Exotel has
processed the call, about two minutes after it ends (the v3 page: "active: call is not
yet over OR post call processing data is yet to be processed"). The legs endpoint tells
sooner: once no leg is ``in-progress`` the call is over, so its agent and slot are given
back and its details are asked for when processing should be done. Each v3 poll costs a
request per call, so ``poll_after`` is kept to the letter when it buys something: while
dialing waits for an agent or a slot (the ended call's agent is what the next dial
needs), or before this run has learnt from callbacks how long its calls last. Otherwise
a call is first asked for its details once it is older than the 95th percentile of call
durations plus the processing time (it has ended, been processed, and lost its
callback), so calls still talking are not polled with the budget dialing spends.

Late records: a call that ended ``connected`` before Exotel finished its record is
polled until its talk time is final, for at most ``RECORD_WAIT``.

Prices, v1: Exotel prices a record when it finishes it, and callbacks carry no price, so a
call that ended without one (decided by its callback, or from an unfinished record) is
queued by the tracker, due ``PROCESSING`` after it ended. Due prices ride along in the v1
bulk rounds above when a round has room (free), else one bulk request of their own asks for
up to 100 once 100 are due or the oldest has waited ``PRICE_WAIT``, and once the run is
otherwise done it asks for the rest when the last is due (the run waits a bounded time,
``record_wait``, for them). A
record still unfinished is asked again ``PRICE_RETRY`` later, ``PRICE_TRIES`` times at most.
Every request goes through the limiter like any poll.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import trio

from campaigner.campaign.model import Tracking
from campaigner.domain import ApiVersion, CallObservation, LegState
from campaigner.engine.context import Durations, Now, RunStats
from campaigner.engine.open_calls import AgentPool, CallRegistry, OpenCall, Slots
from campaigner.engine.outage import Outage
from campaigner.engine.tracker import PROCESSING, RECORD_WAIT, Tracker, Unpriced
from campaigner.errors import AuthError, ExotelError, TransportError
from campaigner.exotel.client import ExotelClient
from campaigner.exotel.registry import api_version
from campaigner.store.journal import Journal

log = logging.getLogger("campaigner.poller")

BULK_MAX = 100  # v1 bulk call details: at most 100 SIDs per request (the bulk page)
GRANULARITY = 1.0  # the poller wakes at most once a second (it scans every open call)
PARALLEL = 8  # single-call requests in flight at once
RESCAN = 5.0  # seconds between scans when nothing is due sooner
PRICE_WAIT = 600.0  # the oldest due price waits this long for a round with room to ride
PRICE_RETRY = 60.0  # a record still unfinished (unpriced) is asked for again this much later
_RUNNING = frozenset({None, "", "in-progress", "ringing", "queued"})
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Poll:
    """One call to poll now: how, and whether it is the last poll before giving up."""

    call_id: int
    sid: str
    how: str  # bulk | details | legs | probe (v3: details, then legs if still active)
    last: bool = False


@dataclass(frozen=True, slots=True)
class PollerDeps:
    """What the poller uses of the run (``engine/run.py`` wires it from the run's parts).

    It reads slots and agents only to know whether dialing waits on calls in flight,
    and ``dialing_done`` to know when only prices are left to wait for.
    """

    tracking: Tracking
    api: ApiVersion
    client: ExotelClient
    journal: Journal
    registry: CallRegistry
    slots: Slots
    agents: AgentPool | None
    durations: Durations
    stats: RunStats
    outage: Outage
    dialing_done: trio.Event
    now: Now


class Poller:
    """The polling service of a run."""

    def __init__(self, deps: PollerDeps, tracker: Tracker) -> None:
        self.deps = deps
        self.tracker = tracker
        tracking = deps.tracking
        self.poll_after = tracking.poll_after.total_seconds()
        self.interval = max(tracking.poll_interval.total_seconds(), 1.0)
        self.give_up_after = tracking.give_up_after.total_seconds()
        self.api = deps.api
        self.rounds = api_version(self.api).polling == "bulk_rounds"
        self._last_round = -math.inf
        self._waited_on = False
        self._done_at: float | None = None  # when the run was first seen otherwise done

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Poll, give up, finish late records; forever (until the run is cancelled)."""
        task_status.started()
        while True:
            now = trio.current_time()
            self._waited_on = self._dialing_waits()
            self._give_up_settled(now)
            if self._done_at is None and self._otherwise_done():
                self._done_at = now
            due = self._due(now)
            if due:
                await self._poll(due, now)
                continue
            if self._sweep_time() <= now:
                await self._sweep_prices(self._prices_due(now)[:BULK_MAX], now)
                continue
            # No need to wake on every change: a new call is due poll_after later at the
            # earliest, and a call that ended just leaves the scan empty-handed.
            # Waking every RESCAN also notices soon when dialing starts waiting on calls.
            wake = min(self._next_time(now), self._sweep_time(), now + min(self.interval, RESCAN))
            await trio.sleep_until(max(wake, now + GRANULARITY))

    # -- when -------------------------------------------------------------------------

    # Due-ness is always "a computed instant <= now", the same instants the poller
    # sleeps until: comparing differences instead can disagree by a rounding error
    # and leave a call that is never quite due.

    def _call_time(self, call: OpenCall) -> float:
        assert call.placed_trio is not None
        if call.details_at is not None:
            return call.details_at
        first = call.placed_trio + self.poll_after
        if self.rounds:
            return max(first, self._last_round + self.interval)
        p95 = self.deps.durations.p95()
        if p95 is not None and not self._waited_on:
            # Each v3 poll is a request of the budget dialing spends, and no dial waits for
            # the agent or slot a poll could free: a call is first asked for its details
            # once it has probably ended and been processed (it lost its callback), not
            # while it probably still talks.
            first = max(first, call.placed_trio + p95 + PROCESSING)
        if call.last_poll_trio is None:
            return first
        return max(first, call.last_poll_trio + self.interval)

    def _dialing_waits(self) -> bool:
        """Is dialing held up by calls in flight (it waits for an agent, or a slot)? Then
        polling at ``poll_after`` finds ended calls, and frees what the next dial needs."""
        agents = self.deps.agents
        return self.deps.slots.waited_on() or (agents is not None and agents.waited_on())

    def _give_up_time(self, call: OpenCall) -> float:
        assert call.placed_trio is not None
        return call.placed_trio + self.give_up_after

    def _record_time(self, last: float) -> float:
        return last + self.interval

    def _polled_calls(self) -> list[OpenCall]:
        return [
            c
            for c in self.deps.registry
            if c.state == "placed" and c.sid is not None and c.placed_trio is not None
        ]

    def _how(self, call: OpenCall, now: float) -> str:
        if call.details_at is not None:
            return "details"
        if self.rounds:
            return "bulk"
        assert call.placed_trio is not None
        p95 = self.deps.durations.p95()
        processed = p95 is not None and call.placed_trio + p95 + PROCESSING <= now
        return "probe" if processed else "legs"

    def _due(self, now: float) -> list[_Poll]:
        due = []
        for call in self._polled_calls():
            assert call.sid is not None
            if not call.settled and self._give_up_time(call) <= now:
                due.append(_Poll(call.call_id, call.sid, "details", last=True))
            elif self._call_time(call) <= now:
                due.append(_Poll(call.call_id, call.sid, self._how(call, now)))
        for call_id, (sid, since, last) in list(self.tracker.incomplete.items()):
            if since + RECORD_WAIT < now:
                del self.tracker.incomplete[call_id]
            elif self._record_time(last) <= now:
                # Details, in both APIs: only they carry the conversation time.
                due.append(_Poll(call_id, sid, "details"))
        return due

    def _next_time(self, now: float) -> float:
        times = []
        for call in self._polled_calls():
            times.append(self._call_time(call))
            if not call.settled:
                times.append(self._give_up_time(call))
        times += [self._record_time(last) for _, _, last in self.tracker.incomplete.values()]
        return min(times, default=now + 3600.0)

    def _sweepable(self) -> list[tuple[int, Unpriced]]:
        """Queued prices, soonest due first; not a connected call whose late record is
        still polled (its details bring the price)."""
        incomplete = self.tracker.incomplete
        queued = [(cid, e) for cid, e in self.tracker.unpriced.items() if cid not in incomplete]
        return sorted(queued, key=lambda item: item[1].due)

    def _prices_due(self, now: float) -> list[tuple[int, str]]:
        queued = self._sweepable()
        if self._done_at is not None and self._sweep_time() <= now:
            return [(cid, e.sid) for cid, e in queued]  # the last sweeps: all of them at once
        return [(cid, e.sid) for cid, e in queued if e.due <= now]

    def _otherwise_done(self) -> bool:
        """Nothing left to dial or follow: only prices (and late records) are waited for."""
        return self.deps.dialing_done.is_set() and not len(self.deps.registry)

    def _sweep_time(self) -> float:
        """When due prices are worth a bulk request of their own: 100 due, or the oldest due
        for ``PRICE_WAIT``. Once the run is otherwise done: when the last is due, one request
        for all rather than one per call as each comes due (a price not asked for yet is
        waited for no longer than ``tracking.give_up_after`` from then: a campaign that
        follows a call for less than Exotel takes to price it does not hold its end for
        prices either; one asked for again, no longer than ``PRICE_RETRY``)."""
        queued = self._sweepable()
        dues = [e.due for _, e in queued]
        if not dues:
            return math.inf
        if self._done_at is not None:
            fresh = [e.due for _, e in queued if not e.tries]
            again = [e.due for _, e in queued if e.tries]
            first = min(max(fresh), self._done_at + self.give_up_after) if fresh else -math.inf
            return max(first, max(again, default=-math.inf))
        if len(dues) >= BULK_MAX:
            return min(dues[0] + PRICE_WAIT, dues[BULK_MAX - 1])
        return dues[0] + PRICE_WAIT

    async def _sweep_prices(self, prices: list[tuple[int, str]], now: float) -> None:
        if not prices:
            return  # never a bulk request without SIDs: that would list the whole account
        await self._bulk([sid for _, sid in prices])
        self._missed(prices, now)

    def _missed(self, prices: list[tuple[int, str]], now: float) -> None:
        """Prices asked for that the answer did not bring are asked again later (bounded)."""
        for call_id, _ in prices:
            self.tracker.price_missed(call_id, now + PRICE_RETRY)

    def _give_up_settled(self, now: float) -> None:
        """Calls past ``give_up_after`` whose last poll could not tell are ``unknown``."""
        for call in self._polled_calls():
            if call.settled and self._give_up_time(call) <= now:
                self.tracker.give_up(call, "no final status within tracking.give_up_after")

    # -- how --------------------------------------------------------------------------

    async def _poll(self, due: list[_Poll], now: float) -> None:
        for poll in due:
            if poll.call_id in self.tracker.incomplete:
                self.tracker.note_record_poll(poll.call_id, now)
            elif (call := self.deps.registry.get(poll.call_id)) is not None:
                call.last_poll_trio = now
                call.settled = call.settled or poll.last
                if call.details_at is not None:
                    call.details_at = now + self.interval  # again then, unless decided
        self.deps.journal.note_poll([p.call_id for p in due], self.deps.now())
        self.deps.stats.polled += len(due)
        bulk = [p.sid for p in due if p.how == "bulk"]
        riders: list[tuple[int, str]] = []
        if bulk:
            self._last_round = now
            # Due prices fill the round's last request: no request of their own.
            riders = self._prices_due(now)[: -len(bulk) % BULK_MAX]
            bulk += [sid for _, sid in riders]
        single = [p for p in due if p.how != "bulk"]
        for i in range(0, len(bulk), BULK_MAX):
            await self._bulk(bulk[i : i + BULK_MAX])
        self._missed(riders, now)
        if single:
            limit = trio.CapacityLimiter(PARALLEL)
            async with trio.open_nursery() as nursery:
                for poll in single:
                    nursery.start_soon(self._one, poll, limit)

    async def _bulk(self, sids: list[str]) -> None:
        found = await self._ask(
            f"polling {len(sids)} calls",
            lambda: self.deps.client.bulk_call_details(sids=sids, purpose="poll"),
        )
        # docs/exotel/: bulk never returns ongoing calls; a missing SID is still running.
        for obs in found or ():
            self.tracker.observe(obs)

    async def _one(self, poll: _Poll, limit: trio.CapacityLimiter) -> None:
        async with limit:
            if poll.how in ("details", "probe"):
                obs = await self._details(poll.sid)
                if obs is None:
                    return
                if obs.terminal or poll.how == "details":
                    self.tracker.observe(obs, settle=poll.last)
                    return
            legs = await self._ask(
                f"polling the legs of {poll.sid}", lambda: self.deps.client.call_legs(poll.sid)
            )
        call = self.deps.registry.by_sid(poll.sid)
        if legs is not None and call is not None and _over(legs):
            self.tracker.ended(call, ready=False)

    async def _details(self, sid: str) -> CallObservation | None:
        return await self._ask(
            f"polling {sid}", lambda: self.deps.client.call_details(sid, api=self.api)
        )

    async def _ask(self, what: str, request: Callable[[], Awaitable[T]]) -> T | None:
        """One polling request; an error is counted and logged, and polled again later."""
        try:
            return await request()
        except AuthError:
            raise
        except ExotelError as exc:
            if isinstance(exc, TransportError):  # Exotel out of reach (engine/outage.py)
                self.deps.outage.failed(trio.current_time(), exc.message)
            self.deps.stats.api_errors[f"poll {exc.status or 'network'}"] += 1
            log.warning("%s failed, will retry: %s", what, exc)
            return None


def _over(legs: tuple[LegState, LegState]) -> bool:
    """A v3 call is over once its first leg has a final status and no leg is still up.

    The first leg stays ``in-progress`` for as long as the call lasts, and a second leg
    not dialed yet is absent (``None``): neither is over.
    """
    first, second = legs
    return first.status not in _RUNNING and second.status not in ("in-progress", "ringing")
