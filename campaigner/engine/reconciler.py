"""Lost answers: did a connect POST whose answer never came create a call?

Such a POST (timeout, reset, 5xx after sending, or a run killed mid-request) may
or may not have created a call, so its contact must not be dialed again until we
know. The reconciler asks v1 bulk call details for calls to (agent first) or from
(contact first) the contact's number created around the attempt (exotel-api.md:
``To``/``From`` and ``DateCreated`` filters). A call found that no other attempt of
ours owns is adopted and tracked. Bulk listings omit ongoing calls, so "not
found" proves nothing until the call could no longer be running: only then is the
contact put back, without spending an attempt.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import trio

from campaigner.domain import CallObservation
from campaigner.engine.context import RunContext
from campaigner.engine.registry import OpenCall
from campaigner.engine.tracker import Tracker
from campaigner.errors import AuthError, ExotelError
from campaigner.phones import normalise
from campaigner.store.journal import ContactUpdate

log = logging.getLogger("campaigner.reconciler")


class Reconciler:
    """The reconciliation service of a run."""

    def __init__(self, ctx: RunContext, tracker: Tracker) -> None:
        self.ctx = ctx
        self.tracker = tracker
        tracking = ctx.loaded.campaign.tracking
        self.first_delay = min(tracking.poll_after.total_seconds(), 60.0)
        self.interval = max(tracking.poll_interval.total_seconds(), 1.0)
        self.give_up_after = tracking.give_up_after.total_seconds()
        self.contact_is_to = ctx.loaded.campaign.dial.mode == "agent_first"
        self._last_try: dict[int, float] = {}

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Reconcile every ambiguous call as its time comes; forever."""
        task_status.started()
        while True:
            now = trio.current_time()
            for call in self.ctx.registry.ambiguous():
                if self._time(call) <= now:
                    self._last_try[call.call_id] = now
                    await self._reconcile(call)
            times = [self._time(c) for c in self.ctx.registry.ambiguous()]
            await self.tracker.changed.wait_until(min(times, default=now + 3600.0))

    def _time(self, call: OpenCall) -> float:
        first = call.intent_trio + self.first_delay
        previous = self._last_try.get(call.call_id)
        return first if previous is None else max(first, previous + self.interval)

    def max_span(self) -> float:
        """How long a call created by a lost POST could possibly still be running."""
        call = self.ctx.loaded.campaign.call
        ring = call.ring_timeout or 60
        limit = call.time_limit or 14400
        return min(2 * ring + limit + 600, self.give_up_after)

    async def _reconcile(self, call: OpenCall) -> None:
        ctx = self.ctx
        start = datetime.fromtimestamp(call.intent_at, UTC) - timedelta(minutes=2)
        end = ctx.clock.now() + timedelta(minutes=1)
        try:
            found = await ctx.client.bulk_call_details(
                to=[call.phone] if self.contact_is_to else [],
                from_=[] if self.contact_is_to else [call.phone],
                date_created=(start, end),
                sort_ascending=True,
                purpose="reconcile",
            )
        except AuthError:
            raise
        except ExotelError as exc:
            log.warning("reconciling %s failed, will retry: %s", call.phone, exc)
            return
        known = ctx.journal.known_sids(o.sid for o in found)
        for obs in found:
            if obs.sid not in known and self._same_contact(call, obs):
                self.tracker.adopt(call, obs)
                self._last_try.pop(call.call_id, None)
                return
        if call.intent_trio + self.max_span() <= trio.current_time():
            self._prove_absent(call)

    def _same_contact(self, call: OpenCall, obs: CallObservation) -> bool:
        number = obs.to_number if self.contact_is_to else obs.from_number
        try:
            return number is not None and normalise(number) == call.phone
        except ValueError:
            return False

    def _prove_absent(self, call: OpenCall) -> None:
        """The lost POST created no call: put the contact back without spending an attempt."""
        ctx = self.ctx
        contact = ctx.journal.contact(call.contact_id)
        ctx.journal.call_not_placed(
            call.call_id,
            error_status=0,
            error_code=None,
            error_message="answer lost; no such call found by reconciliation",
            outcome=None,
            contact_update=ContactUpdate(
                contact.id, contact.attempts, contact.agent_failures, next_at=ctx.now()
            ),
            at=ctx.now(),
        )
        ctx.shared.release_call(call.phone, call.intent_at, ctx.history_key)
        ctx.registry.remove(call)
        ctx.slots.release()
        if call.agent and ctx.agents is not None:
            ctx.agents.release(call.agent)
        self._last_try.pop(call.call_id, None)
        ctx.stats.proven_absent += 1
        ctx.note(
            "proven_absent",
            f"no call was created for {call.phone}; it will be dialed",
            call_id=call.call_id,
        )
        ctx.wake_dialer.set()
