"""The safety net: poll calls whose terminal callback has not come, and give up in time.

When: a call is polled once it is older than ``tracking.poll_after`` and then every
``tracking.poll_interval`` until Exotel says it is over. v1 polls in rounds, one
round per ``poll_interval``, with every due call in bulk call details requests of up
to 100 SIDs (exotel-api.md: one bulk GET resolves up to 100 calls for the cost of
one request). v3 has no bulk listing, so each poll costs a request per call, and
a v3 call stays ``active`` while Exotel processes it after it ends (002: "active:
call is not yet over OR post call processing data is yet to be processed"; about
two minutes, exotel-api.md). So a v3 call is first polled once it is older than
the 95th percentile of call durations this run has seen in callbacks plus that
processing time (a call that old has ended, been processed, and lost its
callback), and never before ``poll_after``.

Give up: a call still unresolved ``tracking.give_up_after`` after placement is
``unknown``. Late records: a call that ended ``connected`` before Exotel finished
its record (epoch-zero ``EndTime``) is polled until its talk time is final, for at
most ``RECORD_WAIT``.
"""

from __future__ import annotations

import logging
import math

import trio

from campaigner.engine.context import RunContext
from campaigner.engine.registry import OpenCall
from campaigner.engine.tracker import Tracker
from campaigner.errors import AuthError, ExotelError

log = logging.getLogger("campaigner.poller")

BULK_MAX = 100  # v1 bulk call details: at most 100 SIDs per request (001 page)
RECORD_WAIT = 600.0  # seconds to keep asking for a late-finished record
GRANULARITY = 1.0  # the poller wakes at most once a second (it scans every open call)
V3_PROCESSING = 120.0  # seconds a v3 call stays "active" after it ends (about two minutes)
V3_PARALLEL = 8


class Poller:
    """The polling service of a run."""

    def __init__(self, ctx: RunContext, tracker: Tracker) -> None:
        self.ctx = ctx
        self.tracker = tracker
        tracking = ctx.loaded.campaign.tracking
        self.poll_after = tracking.poll_after.total_seconds()
        self.interval = max(tracking.poll_interval.total_seconds(), 1.0)
        self.give_up_after = tracking.give_up_after.total_seconds()
        self.rounds = ctx.loaded.campaign.api == "v1"
        self._last_round = -math.inf

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Poll, give up, finish late records; forever (until the run is cancelled)."""
        task_status.started()
        while True:
            now = trio.current_time()
            self._give_up_overdue(now)
            due = self._due(now)
            if due:
                if self.rounds:
                    self._last_round = now
                await self._poll(due, now)
                continue
            # No need to wake on every change: a new call is due poll_after later at the
            # earliest, and a call that ended just leaves the scan empty-handed.
            wake = min(self._next_time(now), now + self.interval)
            await trio.sleep_until(max(wake, now + GRANULARITY))

    # -- when -------------------------------------------------------------------------

    # Due-ness is always "a computed instant <= now", the same instants the poller
    # sleeps until: comparing differences instead can disagree by a rounding error
    # and leave a call that is never quite due.

    def _first_delay(self) -> float:
        if self.rounds:
            return self.poll_after
        p95 = self.ctx.durations.p95()
        return self.poll_after if p95 is None else max(self.poll_after, p95 + V3_PROCESSING)

    def _call_time(self, call: OpenCall) -> float:
        assert call.placed_trio is not None
        first = call.placed_trio + self._first_delay()
        if self.rounds:
            return max(first, self._last_round + self.interval)
        if call.last_poll_trio is None:
            return first
        return max(first, call.last_poll_trio + self.interval)

    def _record_time(self, last: float) -> float:
        if self.rounds:
            return max(last, self._last_round) + self.interval
        return last + self.interval

    def _polled_calls(self) -> list[OpenCall]:
        return [
            c
            for c in self.ctx.registry
            if c.state == "placed" and c.sid is not None and c.placed_trio is not None
        ]

    def _due(self, now: float) -> list[tuple[int, str]]:
        due = [(c.call_id, c.sid) for c in self._polled_calls() if self._call_time(c) <= now]
        for call_id, (sid, since, last) in list(self.tracker.incomplete.items()):
            if since + RECORD_WAIT < now:
                del self.tracker.incomplete[call_id]
            elif self._record_time(last) <= now:
                due.append((call_id, sid))
        return [(cid, sid) for cid, sid in due if sid is not None]

    def _next_time(self, now: float) -> float:
        calls = self._polled_calls()
        times = [self._call_time(c) for c in calls]
        times += [c.placed_trio + self.give_up_after for c in calls if c.placed_trio is not None]
        times += [self._record_time(last) for _, _, last in self.tracker.incomplete.values()]
        return min(times, default=now + 3600.0)

    def _give_up_overdue(self, now: float) -> None:
        for call in self._polled_calls():
            assert call.placed_trio is not None
            if call.placed_trio + self.give_up_after <= now:
                self.tracker.give_up(call, "no final status within tracking.give_up_after")

    # -- how --------------------------------------------------------------------------

    async def _poll(self, due: list[tuple[int, str]], now: float) -> None:
        for call_id, _ in due:
            if call_id in self.tracker.incomplete:
                self.tracker.note_record_poll(call_id, now)
            elif (call := self.ctx.registry.get(call_id)) is not None:
                call.last_poll_trio = now
        self.ctx.journal.note_poll([cid for cid, _ in due], self.ctx.now())
        self.ctx.stats.polled += len(due)
        sids = [sid for _, sid in due]
        if self.rounds:
            for i in range(0, len(sids), BULK_MAX):
                await self._bulk(sids[i : i + BULK_MAX])
        else:
            limit = trio.CapacityLimiter(V3_PARALLEL)
            async with trio.open_nursery() as nursery:
                for sid in sids:
                    nursery.start_soon(self._one, sid, limit)

    async def _bulk(self, sids: list[str]) -> None:
        try:
            found = await self.ctx.client.bulk_call_details(sids=sids, purpose="poll")
        except AuthError:
            raise
        except ExotelError as exc:
            self.ctx.stats.api_errors[f"poll {exc.status or 'network'}"] += 1
            log.warning("polling %d calls failed, will retry: %s", len(sids), exc)
            return
        # exotel-api.md: bulk never returns ongoing calls; a missing SID is still running.
        for obs in found:
            self.tracker.observe(obs)

    async def _one(self, sid: str, limit: trio.CapacityLimiter) -> None:
        async with limit:
            try:
                obs = await self.ctx.client.call_details(sid, api="v3")
            except AuthError:
                raise
            except ExotelError as exc:
                self.ctx.stats.api_errors[f"poll {exc.status or 'network'}"] += 1
                log.warning("polling %s failed, will retry: %s", sid, exc)
                return
        self.tracker.observe(obs)
