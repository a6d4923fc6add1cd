"""Following every placed call to its outcome: callbacks first, polling as the safety net.

Observations arrive from the receiver (callbacks) and from this module's pollers;
both go through :meth:`Tracker.observe`, which journals first and acts second.
Duplicates and stale events change nothing (a terminal state is sticky); a
callback for a SID not yet known is kept and applied when its POST's answer
arrives. Calls with no terminal event after ``poll_after`` are polled (v1: bulk
call details, up to 100 SIDs a request; v3: per call); a call unresolved after
``give_up_after`` becomes ``unknown``. A POST whose answer was lost is reconciled
through v1 bulk call details before its contact may be dialed again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

import trio

from campaigner.domain import CallObservation, Outcome
from campaigner.engine.context import RunContext, Wakeup
from campaigner.engine.registry import OpenCall
from campaigner.errors import AuthError, ExotelError
from campaigner.outcomes import Verdict, verdict
from campaigner.phones import normalise
from campaigner.policy import Decision, Tally, after_call
from campaigner.store.journal import CallResult, ContactUpdate

log = logging.getLogger("campaigner.tracker")

BULK_MAX = 100  # v1 bulk call details: at most 100 SIDs per request (001 page)
EARLY_KEEP = 10_000  # callbacks kept in memory while waiting for their POST's answer
RECORD_WAIT = timedelta(minutes=10)  # how long to keep asking for a late-finished record
_RESOLVED_BY = {"callback": "callback", "bulk": "poll", "details": "poll", "legs": "poll"}


class Tracker:
    """Applies observations and runs the pollers; one per run."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.mode = ctx.loaded.campaign.dial.mode
        tracking = ctx.loaded.campaign.tracking
        self.poll_after = tracking.poll_after.total_seconds()
        self.poll_interval = max(tracking.poll_interval.total_seconds(), 1.0)
        self.give_up_after = tracking.give_up_after.total_seconds()
        self._early: OrderedDict[str, list[CallObservation]] = OrderedDict()
        self._incomplete: dict[int, tuple[str, float, float]] = {}  # call -> (sid, since, last)
        self._fatal: ExotelError | None = None
        self.changed = Wakeup()

    # -- observations -------------------------------------------------------------------

    def observe(self, obs: CallObservation, *, replay: bool = False) -> None:
        """Journal an observation, then apply it. Safe with anything, any number of times.

        ``replay`` applies a callback that was journaled earlier, while its SID was
        unknown, without journaling it again.
        """
        ctx = self.ctx
        if obs.source == "callback" and not replay:
            ctx.stats.callbacks += 1
        call = ctx.registry.by_sid(obs.sid)
        if call is None:
            if not replay:
                self._observe_unopen(obs)
            return
        if obs.terminal:
            if not replay:
                self._event(obs, call.call_id, "applied")
            if obs.source != "callback":
                ctx.stats.recovered_by_poll += 1
            self.finish(call, obs, resolved_by=_RESOLVED_BY.get(obs.source, obs.source))
        elif obs.event == "answered":
            if not replay:
                self._event(obs, call.call_id, "duplicate" if call.answered else "applied")
            if not call.answered:
                call.answered = True
                ctx.journal.mark_answered(call.call_id)
                ctx.stats.answered_by_agent += 1

    def _observe_unopen(self, obs: CallObservation) -> None:
        ctx = self.ctx
        row = ctx.journal.call_by_sid(obs.sid)
        if row is None:
            # Either early (its POST's answer is still on the way) or not ours.
            self._event(obs, None, "unmatched")
            ctx.stats.callbacks_unmatched += 1
            self._early.setdefault(obs.sid, []).append(obs)
            while len(self._early) > EARLY_KEEP:
                self._early.popitem(last=False)
            log.info("callback for a SID this run has not placed (yet): %s", obs.sid)
            return
        if obs.terminal and obs.record_complete and not row.record_complete:
            self._event(obs, row.id, "record_completed")
            self._complete_record(row.id, obs)
            return
        self._event(obs, row.id, "stale" if obs.event == "answered" else "duplicate")

    def _event(self, obs: CallObservation, call_id: int | None, effect: str) -> None:
        if obs.source not in ("callback",) and effect in ("duplicate",):
            return  # repeated poll answers are not worth a row each
        self.ctx.journal.record_event(
            at=self.ctx.now(),
            sid=obs.sid,
            call_id=call_id,
            source=obs.source,
            event=obs.event,
            status=obs.status,
            effect=effect,
            payload=obs.raw,
        )

    def placed(self, call: OpenCall, obs: CallObservation) -> None:
        """The POST was answered: remember the SID, then apply callbacks that came first."""
        ctx = self.ctx
        ctx.journal.call_placed(call.call_id, obs.sid, obs.status, ctx.now())
        ctx.registry.set_sid(call, obs.sid, trio.current_time())
        ctx.stats.calls_placed += 1
        self._replay_early(obs.sid)
        if obs.terminal:
            self.observe(obs)
        self.changed.set()

    def adopt(self, call: OpenCall, found: CallObservation) -> None:
        """Reconciliation found the call a lost answer created: track it as ours."""
        ctx = self.ctx
        ctx.journal.call_adopted(call.call_id, found.sid, ctx.now())
        ctx.registry.set_sid(call, found.sid, trio.current_time())
        ctx.stats.adopted += 1
        ctx.stats.calls_placed += 1
        ctx.note(
            "adopted",
            f"found call {found.sid} for {call.phone} after a lost answer",
            call_id=call.call_id,
            sid=found.sid,
        )
        self._replay_early(found.sid)
        self.observe(found)

    def _replay_early(self, sid: str) -> None:
        early = self._early.pop(sid, [])
        if early:
            self.ctx.journal.mark_early_events(sid)
        for obs in early:
            self.observe(obs, replay=True)

    # -- finishing ------------------------------------------------------------------------

    def finish(self, call: OpenCall, obs: CallObservation, *, resolved_by: str) -> None:
        """The call is over: record its outcome and decide the contact's fate, atomically."""
        found = verdict(obs, self.mode)
        if found is None:
            return
        complete = obs.record_complete
        result = CallResult(
            outcome=found.outcome.value,
            reason=found.reason,
            exotel_status=obs.status,
            resolved_by=resolved_by,
            at=self.ctx.now(),
            started_at=_epoch(obs.started_at),
            ended_at=_epoch(obs.ended_at) if complete else None,
            talk_time=obs.talk_time if complete else None,
            recording_url=obs.recording_url if complete else None,
            record_complete=complete,
        )
        self._close(call, found, result)
        if found.outcome is Outcome.CONNECTED and not complete and call.sid:
            now = trio.current_time()
            self._incomplete[call.call_id] = (call.sid, now, now)

    def give_up(self, call: OpenCall, why: str) -> None:
        """No final status in time: the call's outcome is unknown (never retried)."""
        result = CallResult(
            outcome=Outcome.UNKNOWN.value,
            reason=why,
            exotel_status=None,
            resolved_by="give_up",
            at=self.ctx.now(),
        )
        self._close(call, Verdict(Outcome.UNKNOWN, why), result)

    def _close(self, call: OpenCall, found: Verdict, result: CallResult) -> None:
        ctx = self.ctx
        contact = ctx.journal.contact(call.contact_id)
        decision = after_call(
            Tally(contact.attempts, contact.agent_failures),
            found.outcome,
            ctx.loaded.campaign.retry,
            ctx.clock.now(),
        )
        ctx.journal.finish_call(call.call_id, result, contact_update(contact.id, decision, found))
        ctx.registry.remove(call)
        ctx.slots.release()
        if call.agent and ctx.agents is not None:
            ctx.agents.release(call.agent, missed=found.outcome is Outcome.AGENT_UNANSWERED)
        ctx.stats.calls_finished[found.outcome.value] += 1
        if decision.final is not None:
            ctx.stats.outcomes[decision.final.value] += 1
        else:
            ctx.stats.retries_scheduled += 1
        ctx.wake_dialer.set()
        self.changed.set()

    def _complete_record(self, call_id: int, obs: CallObservation) -> None:
        self.ctx.journal.complete_record(
            call_id,
            talk_time=obs.talk_time,
            recording_url=obs.recording_url,
            ended_at=_epoch(obs.ended_at),
        )
        self._incomplete.pop(call_id, None)

    # -- polling ------------------------------------------------------------------------

    async def run_poller(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Poll overdue calls, give up on hopeless ones, finish late records; forever."""
        task_status.started()
        while True:
            self._raise_if_fatal()
            now = trio.current_time()
            self._give_up_overdue(now)
            due = self._due(now)
            if due:
                await self._poll(due)
                continue
            await self.changed.wait_until(self._next_due(now))

    def _due(self, now: float) -> list[tuple[int, str]]:
        due = []
        for call in self.ctx.registry:
            if call.state != "placed" or call.sid is None or call.placed_trio is None:
                continue
            if self._poll_time(call) <= now:
                due.append((call.call_id, call.sid))
        # Due-ness is always "a computed instant <= now", the same instants the poller
        # sleeps until: comparing differences instead can disagree by a rounding error
        # and leave a due call that never becomes due.
        for call_id, (sid, since, last) in list(self._incomplete.items()):
            if since + RECORD_WAIT.total_seconds() < now:
                self._incomplete.pop(call_id)
            elif last + self.poll_interval <= now:
                due.append((call_id, sid))
        return due

    def _poll_time(self, call: OpenCall) -> float:
        assert call.placed_trio is not None
        first = call.placed_trio + self.poll_after
        if call.last_poll_trio is None:
            return first
        return max(first, call.last_poll_trio + self.poll_interval)

    def _next_due(self, now: float) -> float:
        times = [
            self._poll_time(c) for c in self.ctx.registry if c.state == "placed" and c.placed_trio
        ]
        times += [
            c.placed_trio + self.give_up_after
            for c in self.ctx.registry
            if c.state == "placed" and c.placed_trio is not None
        ]
        times += [last + self.poll_interval for _, _, last in self._incomplete.values()]
        return min(times, default=now + 3600.0)

    def _give_up_overdue(self, now: float) -> None:
        for call in self.ctx.registry:
            placed = call.placed_trio
            if call.state == "placed" and placed is not None and placed + self.give_up_after <= now:
                self.give_up(call, "no final status within tracking.give_up_after")

    async def _poll(self, due: list[tuple[int, str]]) -> None:
        now = trio.current_time()
        for call_id, _ in due:
            self._mark_polled(call_id, now)
        self.ctx.journal.note_poll([cid for cid, _ in due], self.ctx.now())
        self.ctx.stats.polled += len(due)
        try:
            if self.ctx.loaded.campaign.api == "v1":
                for i in range(0, len(due), BULK_MAX):
                    batch = [sid for _, sid in due[i : i + BULK_MAX]]
                    # exotel-api.md: bulk never returns ongoing calls; a missing SID is running.
                    answer = await self.ctx.client.bulk_call_details(sids=batch, purpose="poll")
                    for obs in answer:
                        self.observe(obs)
            else:
                async with trio.open_nursery() as nursery:
                    limiter = trio.CapacityLimiter(8)
                    for _, sid in due:
                        nursery.start_soon(self._poll_one, sid, limiter)
        except AuthError as exc:
            self._fatal = exc
        except ExotelError as exc:
            self.ctx.stats.api_errors[f"poll {exc.status or 'network'}"] += 1
            log.warning("polling failed, will retry: %s", exc)

    async def _poll_one(self, sid: str, limiter: trio.CapacityLimiter) -> None:
        async with limiter:
            try:
                self.observe(await self.ctx.client.call_details(sid, api="v3"))
            except AuthError as exc:
                self._fatal = exc
            except ExotelError as exc:
                self.ctx.stats.api_errors[f"poll {exc.status or 'network'}"] += 1
                log.warning("polling %s failed, will retry: %s", sid, exc)

    def _mark_polled(self, call_id: int, now: float) -> None:
        if call_id in self._incomplete:
            sid, since, _ = self._incomplete[call_id]
            self._incomplete[call_id] = (sid, since, now)
            return
        call = self.ctx.registry.get(call_id)
        if call is not None:
            call.last_poll_trio = now

    def _raise_if_fatal(self) -> None:
        if self._fatal is not None:
            raise self._fatal

    def track_record(self, call_id: int, sid: str) -> None:
        """Resume: keep asking for a connected call's late-finished record."""
        now = trio.current_time()
        self._incomplete[call_id] = (sid, now, now - self.poll_interval)

    def pending_records(self) -> int:
        return len(self._incomplete)

    # -- reconciliation -----------------------------------------------------------------

    async def run_reconciler(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Find out whether POSTs whose answers were lost created calls; forever."""
        task_status.started()
        last_try: dict[int, float] = {}
        while True:
            self._raise_if_fatal()
            now = trio.current_time()
            pending = self.ctx.registry.in_state("ambiguous")
            for call in pending:
                if self._reconcile_time(call, last_try) <= now:
                    last_try[call.call_id] = now
                    await self._reconcile(call)
            waiting = self.ctx.registry.in_state("ambiguous")
            times = [self._reconcile_time(c, last_try) for c in waiting]
            await self.changed.wait_until(min(times, default=now + 3600.0))

    def _reconcile_time(self, call: OpenCall, last_try: dict[int, float]) -> float:
        first = call.intent_trio + min(self.poll_after, 60.0)
        previous = last_try.get(call.call_id)
        return first if previous is None else max(first, previous + self.poll_interval)

    def _max_span(self) -> float:
        """How long a call created by a lost POST could possibly still be running."""
        call = self.ctx.loaded.campaign.call
        ring = call.ring_timeout or 60
        limit = call.time_limit or 14400
        return min(2 * ring + limit + 600, self.give_up_after)

    async def _reconcile(self, call: OpenCall) -> None:
        ctx = self.ctx
        start = datetime.fromtimestamp(call.intent_at, UTC) - timedelta(minutes=2)
        end = ctx.clock.now() + timedelta(minutes=1)
        contact_is_to = self.mode == "agent_first"
        try:
            found = await ctx.client.bulk_call_details(
                to=[call.phone] if contact_is_to else [],
                from_=[] if contact_is_to else [call.phone],
                date_created=(start, end),
                sort_ascending=True,
                purpose="reconcile",
            )
        except AuthError as exc:
            self._fatal = exc
            return
        except ExotelError as exc:
            log.warning("reconciling %s failed, will retry: %s", call.phone, exc)
            return
        known = ctx.journal.known_sids(o.sid for o in found)
        for obs in found:
            if obs.sid not in known and self._same_call(call, obs):
                self.adopt(call, obs)
                return
        if call.intent_trio + self._max_span() <= trio.current_time():
            self._prove_absent(call)

    def _same_call(self, call: OpenCall, obs: CallObservation) -> bool:
        contact_leg = obs.to_number if self.mode == "agent_first" else obs.from_number
        try:
            return contact_leg is not None and normalise(contact_leg) == call.phone
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
        ctx.registry.remove(call)
        ctx.slots.release()
        if call.agent and ctx.agents is not None:
            ctx.agents.release(call.agent)
        ctx.stats.proven_absent += 1
        ctx.note(
            "proven_absent",
            f"no call was created for {call.phone}; it will be dialed",
            call_id=call.call_id,
        )
        ctx.wake_dialer.set()


def contact_update(contact_id: int, decision: Decision, found: Verdict) -> ContactUpdate:
    """The journal update a policy decision implies."""
    if decision.final is not None:
        return ContactUpdate(
            contact_id,
            decision.tally.attempts,
            decision.tally.agent_failures,
            outcome=decision.final.value,
            reason=found.reason,
        )
    assert decision.retry_at is not None
    return ContactUpdate(
        contact_id,
        decision.tally.attempts,
        decision.tally.agent_failures,
        reason=found.reason,
        next_at=decision.retry_at.timestamp(),
    )


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()
