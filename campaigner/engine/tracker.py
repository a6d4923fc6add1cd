"""Following every placed call to its outcome: one place applies what Exotel says.

Observations arrive from the receiver (callbacks), the poller and the reconciler;
all go through :meth:`Tracker.observe`, which journals first and acts second.
Duplicates and stale events change nothing (a terminal state is sticky); a
callback for a SID not yet known is kept and applied when its POST's answer
arrives. Finishing a call decides its contact's fate in the same transaction. A terminal
observation that cannot decide yet (a v1 record Exotel has not finished, a status without
the legs that decide it) frees the call's agent and slot and leaves it to the poller.

Prices (v1 only: v3 records carry none): the first answer that gives a call's ``Price`` is
journaled even when it changes nothing else, and a v1 call that ends without one is queued
in :attr:`Tracker.unpriced` for the poller's price sweep (docs/reports.md, "Spend").
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import trio

from campaigner.campaign.model import Campaign
from campaigner.clock import TrioWallClock
from campaigner.domain import CallObservation, Outcome
from campaigner.engine.context import Durations, Note, Now, RunStats, Wakeup
from campaigner.engine.open_calls import AgentPool, CallRegistry, OpenCall, Slots
from campaigner.exotel.registry import api_version
from campaigner.outcomes import Verdict, needs_details, verdict
from campaigner.policy import Decision, Tally, after_call
from campaigner.store.journal import CallResult, ContactUpdate, Journal, SidTaken

log = logging.getLogger("campaigner.tracker")

EARLY_KEEP = 10_000  # callbacks kept in memory while waiting for their POST's answer
# Exotel finishes a call's record about two minutes after the call ends (docs/exotel/: v1
# record with epoch-zero EndTime; v3 "active" while post-call processing is pending).
PROCESSING = 120.0
RECORD_WAIT = 600.0  # seconds an unfinished record is waited for before it is taken as is
_RESOLVED_BY = {"callback": "callback", "bulk": "poll", "details": "poll", "legs": "poll"}
PRICE_RESUME = 86_400.0  # on resume, calls closed this recently without a price are asked again
# v1 calls an earlier run closed without a price (it stopped before its last sweep), not
# given up on after PRICE_TRIES sweeps: the price of each is still at Exotel (bulk call
# details reach 31 days back by default)
_UNPRICED = (
    "SELECT c.id, c.sid, c.resolved_at FROM calls c WHERE c.sid IS NOT NULL AND c.open = 0 "
    "AND c.resolved_at >= ? AND c.id NOT IN (SELECT e.call_id FROM events e "
    "WHERE e.call_id IS NOT NULL AND e.at >= ? AND (e.effect = 'price_unknown' OR "
    "instr(e.payload, '\"Price\"') > 0 AND json_valid(e.payload) AND "
    "coalesce(json_extract(e.payload, '$.Call.Price'), json_extract(e.payload, '$.Price')) "
    "IS NOT NULL)) ORDER BY c.id"
)
PRICE_TRIES = 3  # sweeps that find a call's record unfinished (or absent) before its price is
# left unknown: Exotel prices a record when it finishes it, about PROCESSING after the call


@dataclass(slots=True)
class Unpriced:
    """A finished v1 call whose ``Price`` has not been journaled yet: when to ask for it."""

    sid: str
    due: float  # trio time: the call's end plus Exotel's processing time, then each retry
    tries: int = 0


@dataclass(frozen=True, slots=True)
class TrackerDeps:
    """What the tracker uses of the run (``engine/run.py`` wires it from the run's parts).

    A call that ends gives back its slot and agent and wakes the dialer; ``call_finished``
    is ``RunContext.call_finished`` (the circuit breaker counts every outcome there).
    """

    campaign: Campaign
    journal: Journal
    clock: TrioWallClock
    registry: CallRegistry
    slots: Slots
    agents: AgentPool | None
    durations: Durations
    stats: RunStats
    wake_dialer: Wakeup
    call_finished: Callable[[Outcome], None]
    note: Note
    now: Now


class Tracker:
    """Applies observations to the run's calls and contacts; one per run."""

    def __init__(self, deps: TrackerDeps) -> None:
        self.deps = deps
        self.mode = deps.campaign.dial.mode
        self._early: OrderedDict[str, list[CallObservation]] = OrderedDict()
        # Connected calls whose record Exotel has not finished: call -> (sid, since, last poll)
        self.incomplete: dict[int, tuple[str, float, float]] = {}
        # Finished v1 calls still without a journaled price (the poller's price sweep), and
        # the calls whose price is journaled.
        self.unpriced: dict[int, Unpriced] = {}
        self.priced: set[int] = set()
        self.changed = Wakeup()
        # Checks a callback against its call before it is applied (campaigner.engine.verify):
        # returns what may be applied, or None when the callback must change nothing.
        self.admit: Callable[[CallObservation], CallObservation | None] | None = None

    # -- observations -------------------------------------------------------------------

    def observe(self, obs: CallObservation, *, replay: bool = False, settle: bool = False) -> None:
        """Journal an observation, then apply it. Safe with anything, any number of times.

        ``replay`` applies a callback that was journaled earlier, while its SID was
        unknown, without journaling it again. ``settle`` is the poller's last word at
        ``tracking.give_up_after``: a terminal observation then decides even when it is
        not the finished record (it is better than ``unknown``).
        """
        deps = self.deps
        if obs.source == "callback" and self.admit is not None:
            admitted = self.admit(obs)
            if admitted is None:
                return
            obs = admitted
        if obs.source == "callback" and not replay:
            deps.stats.callbacks += 1
        call = deps.registry.by_sid(obs.sid)
        if call is None:
            if not replay:
                self._observe_unopen(obs)
            return
        if obs.terminal and not settle and not self._decisive(call, obs):
            if not replay:
                self._event(obs, call.call_id, "pending")
            self.ended(call, ready=obs.record_complete)
        elif obs.terminal:
            if not replay:
                self._event(obs, call.call_id, "applied")
            if obs.source != "callback":
                deps.stats.recovered_by_poll += 1
            self.finish(call, obs, resolved_by=_RESOLVED_BY.get(obs.source, obs.source))
        elif obs.event == "answered":
            if not replay:
                self._event(obs, call.call_id, "duplicate" if call.answered else "applied")
            if not call.answered:
                call.answered = True
                deps.journal.mark_answered(call.call_id)
                deps.stats.answered_by_agent += 1

    def _decisive(self, call: OpenCall, obs: CallObservation) -> bool:
        """Can this terminal observation decide the call's outcome now?

        Not a v1 record Exotel has not finished (epoch-zero ``EndTime``, null
        ``Duration``): neither its ``Status`` nor its talk time is final yet (the
        simulator's default shows such a record as ``completed`` whatever happened).
        Not an observation without the legs that decide it (:func:`needs_details`),
        unless it is the answer to asking for them. A record that stays unfinished for
        ``RECORD_WAIT`` after the call was seen to end is taken as it is.
        """
        if not api_version(obs.api).records_finish_late:
            return True
        if obs.source != "callback" and not obs.record_complete:
            waited = (
                call.over_trio is not None and call.over_trio + RECORD_WAIT <= trio.current_time()
            )
            if not waited:
                return False
        return obs.source == "details" or not needs_details(obs, self.mode)

    def ended(self, call: OpenCall, *, ready: bool) -> None:
        """Exotel says the call is over but its outcome is not decidable yet: give its agent
        and slot back now, and have the poller ask for the call's own details, at once when
        its record is ``ready`` (finished), else once Exotel has had time to finish it."""
        now = trio.current_time()
        if call.over_trio is None:
            call.over_trio = now
            call.details_at = now if ready else now + PROCESSING
        elif call.details_at is None:
            call.details_at = now
        self._free(call)
        self.changed.set()

    def _free(self, call: OpenCall) -> None:
        if call.freed:
            return
        call.freed = True
        deps = self.deps
        deps.slots.release()
        if call.agent and deps.agents is not None:
            deps.agents.release(call.agent)
        deps.wake_dialer.set()

    def _observe_unopen(self, obs: CallObservation) -> None:
        deps = self.deps
        row = deps.journal.call_by_sid(obs.sid)
        if row is None:
            # Either early (its POST's answer is still on the way) or not ours.
            self._event(obs, None, "unmatched")
            deps.stats.callbacks_unmatched += 1
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
        # The first answer that brings a call's price keeps it: Exotel sets the price when it
        # finishes the record, and the report's spend is the sum of them.
        new_price = call_id is not None and obs.price is not None and call_id not in self.priced
        if new_price and call_id is not None:
            self._priced(call_id)
        payload = obs.raw
        if obs.source not in ("callback",) and effect in ("duplicate",):
            if not new_price:
                return  # repeated poll answers are not worth a row each
            effect, payload = "priced", _price_payload(obs)  # a compact row, not the record
        self.deps.journal.record_event(
            at=self.deps.now(),
            sid=obs.sid,
            call_id=call_id,
            source=obs.source,
            event=obs.event,
            status=obs.status,
            effect=effect,
            payload=payload,
        )

    def _priced(self, call_id: int) -> None:
        self.priced.add(call_id)
        if self.unpriced.pop(call_id, None) is not None and not self.unpriced:
            self.changed.set()  # the run's end may be waiting for the last prices

    def queue_price(self, call_id: int, sid: str, due: float) -> None:
        """Have the poller's price sweep ask for this finished v1 call's price from ``due``."""
        if call_id not in self.priced and call_id not in self.unpriced:
            self.unpriced[call_id] = Unpriced(sid, due)

    def price_missed(self, call_id: int, retry_at: float) -> None:
        """A sweep did not bring this call's price (record unfinished, or not listed):
        ask again from ``retry_at``, or leave it unknown after ``PRICE_TRIES`` sweeps."""
        entry = self.unpriced.get(call_id)
        if entry is None:
            return
        entry.tries += 1
        entry.due = retry_at
        if entry.tries >= PRICE_TRIES:
            del self.unpriced[call_id]
            log.info("no price for call %s after %d sweeps: unknown", entry.sid, entry.tries)
            # Journaled, so that a later run does not ask for it again.
            self.deps.journal.record_event(
                at=self.deps.now(),
                sid=entry.sid,
                call_id=call_id,
                source="bulk",
                event="status",
                status=None,
                effect="price_unknown",
                payload={},
            )
            if not self.unpriced:
                self.changed.set()

    def placed(self, call: OpenCall, obs: CallObservation) -> None:
        """The POST was answered: remember the SID, then apply callbacks that came first.

        A SID the journal already holds for another call cannot be tracked as this call's:
        the answer is an anomaly, so the call is treated as if its answer were lost
        (reconciliation decides before the contact can be dialed again).
        """
        deps = self.deps
        try:
            deps.journal.call_placed(call.call_id, obs.sid, obs.status, deps.now())
        except SidTaken as exc:
            log.warning("connect answer for %s is an anomaly: %s", call.phone, exc)
            message = f"anomalous answer: {exc}"
            deps.journal.call_ambiguous(call.call_id, 200, message, deps.now())
            deps.registry.mark_ambiguous(call)
            deps.stats.ambiguous += 1
            deps.note("sid_taken", message, call_id=call.call_id, sid=obs.sid, holder=exc.holder)
            self.changed.set()
            return
        deps.registry.set_sid(call, obs.sid, trio.current_time())
        deps.stats.calls_placed += 1
        self._replay_early(obs.sid)
        if obs.terminal:
            self.observe(obs)
        self.changed.set()

    def adopt(self, call: OpenCall, found: CallObservation) -> None:
        """Reconciliation found the call a lost answer created: track it as ours."""
        deps = self.deps
        deps.journal.call_adopted(call.call_id, found.sid, deps.now())
        deps.registry.set_sid(call, found.sid, trio.current_time())
        deps.stats.adopted += 1
        deps.stats.calls_placed += 1
        deps.note(
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
            self.deps.journal.mark_early_events(sid)
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
            at=self.deps.now(),
            started_at=_epoch(obs.started_at),
            ended_at=_epoch(obs.ended_at) if complete else None,
            talk_time=obs.talk_time if complete else None,
            recording_url=obs.recording_url if complete else None,
            record_complete=complete,
        )
        if resolved_by == "callback" and call.placed_trio is not None:
            self.deps.durations.learn(trio.current_time() - call.placed_trio)
        self._close(call, found, result)
        if found.outcome is Outcome.CONNECTED and not complete and call.sid:
            self.track_record(call.call_id, call.sid)
        if api_version(obs.api).priced_records:
            self._queue_ended(call)

    def give_up(self, call: OpenCall, why: str) -> None:
        """No final status in time: the call's outcome is unknown (never retried)."""
        result = CallResult(
            outcome=Outcome.UNKNOWN.value,
            reason=why,
            exotel_status=None,
            resolved_by="give_up",
            at=self.deps.now(),
        )
        self._close(call, Verdict(Outcome.UNKNOWN, why), result)
        if api_version(self.deps.campaign.api).priced_records:
            self._queue_ended(call)  # Exotel may still have a priced record of it

    def _queue_ended(self, call: OpenCall) -> None:
        """A v1 call just closed: unless its price is journaled, sweep for it once Exotel
        has had time to finish its record (counted from the end seen, else from now)."""
        if call.sid is None:
            return
        now = trio.current_time()
        ended = call.over_trio if call.over_trio is not None else now
        self.queue_price(call.call_id, call.sid, max(ended + PROCESSING, now))

    def _close(self, call: OpenCall, found: Verdict, result: CallResult) -> None:
        deps = self.deps
        contact = deps.journal.contact(call.contact_id)
        decision = after_call(
            Tally(contact.attempts, contact.agent_failures),
            found.outcome,
            deps.campaign.retry,
            deps.clock.now(),
        )
        deps.journal.finish_call(call.call_id, result, contact_update(contact.id, decision, found))
        deps.registry.remove(call)
        missed = found.outcome is Outcome.AGENT_UNANSWERED
        if not call.freed:
            deps.slots.release()
            if call.agent and deps.agents is not None:
                deps.agents.release(call.agent, missed=missed)
        elif missed and call.agent and deps.agents is not None:
            deps.agents.rest(call.agent)  # given back when the call ended; rest them now
        deps.stats.calls_finished[found.outcome.value] += 1
        if decision.final is not None:
            deps.stats.outcomes[decision.final.value] += 1
        else:
            deps.stats.retries_scheduled += 1
        deps.wake_dialer.set()
        self.changed.set()
        deps.call_finished(found.outcome)

    def _complete_record(self, call_id: int, obs: CallObservation) -> None:
        self.deps.journal.complete_record(
            call_id,
            talk_time=obs.talk_time,
            recording_url=obs.recording_url,
            ended_at=_epoch(obs.ended_at),
        )
        self.incomplete.pop(call_id, None)

    def track_record(self, call_id: int, sid: str) -> None:
        """Keep asking for a connected call's late-finished record (also on resume)."""
        now = trio.current_time()
        self.incomplete[call_id] = (sid, now, -math.inf)

    def recover_prices(self) -> int:
        """On resume: queue the v1 calls an earlier run closed without a journaled price
        (stopped before its last sweep), closed within ``PRICE_RESUME``. One pass over the
        journal's recent events."""
        deps = self.deps
        if not api_version(deps.campaign.api).priced_records:
            return 0
        since = deps.now() - PRICE_RESUME
        now = trio.current_time()
        rows = deps.journal.conn.execute(_UNPRICED, (since, since)).fetchall()
        for call_id, sid, resolved_at in rows:
            ended = deps.clock.trio_at_epoch(float(resolved_at))
            self.queue_price(int(call_id), str(sid), max(ended + PROCESSING, now))
        return len(rows)

    def note_record_poll(self, call_id: int, now: float) -> None:
        sid, since, _ = self.incomplete[call_id]
        self.incomplete[call_id] = (sid, since, now)


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
        last_outcome=found.outcome.value,
    )


def _price_payload(obs: CallObservation) -> dict[str, object]:
    """The compact row that keeps a price: ``Price`` (and ``Currency`` when Exotel names
    one), where the report's spend query reads a bulk record's."""
    record = obs.raw.get("Call", obs.raw)
    payload: dict[str, object] = {"Price": str(obs.price)}
    currency = record.get("Currency") if isinstance(record, dict) else None
    if isinstance(currency, str) and currency.strip():
        payload["Currency"] = currency.strip()
    return payload


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()
